package ingest

import (
	"fmt"

	"github.com/stopscope/stopscope/analytics"
)

// Limits bounds what one POST /v1/responses may carry. Every field is
// settable; a zero or negative field takes its default (see DefaultLimits).
type Limits struct {
	// MaxRecords is the most records one request may hold. A body with more
	// is refused as a whole, so that a client never has to work out which
	// part of a batch was stored.
	MaxRecords int
	// MaxFieldBytes bounds each body a record carries: a bare record as a
	// whole, or an envelope's request, response, stream, error or result.
	// A record with a larger body is rejected on its own.
	MaxFieldBytes int
	// MaxIDBytes bounds the short strings records are grouped and found by:
	// app, environment, session, user, request and message ids, model,
	// stop reason, stop sequence, subtype and error type.
	MaxIDBytes int
	// MaxBodyBytes bounds the request body as sent, before decompression.
	MaxBodyBytes int64
	// MaxDecompressedBytes bounds the request body after decompression; a
	// gzip bomb is refused as soon as it inflates past it.
	MaxDecompressedBytes int64
}

// The default limits.
const (
	DefaultMaxRecords           = 10_000
	DefaultMaxFieldBytes        = 4 << 20
	DefaultMaxIDBytes           = 512
	DefaultMaxBodyBytes         = 16 << 20
	DefaultMaxDecompressedBytes = 64 << 20
)

// The names of the settings that raise each limit. Errors that refuse a body
// quote them, so the server's flags must use these names.
const (
	FlagMaxRecords           = "ingest-max-records"
	FlagMaxFieldBytes        = "ingest-max-field-bytes"
	FlagMaxIDBytes           = "ingest-max-id-bytes"
	FlagMaxBodyBytes         = "ingest-max-body-bytes"
	FlagMaxDecompressedBytes = "ingest-max-decompressed-bytes"
)

// MaxTokens is the largest token count a record may report in any usage
// field; larger counts are not something the Messages API returns, so they
// are treated as corrupt input. It is analytics.MaxTokens, the bound of
// every way in.
const MaxTokens = analytics.MaxTokens

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxRecords:           DefaultMaxRecords,
		MaxFieldBytes:        DefaultMaxFieldBytes,
		MaxIDBytes:           DefaultMaxIDBytes,
		MaxBodyBytes:         DefaultMaxBodyBytes,
		MaxDecompressedBytes: DefaultMaxDecompressedBytes,
	}
}

// WithDefaults returns l with every unset field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxRecords <= 0 {
		l.MaxRecords = DefaultMaxRecords
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if l.MaxIDBytes <= 0 {
		l.MaxIDBytes = DefaultMaxIDBytes
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxDecompressedBytes <= 0 {
		l.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	return l
}

// BodyTooLarge is the error that refuses a request body larger than
// MaxBodyBytes as sent.
func (l Limits) BodyTooLarge() *analytics.Error {
	return analytics.Errorf(analytics.ETooLarge,
		"the request body is larger than %s, the limit on bodies as sent; send smaller batches, compress them with gzip, or raise the limit with -%s",
		formatBytes(l.MaxBodyBytes), FlagMaxBodyBytes)
}

// DecompressedTooLarge is the error that refuses a request body larger
// than MaxDecompressedBytes once decompressed.
func (l Limits) DecompressedTooLarge() *analytics.Error {
	return analytics.Errorf(analytics.ETooLarge,
		"the request body is larger than %s once decompressed, the limit on decompressed bodies; send smaller batches or raise the limit with -%s",
		formatBytes(l.MaxDecompressedBytes), FlagMaxDecompressedBytes)
}

// formatBytes writes a byte count for people, with the exact figure after.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB (%d bytes)", n>>20, n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB (%d bytes)", n>>10, n)
	}
	return fmt.Sprintf("%d bytes", n)
}
