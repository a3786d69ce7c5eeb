package analytics

import (
	"testing"
	"time"
)

// TestReasks links Claude Code's calls of one prompt and names what each
// re-asked after; calls of another prompt, another session or another
// producer are no re-asks.
func TestReasks(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	cc := func(i int, prompt string, kind Kind, stop StopReason, errType, errMsg string) *Record {
		r := &Record{ID: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Second), App: "cc", SessionID: "s", PromptID: prompt,
			KeyedByRequest: true, Kind: kind, StopReason: stop, ErrorType: errType, ErrorMessage: errMsg,
			Content: []Block{{Type: "text", Text: "answer"}}, Usage: Usage{OutputTokens: 9}}
		Classify(r)
		return r
	}
	tests := []struct {
		name  string
		calls []*Record
		want  []Reask
	}{
		{"context overflow, then compaction's re-ask", []*Record{
			cc(0, "p", KindError, StopNull, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
			cc(1, "p", KindMessage, StopEndTurn, "", ""),
		}, []Reask{ReaskNone, ReaskContextWindow}},
		{"model_context_window_exceeded", []*Record{cc(0, "p", KindMessage, StopModelContextWindowExceeded, "", ""), cc(1, "p", KindMessage, StopEndTurn, "", "")},
			[]Reask{ReaskNone, ReaskContextWindow}},
		{"another prompt is no re-ask", []*Record{cc(0, "p", KindMessage, StopMaxTokens, "", ""), cc(1, "q", KindMessage, StopEndTurn, "", "")},
			[]Reask{ReaskNone, ReaskNone}},
		{"a rate-limited call is not re-asked", []*Record{cc(0, "p", KindError, StopNull, "rate_limit_error", "rate limited"), cc(1, "p", KindMessage, StopEndTurn, "", "")},
			[]Reask{ReaskNone, ReaskNone}},
		{"not Claude Code's", func() []*Record {
			a, b := cc(0, "p", KindMessage, StopMaxTokens, "", ""), cc(1, "p", KindMessage, StopEndTurn, "", "")
			a.KeyedByRequest, b.KeyedByRequest = false, false
			return []*Record{a, b}
		}(), []Reask{ReaskNone, ReaskNone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reasks(tt.calls)
			for i := range tt.want {
				if got[i] != tt.want[i] {
					t.Errorf("call %d: %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
