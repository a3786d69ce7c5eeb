package otlp

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/internal/claudecodetest"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// TestClaudeCodeCacheLifetimes reads the 1-hour cache writes from Claude
// Code's logs: the api_request event's cache_creation_1h_tokens and the
// logged response body's usage.cache_creation. The real export's counts
// are all 0; the other cases set counts in its shape.
func TestClaudeCodeCacheLifetimes(t *testing.T) {
	b, err := testfixtures.FS.ReadFile(claudecodetest.Dir + "/cli_end_turn/0002_v1_logs.json")
	if err != nil {
		t.Fatal(err)
	}
	export := string(b)
	const (
		attrTotal = `{"key":"cache_creation_tokens","value":{"intValue":0}}`
		attr1h    = `{"key":"cache_creation_1h_tokens","value":{"intValue":0}}`
		bodyTotal = `\"cache_creation_input_tokens\":0`
		body1h    = `\"ephemeral_1h_input_tokens\":0`
	)
	for _, s := range []string{attrTotal, attr1h, bodyTotal, body1h} {
		if strings.Count(export, s) != 1 {
			t.Fatalf("the fixture changed shape: %d of %s", strings.Count(export, s), s)
		}
	}
	set := func(s string, pairs ...string) string { return strings.NewReplacer(pairs...).Replace(s) }
	for _, c := range []struct {
		name          string
		export        string
		total, hour1h int64
	}{
		{"as exported", export, 0, 0},
		{"event and body", set(export,
			attrTotal, `{"key":"cache_creation_tokens","value":{"intValue":5000}}`,
			attr1h, `{"key":"cache_creation_1h_tokens","value":{"intValue":3000}}`,
			bodyTotal, `\"cache_creation_input_tokens\":5000`,
			body1h, `\"ephemeral_1h_input_tokens\":3000`), 5000, 3000},
		// OTLP JSON may write 64-bit integers as strings.
		{"event only", set(export,
			attrTotal, `{"key":"cache_creation_tokens","value":{"intValue":"4000"}}`,
			attr1h, `{"key":"cache_creation_1h_tokens","value":{"intValue":"1000"}}`), 4000, 1000},
		{"body only", set(export,
			bodyTotal, `\"cache_creation_input_tokens\":900`,
			body1h, `\"ephemeral_1h_input_tokens\":900`), 900, 900},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON([]byte(c.export)); err != nil {
				t.Fatal(err)
			}
			recs, rejected, msg := Logs(req.Logs(), testNow)
			if rejected != 0 {
				t.Fatalf("%d rejected: %s", rejected, msg)
			}
			var calls []*analytics.Record
			for _, r := range claudecodetest.Join(recs) {
				if r.Kind == analytics.KindMessage {
					calls = append(calls, r)
				}
			}
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			u := calls[0].Usage
			if u.CacheCreationInputTokens != c.total || u.CacheCreation1hInputTokens != c.hour1h {
				t.Errorf("cache writes %d, of them 1-hour %d; want %d and %d", u.CacheCreationInputTokens, u.CacheCreation1hInputTokens, c.total, c.hour1h)
			}
		})
	}
}
