package ingest

import (
	"encoding/json"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

// TestClaudeCodeResults posts natively the result message each real Claude
// Code run of the claude_code fixtures ended with (expected.json): a run
// whose API call failed (is_error, api_error_status, Claude Code's
// synthetic stop_sequence) is an error run with its status, not a
// stop_sequence success; a refused run stays a refusal.
func TestClaudeCodeResults(t *testing.T) {
	var exp struct {
		Runs map[string]struct {
			Result json.RawMessage `json:"result"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(fixture(t, "claude_code/expected.json"), &exp); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		run     string
		subtype string
		reason  analytics.StopReason
		status  int
		refusal bool
	}{
		{"cli_end_turn", "success", analytics.StopEndTurn, 0, false},
		{"cli_refusal", "success", analytics.StopRefusal, 0, true},
		{"cli_error_529", "error_during_execution", analytics.StopNull, 529, false},
		{"cli_empty_end_turn", "success", analytics.StopEndTurn, 0, false},
		{"cli_max_tokens", "success", analytics.StopEndTurn, 0, false},
		{"agent_sdk_error_max_turns/claude_code", "error_max_turns", analytics.StopToolUse, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			res := exp.Runs[tt.run].Result
			if len(res) == 0 {
				t.Fatalf("no result for %s in expected.json", tt.run)
			}
			for _, data := range [][]byte{res, []byte(`{"session_id":"s","result":` + string(res) + `}`)} {
				r, err := DecodeRecord(data, testOpts)
				if err != nil {
					t.Fatal(err)
				}
				if r.Kind != analytics.KindAgentResult || r.Subtype != tt.subtype || r.StopReason != tt.reason || r.HTTPStatus != tt.status ||
					r.Flags.Has(analytics.FlagRefusal) != tt.refusal {
					t.Errorf("kind=%s subtype=%q reason=%q status=%d flags=%v, want %q %q %d refusal=%v",
						r.Kind, r.Subtype, r.StopReason, r.HTTPStatus, r.Flags.List(), tt.subtype, tt.reason, tt.status, tt.refusal)
				}
			}
		})
	}
}

// TestAgentResultAPIErrorText: without api_error_status, the result text
// Claude Code writes for a failed call still makes the run an error run, as
// the OpenInference mapping reads the same text from the thrown error.
func TestAgentResultAPIErrorText(t *testing.T) {
	tests := []struct {
		name, body string
		subtype    string
		reason     analytics.StopReason
		status     int
		msg        string
	}{
		{"rate limited", `{"type":"result","subtype":"success","is_error":true,"stop_reason":"stop_sequence","num_turns":1,"result":"API Error: Request rejected (429) · rate limited"}`,
			"error_during_execution", analytics.StopNull, 429, "API Error: Request rejected (429) · rate limited"},
		{"overloaded", `{"type":"result","subtype":"success","is_error":true,"stop_reason":"stop_sequence","result":"API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}`,
			"error_during_execution", analytics.StopNull, 529, `API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`},
		{"status wins over text", `{"type":"result","subtype":"success","is_error":true,"stop_reason":"stop_sequence","api_error_status":500,"result":"API Error: Connection error."}`,
			"error_during_execution", analytics.StopNull, 500, "API Error: Connection error."},
		{"an error subtype is kept", `{"type":"result","subtype":"error_max_turns","is_error":true,"stop_reason":"tool_use","errors":["Reached maximum number of turns (3)"]}`,
			"error_max_turns", analytics.StopToolUse, 0, "Reached maximum number of turns (3)"},
		{"no error, no change", `{"type":"result","subtype":"success","is_error":false,"stop_reason":"stop_sequence","result":"API Error: is a topic here"}`,
			"success", analytics.StopStopSequence, 0, ""},
		{"absurd status is ignored", `{"type":"result","subtype":"success","is_error":true,"stop_reason":"end_turn","api_error_status":99999}`,
			"error_during_execution", analytics.StopEndTurn, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeRecord([]byte(tt.body), testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subtype != tt.subtype || r.StopReason != tt.reason || r.HTTPStatus != tt.status || r.ErrorMessage != tt.msg {
				t.Errorf("subtype=%q reason=%q status=%d msg=%q, want %q %q %d %q", r.Subtype, r.StopReason, r.HTTPStatus, r.ErrorMessage,
					tt.subtype, tt.reason, tt.status, tt.msg)
			}
		})
	}
}

// TestServiceTier keeps the tier a response says it was served on, plain
// and streamed (message_start carries the usage).
func TestServiceTier(t *testing.T) {
	plain := `{"id":"msg_t","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2,"service_tier":"priority"}}`
	stream := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1,\"service_tier\":\"batch\"}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	r, err := DecodeRecord([]byte(plain), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceTier != "priority" {
		t.Errorf("plain: service tier %q, want priority", r.ServiceTier)
	}
	r, err = DecodeStream(stream, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceTier != "batch" || r.StopReason != analytics.StopEndTurn {
		t.Errorf("stream: service tier %q stop %q, want batch end_turn", r.ServiceTier, r.StopReason)
	}
	r, err = DecodeRecord(fixture(t, "messages/end_turn.json"), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if r.ServiceTier != "" {
		t.Errorf("a response without a tier: %q", r.ServiceTier)
	}
}
