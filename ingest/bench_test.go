package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func benchRecord(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeRecord(data, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessage(b *testing.B) { benchRecord(b, fixture(b, "messages/tool_use.json")) }

func BenchmarkDecodeMessageEnvelope(b *testing.B) {
	benchRecord(b, envelope(b, "messages/empty_end_turn.json", map[string]any{
		"app": "a", "time": "2025-05-31T08:30:00Z", "request": json.RawMessage(fixture(b, "requests/text_after_tool_result.json")),
	}))
}

func BenchmarkDecodeStream(b *testing.B) {
	benchRecord(b, envelope(b, "streams/tool_use.sse", map[string]any{"app": "a"}))
}

func BenchmarkDecodeAgentResult(b *testing.B) { benchRecord(b, fixture(b, "agent_sdk/success.json")) }

func BenchmarkDecodeError(b *testing.B) {
	benchRecord(b, envelope(b, "errors/529.json", map[string]any{"app": "a"}))
}

// BenchmarkDecodeNDJSONBatch decodes a batch of 1,000 records, a mix of
// messages, streams, agent results and errors, and reports records/s.
func BenchmarkDecodeNDJSONBatch(b *testing.B) {
	var lines []string
	for _, name := range fixtureNames(b) {
		var c bytes.Buffer
		if err := json.Compact(&c, envelope(b, name, map[string]any{"app": "a"})); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, c.String())
	}
	var body strings.Builder
	const n = 1000
	for i := range n {
		body.WriteString(lines[i%len(lines)])
		body.WriteByte('\n')
	}
	data := []byte(body.String())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		recs, rejected, err := DecodeBatch(data, "application/x-ndjson", testOpts)
		if err != nil || len(rejected) > 0 || len(recs) != n {
			b.Fatal(err, rejected)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
