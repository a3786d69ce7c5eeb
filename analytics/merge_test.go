package analytics

import (
	"reflect"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	classified := func(r Record) Record { Classify(&r); return r }
	// What Claude Code's log events say of a call without raw bodies.
	logs := classified(Record{Time: t0.Add(time.Second), Kind: KindMessage, App: "cc", RequestID: "req_1", KeyedByRequest: true,
		Model: "claude-sonnet-4-6", SessionID: "s1", Usage: Usage{InputTokens: 12, OutputTokens: 9}, CostUSD: 0.000171,
		LatencyMS: 19, TTFTMS: 14, Attempts: 1, StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs, ContentUnrecorded: true})
	// What its llm_request span says of the same call.
	span := classified(Record{Time: t0, Kind: KindMessage, App: "cc", RequestID: "req_1", KeyedByRequest: true,
		Model: "claude-sonnet-4-6", TraceID: "t", SpanID: "s", StopReason: StopEndTurn, Usage: Usage{InputTokens: 12, OutputTokens: 9},
		LatencyMS: 23, TTFTMS: 14, Attempts: 1, ContentUnrecorded: true})
	both := classified(Record{Time: t0, Kind: KindMessage, App: "cc", RequestID: "req_1", KeyedByRequest: true,
		Model: "claude-sonnet-4-6", SessionID: "s1", TraceID: "t", SpanID: "s", StopReason: StopEndTurn,
		Usage: Usage{InputTokens: 12, OutputTokens: 9}, CostUSD: 0.000171, LatencyMS: 23, TTFTMS: 14, Attempts: 1, ContentUnrecorded: true})

	emptyLogs := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_2", Usage: Usage{InputTokens: 240, OutputTokens: 3},
		StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs, ContentUnrecorded: true})
	refusal := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_2", StopReason: StopRefusal, ContentUnrecorded: true})
	refused := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_2", StopReason: StopRefusal,
		Usage: Usage{InputTokens: 240, OutputTokens: 3}, ContentUnrecorded: true})

	ambiguous := classified(Record{Kind: KindMessage, Time: t0, MessageID: "m", StopReason: StopEndTurn, StopReasonAmbiguous: true,
		Content: []Block{{Type: "text", Text: "hi"}}})
	exact := classified(Record{Kind: KindMessage, Time: t0, MessageID: "m", StopReason: StopStopSequence, StopSequence: "##",
		Content: []Block{{Type: "text", Text: "hi"}}})

	failed := classified(Record{Kind: KindError, Time: t0, RequestID: "req_3", ErrorMessage: "Overloaded", HTTPStatus: 529, Attempts: 2})
	failedSpan := classified(Record{Kind: KindError, Time: t0, RequestID: "req_3", ErrorType: "overloaded_error", HTTPStatus: 529, Attempts: 2, TraceID: "t3"})
	failedBoth := classified(Record{Kind: KindError, Time: t0, RequestID: "req_3", ErrorType: "overloaded_error", ErrorMessage: "Overloaded",
		HTTPStatus: 529, Attempts: 2, TraceID: "t3"})

	bodyless := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_4", StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs,
		ContentUnrecorded: true, Usage: Usage{OutputTokens: 9}})
	body := classified(Record{Kind: KindMessage, Time: t0.Add(time.Millisecond), RequestID: "req_4", MessageID: "msg_4", StopReason: StopMaxTokens,
		Content: []Block{{Type: "text", Text: "Quantum"}}, ResponseBody: []byte(`{"id":"msg_4"}`)})
	bodied := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_4", MessageID: "msg_4", StopReason: StopMaxTokens,
		Content: []Block{{Type: "text", Text: "Quantum"}}, ResponseBody: []byte(`{"id":"msg_4"}`), Usage: Usage{OutputTokens: 9}})

	// --metadata-only strips texts after classification: the stored
	// answer's text is blank, but it was no empty turn.
	stripped := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_5", StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs,
		Content: []Block{{Type: "text", Text: "Paris"}}, Usage: Usage{OutputTokens: 2}})
	StripContent(&stripped)
	strippedSpan := classified(Record{Kind: KindMessage, Time: t0, RequestID: "req_5", StopReason: StopEndTurn, ContentUnrecorded: true,
		Usage: Usage{OutputTokens: 2}})
	strippedBoth := Record{Kind: KindMessage, Time: t0, RequestID: "req_5", StopReason: StopEndTurn,
		Content: []Block{{Type: "text"}}, Usage: Usage{OutputTokens: 2}}

	for _, tc := range []struct {
		name     string
		old, new Record
		want     Record
		changed  bool
	}{
		{"logs then span", logs, span, both, true},
		{"span then logs", span, logs, both, true},
		{"the same twice", both, both, both, false},
		{"nothing new", both, logs, both, false},
		{"refusal after an empty-looking answer", emptyLogs, refusal, refused, true},
		{"answer after its refusal", refusal, emptyLogs, refused, true},
		{"exact stop reason beats an ambiguous one", ambiguous, exact, exact, true},
		{"ambiguous adds nothing to an exact one", exact, ambiguous, exact, false},
		{"failed call's type and message joined", failed, failedSpan, failedBoth, true},
		{"stripped text stays an answer", stripped, strippedSpan, strippedBoth, true},
		{"response body fills content, stop reason and message id", bodyless, body, bodied, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, nw := tc.old, tc.new
			got, changed := Merge(&old, &nw)
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if !changed && got != &old {
				t.Errorf("unchanged merge did not return old itself")
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("merged\n got %+v\nwant %+v", *got, tc.want)
			}
			if !reflect.DeepEqual(old, tc.old) || !reflect.DeepEqual(nw, tc.new) {
				t.Errorf("Merge modified its arguments")
			}
		})
	}
}

func TestClassifyUnrecordedStopReason(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rec   Record
		flags []Flag
	}{
		{"2 output tokens, no text: empty turn", Record{Kind: KindMessage, StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs, ContentUnrecorded: true, Usage: Usage{OutputTokens: 2}}, []Flag{FlagEmptyTurn}},
		{"9 output tokens: an answer", Record{Kind: KindMessage, StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs, ContentUnrecorded: true, Usage: Usage{OutputTokens: 9}}, []Flag{}},
		{"2 output tokens with text: an answer", Record{Kind: KindMessage, StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs, Content: []Block{{Type: "text", Text: "Hi"}}, Usage: Usage{OutputTokens: 2}}, []Flag{}},
		{"streamed: not a cut stream", Record{Kind: KindMessage, Streamed: true, StopReasonUnrecorded: StopUnrecordedClaudeCodeLogs, ContentUnrecorded: true, Usage: Usage{OutputTokens: 9}}, []Flag{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rec
			Classify(&r)
			if got := r.Flags.List(); !reflect.DeepEqual(got, tc.flags) {
				t.Errorf("flags %v, want %v", got, tc.flags)
			}
		})
	}
}

func TestIdentityKeyedByRequest(t *testing.T) {
	r := Record{RequestID: "req_1", MessageID: "msg_1"}
	if got := r.Identity(); got != "msg_1" {
		t.Errorf("Identity = %q, want the message id", got)
	}
	r.KeyedByRequest = true
	if got := r.Identity(); got != "req_1" {
		t.Errorf("KeyedByRequest: Identity = %q, want the request id", got)
	}
	r.RequestID = ""
	if got := r.Identity(); got != "msg_1" {
		t.Errorf("KeyedByRequest without request id: Identity = %q, want the message id", got)
	}
}
