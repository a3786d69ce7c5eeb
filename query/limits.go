package query

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The limits on what a caller may ask for, checked by CheckFilter and
// CheckSpikeDurations before any work: each figure's cost grows with its
// range and buckets, so these keep every request cheap. docs/api.md lists
// them under Limits.
const (
	// MaxRange is the longest range a filter may span: the default rollup
	// retention.
	MaxRange = 400 * 24 * time.Hour
	// MaxWindow is the longest spike or alert window.
	MaxWindow = 31 * 24 * time.Hour
	// MaxBaseline is the longest spike or alert baseline.
	MaxBaseline = 90 * 24 * time.Hour
	// MaxFuture is how far past now a range may end, for clocks that
	// disagree.
	MaxFuture = 24 * time.Hour
	// MaxTextQuery is the longest search text (parameter q), in bytes.
	MaxTextQuery = 1000
	// MaxDimValue is the longest release or prompt version a filter may
	// name (parameters release and prompt_version), in bytes: ingest's
	// default bound on an id.
	MaxDimValue = 512
)

// MinTime is the earliest time a range may start at.
var MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckFilter checks f's range and search text against the limits, with
// now as the clock: both ends within MinTime and now + MaxFuture (To is
// checked first, as callers derive a default From from it), From before
// To, at most MaxRange apart, a search text of at most MaxTextQuery
// bytes, and a release and prompt version of at most MaxDimValue bytes of
// printable text. The error is an analytics.EInvalid that names the
// parameter (from, to or q).
func CheckFilter(f store.Filter, now time.Time) error {
	latest := now.Add(MaxFuture)
	const layout = time.RFC3339
	for _, p := range []struct {
		name string
		t    time.Time
	}{{"to", f.To}, {"from", f.From}} {
		if p.t.Before(MinTime) || p.t.After(latest) {
			return analytics.Errorf(analytics.EInvalid, "parameter %s: %s is not between %s and a day from now (%s)",
				p.name, p.t.UTC().Format(layout), MinTime.Format(layout), latest.UTC().Format(layout))
		}
	}
	if !f.From.Before(f.To) {
		return analytics.Errorf(analytics.EInvalid, "parameter from: %s is not before to (%s)", f.From.UTC().Format(layout), f.To.UTC().Format(layout))
	}
	if f.To.Sub(f.From) > MaxRange {
		return analytics.Errorf(analytics.EInvalid, "parameter from: the range from %s to %s is longer than %d days",
			f.From.UTC().Format(layout), f.To.UTC().Format(layout), MaxRange/(24*time.Hour))
	}
	if len(f.Text) > MaxTextQuery {
		return analytics.Errorf(analytics.EInvalid, "parameter q: %d bytes is longer than %d", len(f.Text), MaxTextQuery)
	}
	for _, p := range []struct{ name, v string }{{"release", f.Release}, {"prompt_version", f.PromptVersion}} {
		if len(p.v) > MaxDimValue {
			return analytics.Errorf(analytics.EInvalid, "parameter %s: %d bytes is longer than %d", p.name, len(p.v), MaxDimValue)
		}
		if !utf8.ValidString(p.v) || strings.ContainsFunc(p.v, unicode.IsControl) {
			return analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not printable text", p.name, p.v)
		}
	}
	return nil
}

// CheckSpikeDurations checks a spike test's window and baseline against
// MaxWindow and MaxBaseline (zero stands for the default), naming the
// parameter.
func CheckSpikeDurations(cfg analytics.SpikeConfig) error {
	if cfg.Window < 0 || cfg.Window > MaxWindow {
		return analytics.Errorf(analytics.EInvalid, "parameter window: %s is not between 0 and %s", cfg.Window, MaxWindow)
	}
	if cfg.Baseline < 0 || cfg.Baseline > MaxBaseline {
		return analytics.Errorf(analytics.EInvalid, "parameter baseline: %s is not between 0 and %s", cfg.Baseline, MaxBaseline)
	}
	return nil
}
