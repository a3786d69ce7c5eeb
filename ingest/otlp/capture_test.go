package otlp

import (
	"strings"
	"testing"
)

// TestCaptures decodes the two real captures and checks every record against
// the eleven calls they recorded (see MAPPING.md for the OpenLLMetry one).
func TestCaptures(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{
			name: "OpenInference protobuf",
			path: captureProto,
			// Two spans per call (OpenInference's LLM span around the SDK's
			// own client span) make one record each; every reason is raw.
			want: []string{
				"app=research-agent=11", "env=test=11", "source=otlp=11", "total=11",
				"kind=message=10", "kind=error=1",
				"error=529/overloaded_error/Overloaded=1",
				"stop=end_turn=2", "stop=max_tokens=2", "stop=stop_sequence=1", "stop=tool_use=1",
				"stop=pause_turn=1", "stop=refusal=2", "stop=model_context_window_exceeded=1",
				"flag=empty_turn=1", "flag=truncated=3", "flag=refusal=2",
				"tool=get_weather=1", "tool=web_search=1", "stop_sequence=END=1",
				"streamed=2", "has_message_id=10", "has_trace_and_span=11",
			},
		},
		{
			name: "OpenLLMetry JSON",
			path: captureJSON,
			// OpenLLMetry writes "stop" for end_turn and stop_sequence and
			// records no stop sequences: the three "stop" calls are end_turn
			// marked ambiguous (the empty one is still an empty turn). Its
			// streamed spans carry no finish reason at all: null, not a guess,
			// flagged no_stop_reason (they are not recorded as streams), and
			// the one whose output reached its max_tokens probably_truncated.
			want: []string{
				"app=support-bot=11", "env=test=11", "source=otlp=11", "total=11",
				"kind=message=10", "kind=error=1",
				"error=529/overloaded_error/Overloaded=1",
				"stop=end_turn(ambiguous)=3", "stop=max_tokens=1", "stop=tool_use=1",
				"stop=pause_turn=1", "stop=refusal=1", "stop=model_context_window_exceeded=1",
				"stop=null=2",
				"flag=empty_turn=1", "flag=truncated=2", "flag=refusal=1",
				"flag=no_stop_reason=2", "flag=probably_truncated=1",
				"tool=get_weather=1", "tool=web_search=1", "has_trace_and_span=11",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, rejected, msg := Traces(readCapture(t, tt.path), testNow)
			if rejected != 0 || msg != "" {
				t.Errorf("rejected %d (%q), want 0", rejected, msg)
			}
			got := summary(recs)
			want := strings.Join(sortedCopy(tt.want), "\n")
			if got != want {
				t.Errorf("summary:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestCaptureDetails checks the facts of single calls in the captures.
func TestCaptureDetails(t *testing.T) {
	recs, _, _ := Traces(readCapture(t, captureProto), testNow)
	first := recs[0]
	if first.MessageID != "msg_fake_000012" || first.RequestID != "req_fake_12" ||
		first.TraceID != "fd24edf66f9fe62c655471ef174b303b" || first.SpanID != "335bb8823cd22031" {
		t.Errorf("ids: %+v", first)
	}
	if first.Model != "claude-sonnet-4-6" || first.Usage.InputTokens != 12 || first.Usage.OutputTokens != 9 {
		t.Errorf("model/usage: %q %+v", first.Model, first.Usage)
	}
	if first.LatencyMS != 37 || first.Time.UnixMilli() != 1795345376273 {
		t.Errorf("time %v latency %d", first.Time, first.LatencyMS)
	}
	if first.Req == nil || first.Req.MaxTokens != 1024 || len(first.Req.Messages) != 1 || first.Req.Messages[0].Blocks[0].Text != "scenario:end_turn #0" {
		t.Errorf("request: %+v", first.Req)
	}
	if len(first.RequestBody) == 0 || len(first.ResponseBody) == 0 {
		t.Errorf("raw bodies not kept")
	}

	recs, _, _ = Traces(readCapture(t, captureJSON), testNow)
	tool := recs[4]
	if tool.StopReason != "tool_use" || len(tool.Content) != 2 || tool.Content[1].Type != "tool_use" || tool.Content[1].Name != "get_weather" {
		t.Errorf("tool_use record: %+v", tool)
	}
	if recs[0].App != "support-bot" || recs[0].Environment != "test" || recs[0].Source != "otlp" {
		t.Errorf("resource: %+v", recs[0])
	}
}
