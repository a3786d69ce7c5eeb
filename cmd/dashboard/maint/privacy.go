package maint

import (
	"context"
	"regexp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Privacy applies the privacy settings to records on their way to the
// store. Records arrive classified, so stripping content keeps every flag.
type Privacy struct {
	Next store.Inserter
	// MetadataOnly strips all content (analytics.StripContent); otherwise
	// the matches of Redact are replaced (analytics.Redact).
	MetadataOnly bool
	Redact       []*regexp.Regexp
}

// Insert applies the settings to recs and passes them on.
func (p Privacy) Insert(ctx context.Context, recs []*analytics.Record) error {
	for _, r := range recs {
		if p.MetadataOnly {
			analytics.StripContent(r)
		} else {
			analytics.Redact(r, p.Redact)
		}
	}
	return p.Next.Insert(ctx, recs)
}
