package analytics

import (
	"slices"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	toolResultThenText := &Request{Messages: []Message{
		{Role: "user", Blocks: []Block{{Type: "text", Text: "add 1 and 2"}}},
		{Role: "assistant", Blocks: []Block{{Type: "tool_use", Name: "calc"}}},
		{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "3"}, {Type: "text", Text: "Here it is"}}},
	}}
	for _, tc := range []struct {
		name   string
		rec    Record
		flags  []Flag
		causes []Cause
		tools  []string
	}{
		{"answer", Record{Kind: KindMessage, StopReason: StopEndTurn, Content: []Block{{Type: "text", Text: "Paris"}}}, nil, nil, nil},
		{"empty content", Record{Kind: KindMessage, StopReason: StopEndTurn}, []Flag{FlagEmptyTurn}, nil, nil},
		{"blank text", Record{Kind: KindMessage, StopReason: StopEndTurn, Content: []Block{{Type: "text", Text: " \n"}}}, []Flag{FlagEmptyTurn}, nil, nil},
		{"empty after text after tool_result", Record{Kind: KindMessage, StopReason: StopEndTurn, Req: toolResultThenText}, []Flag{FlagEmptyTurn}, []Cause{CauseTextAfterToolResult}, nil},
		{"content unrecorded, 2 output tokens", Record{Kind: KindMessage, StopReason: StopEndTurn, ContentUnrecorded: true, Usage: Usage{OutputTokens: 2}}, []Flag{FlagEmptyTurn}, nil, nil},
		{"content unrecorded, 9 output tokens", Record{Kind: KindMessage, StopReason: StopEndTurn, ContentUnrecorded: true, Usage: Usage{OutputTokens: 9}}, nil, nil, nil},
		{"content unrecorded, no usage", Record{Kind: KindMessage, StopReason: StopEndTurn, ContentUnrecorded: true}, nil, nil, nil},
		{"max_tokens", Record{Kind: KindMessage, StopReason: StopMaxTokens}, []Flag{FlagTruncated}, nil, nil},
		{"context window", Record{Kind: KindMessage, StopReason: StopModelContextWindowExceeded}, []Flag{FlagTruncated}, nil, nil},
		{"refusal", Record{Kind: KindMessage, StopReason: StopRefusal}, []Flag{FlagRefusal}, nil, nil},
		{"agent refusal", Record{Kind: KindAgentResult, StopReason: StopRefusal}, []Flag{FlagRefusal}, nil, nil},
		{"agent empty end_turn is no empty turn", Record{Kind: KindAgentResult, StopReason: StopEndTurn}, nil, nil, nil},
		{"tools", Record{Kind: KindMessage, StopReason: StopToolUse, Content: []Block{{Type: "tool_use", Name: "a"}, {Type: "server_tool_use", Name: "b"}, {Type: "tool_use", Name: "a"}}}, nil, nil, []string{"a", "b"}},
		{"unknown", Record{Kind: KindMessage, StopReason: "later_reason"}, []Flag{FlagUnknownStopReason}, nil, nil},
		{"cut stream", Record{Kind: KindMessage, Streamed: true}, []Flag{FlagIncompleteStream}, nil, nil},
		{"tool_use cut off by max_tokens is not called", Record{Kind: KindMessage, StopReason: StopMaxTokens, Content: []Block{{Type: "text", Text: "Let me"}, {Type: "tool_use", Name: "a"}}}, []Flag{FlagTruncated}, nil, nil},
		{"server tool of a paused turn was run", Record{Kind: KindMessage, StopReason: StopPauseTurn, Content: []Block{{Type: "server_tool_use", Name: "web_search"}}}, nil, nil, []string{"web_search"}},
		{"complete response without a stop reason", Record{Kind: KindMessage, Content: []Block{{Type: "text", Text: "Paris"}}}, []Flag{FlagNoStopReason}, nil, nil},
		{"agent run without a stop reason", Record{Kind: KindAgentResult, Subtype: SubtypeErrorDuringExecution}, nil, nil, nil},
		{"stream without a stop reason at its ceiling", Record{Kind: KindMessage, Streamed: true, Req: &Request{MaxTokens: 100}, Usage: Usage{OutputTokens: 100}},
			[]Flag{FlagIncompleteStream, FlagProbablyTruncated}, nil, nil},
		{"stream without a stop reason below its ceiling", Record{Kind: KindMessage, Streamed: true, Req: &Request{MaxTokens: 100}, Usage: Usage{OutputTokens: 99}},
			[]Flag{FlagIncompleteStream}, nil, nil},
		{"max_tokens at its ceiling is no hint", Record{Kind: KindMessage, StopReason: StopMaxTokens, Req: &Request{MaxTokens: 100}, Usage: Usage{OutputTokens: 100}},
			[]Flag{FlagTruncated}, nil, nil},
		{"empty after a finished response sent back", Record{Kind: KindMessage, StopReason: StopEndTurn, Req: &Request{Messages: []Message{
			{Role: "user", Blocks: []Block{{Type: "text", Text: "hi"}}}, {Role: "assistant", Blocks: []Block{{Type: "text", Text: "Hello!"}}}}}},
			[]Flag{FlagEmptyTurn}, []Cause{CauseCompletedResponseSentBack}, nil},
		{"empty after the empty answer sent back", Record{Kind: KindMessage, StopReason: StopEndTurn, Req: &Request{Messages: []Message{
			{Role: "user", Blocks: []Block{{Type: "text", Text: "hi"}}}, {Role: "assistant"}}}},
			[]Flag{FlagEmptyTurn}, []Cause{CauseCompletedResponseSentBack}, nil},
		{"empty after a paused turn resumed is neither cause", Record{Kind: KindMessage, StopReason: StopEndTurn, Req: &Request{Messages: []Message{
			{Role: "user", Blocks: []Block{{Type: "text", Text: "search"}}}, {Role: "assistant", Blocks: []Block{{Type: "server_tool_use", Name: "web_search"}, {Type: "web_search_tool_result"}}}}}},
			[]Flag{FlagEmptyTurn}, nil, nil},
		{"empty after a user turn is neither cause", Record{Kind: KindMessage, StopReason: StopEndTurn, Req: &Request{Messages: []Message{
			{Role: "user", Blocks: []Block{{Type: "text", Text: "hi"}}}}}},
			[]Flag{FlagEmptyTurn}, nil, nil},
		{"stream error", Record{Kind: KindError, Streamed: true, ErrorType: "overloaded_error"}, []Flag{FlagIncompleteStream}, nil, nil},
		{"http error", Record{Kind: KindError, HTTPStatus: 429}, nil, nil, nil},
		// A streamed request refused before its stream began is a failed
		// request, not a cut stream.
		{"streamed request refused with 429", Record{Kind: KindError, Streamed: true, HTTPStatus: 429, ErrorType: "rate_limit_error"}, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rec
			Classify(&r)
			Classify(&r) // idempotent
			if got := r.Flags.List(); !slices.Equal(got, tc.flags) && !(len(got) == 0 && len(tc.flags) == 0) {
				t.Errorf("flags = %v, want %v", got, tc.flags)
			}
			if !slices.Equal(r.Causes, tc.causes) {
				t.Errorf("causes = %v, want %v", r.Causes, tc.causes)
			}
			if !slices.Equal(r.Tools, tc.tools) {
				t.Errorf("tools = %v, want %v", r.Tools, tc.tools)
			}
		})
	}
}

// TestEmptyTurnRemediation checks that an empty turn gets advice about
// tool_result only when its request could have that cause.
func TestEmptyTurnRemediation(t *testing.T) {
	plain := &Request{Messages: []Message{{Role: "user", Blocks: []Block{{Type: "text", Text: "hi"}}}}}
	withTool := &Request{Messages: []Message{
		{Role: "user", Blocks: []Block{{Type: "text", Text: "add"}}},
		{Role: "assistant", Blocks: []Block{{Type: "tool_use", Name: "calc"}}},
		{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "3"}}},
	}}
	sentBack := &Request{Messages: append(slices.Clone(plain.Messages), Message{Role: "assistant", Blocks: []Block{{Type: "text", Text: "Hello!"}}})}
	// cause1 is the advice about text after a tool_result: the flag's own
	// and the cause's.
	cause1 := []string{FlagRemediation(FlagEmptyTurn), CauseRemediation(CauseTextAfterToolResult)}
	for _, tc := range []struct {
		name   string
		req    *Request
		cause1 bool
	}{
		{"no tool_result", plain, false},
		{"finished response sent back", sentBack, false},
		{"tool_result alone", withTool, true},
		{"request not sent", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Record{Kind: KindMessage, StopReason: StopEndTurn, Req: tc.req}
			Classify(r)
			advice := AdviceText(EmptyTurnAdvice(r))
			for _, c := range r.Causes {
				advice += " " + CauseRemediation(c)
			}
			got := slices.ContainsFunc(cause1, func(a string) bool { return strings.Contains(advice, a) })
			if got != tc.cause1 {
				t.Errorf("cause-1 advice given: %v, want %v: %q", got, tc.cause1, advice)
			}
		})
	}
}

// BenchmarkClassify classifies a mix like the demo's: answers, tool calls
// after a conversation with tool results, an empty turn after text placed
// after a tool_result, truncation, a refusal, a cut stream and an error.
func BenchmarkClassify(b *testing.B) {
	var msgs []Message
	for i := range 6 {
		msgs = append(msgs,
			Message{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "result"}, {Type: "text", Text: "go on"}}},
			Message{Role: "assistant", Blocks: []Block{{Type: "text", Text: "Looking."}, {Type: "tool_use", Name: []string{"search", "fetch", "calc"}[i%3]}}})
	}
	req := &Request{MaxTokens: 1024, Messages: msgs}
	recs := []Record{
		{Kind: KindMessage, StopReason: StopEndTurn, Req: req, Content: []Block{{Type: "text", Text: "Here is the answer."}}, Usage: Usage{OutputTokens: 120}},
		{Kind: KindMessage, StopReason: StopToolUse, Req: req, Content: []Block{{Type: "text", Text: "Let me check."}, {Type: "tool_use", Name: "search"}, {Type: "tool_use", Name: "fetch"}}},
		{Kind: KindMessage, StopReason: StopEndTurn, Req: req, Usage: Usage{OutputTokens: 2}},
		{Kind: KindMessage, StopReason: StopMaxTokens, Req: req, Content: []Block{{Type: "text", Text: "The summary is"}}},
		{Kind: KindMessage, StopReason: StopRefusal, Req: req},
		{Kind: KindMessage, Streamed: true, Req: req, Content: []Block{{Type: "text", Text: "Partial"}}},
		{Kind: KindError, HTTPStatus: 529, ErrorType: "overloaded_error"},
		{Kind: KindAgentResult, Subtype: "success", StopReason: StopEndTurn, NumTurns: 7},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := recs[i%len(recs)]
		Classify(&r)
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "records/s")
}
