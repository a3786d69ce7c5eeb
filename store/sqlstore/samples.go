package sqlstore

import (
	"slices"

	"github.com/stopscope/stopscope/analytics"
)

// CompressedValues returns the values an engine that compresses
// (Dialect.CompressBodies) stores as zstd frames for r, before
// compression: its content blocks and request summary as JSON, and its
// request, response and stream bodies, each when it is not empty, in
// that order. They are exactly the bytes Insert hands to the encoder; the
// generator of the zstd dictionary (internal/zdictgen) trains on them.
func CompressedValues(r *analytics.Record) [][]byte {
	c := cleanRecord(r)
	counts, dims := analytics.CountsOf(c), analytics.DimsOf(c)
	// A dialect that does not compress leaves each value as it is.
	_, cont, _ := (&Dialect{}).encodeRecord(nil, c, &counts, &dims, nil)
	if cont == nil {
		return nil
	}
	var out [][]byte
	for _, col := range []string{"content", "req", "request_body", "response_body", "stream_body"} {
		switch v := cont[slices.Index(contentCols, col)].(type) {
		case string:
			if v != "" {
				out = append(out, []byte(v))
			}
		case []byte:
			if len(v) > 0 {
				out = append(out, v)
			}
		}
	}
	return out
}
