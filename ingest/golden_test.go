package ingest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden compares whole decoded records, with their request summaries,
// to testdata/golden. Run with -update to rewrite them after a deliberate
// change, and read the diff.
func TestGolden(t *testing.T) {
	meta := map[string]any{
		"time": "2025-05-31T08:30:00.123Z", "app": "support-bot", "environment": "prod",
		"session_id": "sess_1", "user_id": "user_1", "request_id": "req_1", "latency_ms": 812.4,
	}
	withRequest := func(name, req string) []byte {
		m := map[string]any{"request": json.RawMessage(fixture(t, req))}
		for k, v := range meta {
			m[k] = v
		}
		return envelope(t, name, m)
	}
	cases := []struct {
		golden string
		data   []byte
	}{
		{"message_tool_use", fixture(t, "messages/tool_use.json")},
		{"message_docs_example", fixture(t, "messages/docs_example.json")},
		{"envelope_empty_end_turn_text_after_tool_result", withRequest("messages/empty_end_turn.json", "requests/text_after_tool_result.json")},
		{"envelope_stream_tool_use", withRequest("streams/tool_use.sse", "requests/stop_sequences.json")},
		{"envelope_stream_cut", envelope(t, "streams/cut_before_message_delta.sse", meta)},
		{"envelope_stream_error", envelope(t, "streams/error_mid_stream.sse", meta)},
		{"agent_success", fixture(t, "agent_sdk/success.json")},
		{"agent_error_during_execution", fixture(t, "agent_sdk/error_during_execution_before_api.json")},
		{"message_compaction", fixture(t, "messages/compaction.json")},
		{"message_refusal_stop_details", fixture(t, "messages/refusal_stop_details.json")},
		{"envelope_stream_compaction", envelope(t, "streams/compaction.sse", meta)},
		{"envelope_error_529", withRequest("errors/529.json", "requests/continuation_prompt.json")},
	}
	for _, c := range cases {
		t.Run(c.golden, func(t *testing.T) {
			rec, err := DecodeRecord(c.data, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenJSON(t, rec)
			path := filepath.Join("testdata", "golden", c.golden+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./ingest -run TestGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the decoded record (run with -update and read the diff):\n%s", path, got)
			}
		})
	}
}

// goldenJSON writes a record and its request summary, which the record's
// own JSON leaves out.
func goldenJSON(t *testing.T, rec *analytics.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Record  *analytics.Record  `json:"record"`
		Request *analytics.Request `json:"request_summary"`
	}{rec, rec.Req}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
