package main

import (
	"testing"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// TestOTLPCapturesEndToEnd posts the captured OpenLLMetry (OTLP JSON) and
// OpenInference (OTLP protobuf) exports to the running service and checks
// each app's summary against the eleven calls they record. OpenLLMetry
// reports end_turn and stop_sequence alike as "stop" (counted as end_turn,
// ambiguous) and no finish reason for its two streamed calls (null, and,
// since it does not record them as streams, flagged no_stop_reason; the one
// whose output reached its max_tokens is flagged probably_truncated).
func TestOTLPCapturesEndToEnd(t *testing.T) {
	m := startMain(t)
	for _, tc := range []struct {
		file, ctype, app string
		stop             map[string]int64
		flags            map[string]int64
		ambiguous        int64
	}{
		{
			"openllmetry-js-anthropic-traces.json", "application/json", "support-bot",
			map[string]int64{"end_turn": 3, "null": 2, "max_tokens": 1, "tool_use": 1, "pause_turn": 1, "refusal": 1, "model_context_window_exceeded": 1},
			map[string]int64{"empty_turn": 1, "truncated": 2, "refusal": 1, "no_stop_reason": 2, "probably_truncated": 1},
			3,
		},
		{
			"openinference-js-anthropic-traces.pb", "application/x-protobuf", "research-agent",
			map[string]int64{"end_turn": 2, "max_tokens": 2, "stop_sequence": 1, "tool_use": 1, "pause_turn": 1, "refusal": 2, "model_context_window_exceeded": 1},
			map[string]int64{"empty_turn": 1, "truncated": 3, "refusal": 2},
			0,
		},
	} {
		t.Run(tc.app, func(t *testing.T) {
			body := testfixtures.Read(t, "otlp/"+tc.file)
			if status, raw := post(t, m.URL()+"/v1/traces", tc.ctype, body); status != 200 {
				t.Fatalf("POST /v1/traces: %d %s", status, raw)
			}
			var got struct {
				summary
				Ambiguous int64 `json:"ambiguous_stop_reasons"`
			}
			// The captures were recorded in 2026-11; ask for all of it (a range
			// within the API's limits).
			getJSON(t, m.URL()+"/api/v1/summary?app="+tc.app+"&from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z", &got)
			want := summary{
				Total: 11, Kinds: map[string]int64{"message": 10, "error": 1},
				StopReasons: tc.stop, Flags: tc.flags, AgentSubtypes: map[string]int64{},
			}
			want.Errors.Total = 1
			want.Errors.ByType = map[string]int64{"overloaded_error": 1}
			want.Errors.ByStatus = map[string]int64{"529": 1}
			compareSummary(t, got.summary, want)
			if got.Ambiguous != tc.ambiguous {
				t.Errorf("ambiguous_stop_reasons = %d, want %d", got.Ambiguous, tc.ambiguous)
			}
		})
	}
}
