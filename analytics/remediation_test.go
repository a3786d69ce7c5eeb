package analytics

import (
	"slices"
	"strings"
	"testing"
)

func TestRemediationsCoverEverything(t *testing.T) {
	for _, r := range append([]StopReason{StopNull}, KnownStopReasons...) {
		if StopReasonRemediation(r) == "" || StopReasonRemediation(r) == remedyUnknown {
			t.Errorf("stop reason %s has no specific advice", r.Key())
		}
	}
	if StopReasonRemediation("new_reason") != remedyUnknown {
		t.Error("an unknown stop reason does not get the generic advice")
	}
	for _, f := range AllFlags {
		if FlagRemediation(f) == "" {
			t.Errorf("flag %s has no advice", f)
		}
	}
	if FlagRemediation("nope") != "" || CauseRemediation("nope") != "" {
		t.Error("unknown flag or cause got advice")
	}
	if CauseRemediation(CauseTextAfterToolResult) == "" {
		t.Error("text_after_tool_result has no advice")
	}
	for _, k := range PatternKinds {
		if PatternRemediation(k, SubtypeErrorMaxTurns) == "" {
			t.Errorf("pattern %s has no advice", k)
		}
	}
	for _, st := range AgentSubtypes[1:] {
		if AgentSubtypeRemediation(st) == "" {
			t.Errorf("subtype %s has no advice", st)
		}
	}
	if AgentSubtypeRemediation(SubtypeSuccess) != "" {
		t.Error("success needs no advice")
	}
}

// verifiedSections are the documentation sections advice may cite, per
// page, each with the anchor its link must end in: the headings of each page
// as published in December 2026, checked against the page's own table of
// contents (for the Agent SDK and streaming pages, against its headings).
// "Empty responses with end_turn" and "Incomplete tool use blocks" are
// collapsible parts of the end_turn and max_tokens sections without an
// anchor of their own, so they link to the section around them; "What a
// refusal looks like" and the compaction sections use the anchors the
// pages themselves link to.
var verifiedSections = map[string]map[string]string{
	docStopReasons: {
		"Quick reference": "quick-reference", "The stop_reason field": "the-stop-reason-field",
		"end_turn": "end-turn", "Empty responses with end_turn": "end-turn",
		"max_tokens": "max-tokens", "Incomplete tool use blocks": "max-tokens",
		"stop_sequence": "stop-sequence", "tool_use": "tool-use", "pause_turn": "pause-turn", "refusal": "refusal",
		"model_context_window_exceeded":                     "model-context-window-exceeded",
		"Best practices for handling stop reasons":          "best-practices-for-handling-stop-reasons",
		"Handle truncated responses gracefully":             "handle-truncated-responses-gracefully",
		"Implement retry logic for pause_turn":              "implement-retry-logic-for-pause-turn",
		"Handling tool use workflows":                       "handling-tool-use-workflows",
		"Ensuring complete responses":                       "ensuring-complete-responses",
		"Getting maximum tokens without knowing input size": "getting-maximum-tokens-without-knowing-input-size",
	},
	docStreaming:           {"Event types": "event-types", "Error events": "error-events"},
	docStreamingRefusals:   {"Reset context after refusal": "reset-context-after-refusal"},
	docAgentStopReasons:    {"Available stop reasons": "available-stop-reasons", "Stop reasons on error results": "stop-reasons-on-error-results"},
	docAgentLoop:           {"Handle the result": "handle-the-result"},
	docCompaction:          {"Choose how to compact": "choose-how-to-compact"},
	docCompactionOnDemand:  {"Continue from the summary": "continue-from-the-summary"},
	docCompactionThreshold: {"Pausing after compaction": "pausing-after-compaction"},
	docRefusals:            {"What a refusal looks like": "refusal-response"},
}

// pageTitles are the verified titles of the pages, as DocRef.Title gives them.
var pageTitles = map[string]string{
	docStopReasons: "Stop reasons and fallback", docStreaming: "Streaming messages",
	docStreamingRefusals: "Handle streaming refusals", docAgentStopReasons: "Agent SDK: Handle stop reasons",
	docAgentLoop: "Agent SDK: How the agent loop works", docCompaction: "Compaction overview",
	docCompactionOnDemand: "Compaction on demand", docCompactionThreshold: "Compaction at a token threshold",
	docRefusals: "Refusals and fallback",
}

// TestDocPagesVerified keeps DocPages and the verified sections the same
// list of pages.
func TestDocPagesVerified(t *testing.T) {
	if len(DocPages) != len(verifiedSections) {
		t.Errorf("DocPages has %d pages, %d are verified", len(DocPages), len(verifiedSections))
	}
	for _, p := range DocPages {
		if _, ok := verifiedSections[p]; !ok {
			t.Errorf("page %s is cited but its sections are not verified", p)
		}
		if pageTitles[p] == "" {
			t.Errorf("page %s has no verified title", p)
		}
	}
}

// everyAdvice lists every advice the vocabulary and the patterns give, by
// what it is for.
func everyAdvice() map[string][]Advice {
	out := map[string][]Advice{}
	for _, i := range append(append([]StopReasonInfo{}, StopReasonTable...), StopNullInfo, StopUnknownInfo) {
		out["stop reason "+i.Key()] = i.AdviceFor(KindMessage)
		out["stop reason "+i.Key()+" (Agent SDK)"] = i.AdviceFor(KindAgentResult)
	}
	for _, i := range FlagTable {
		out["flag "+string(i.Flag)] = i.Advices()
		for _, k := range Kinds {
			for _, r := range append([]StopReason{StopNull, "new_reason"}, KnownStopReasons...) {
				for _, sf := range []bool{false, true} {
					out["flag "+string(i.Flag)+" on "+string(k)+" "+r.Key()] = FlagAdviceFor(i.Flag, k, r, sf)
				}
			}
		}
	}
	for _, i := range CauseTable {
		out["cause "+string(i.Cause)] = []Advice{i.Advice}
	}
	for _, st := range append(AgentSubtypes[1:], "error_new") {
		out["subtype "+st] = []Advice{AgentSubtypeAdvice(st)}
	}
	for _, k := range PatternKinds {
		out["pattern "+k] = PatternAdvice(k, SubtypeErrorDuringExecution)
	}
	out["pattern refusals on a safety-filtered model"] = Pattern{Kind: PatternRefusalsByModel, Detail: map[string]float64{"safety_filtered": 1}}.AdviceOf()
	out["refusal category"] = []Advice{RefusalCategoryAdvice}
	out["pattern agent runs before the first answer"] = Pattern{Kind: PatternAgentSubtype, Key: SubtypeErrorDuringExecution,
		Detail: map[string]float64{"before_first_answer": 1}}.AdviceOf()
	return out
}

// TestAdviceSources holds every advice to a section of the documentation
// it follows, and keeps out what the documentation contradicts.
func TestAdviceSources(t *testing.T) {
	forbidden := []string{
		"before them",      // text before tool_result blocks is rejected with a 400
		"lower max_tokens", // cannot lengthen an answer cut by the context window
		"prefill",          // the documentation continues with a new user message
		"please continue",  // a continuation prompt is the last resort, not the fix
		"asked for more than fits",
	}
	for what, as := range everyAdvice() {
		if len(as) == 0 {
			t.Errorf("%s: no advice", what)
		}
		for _, a := range as {
			if a.Text == "" || a.Source.Title == "" {
				t.Errorf("%s: advice or its source is missing: %+v", what, a)
				continue
			}
			page, anchor, _ := strings.Cut(a.Source.URL, "#")
			if !slices.Contains(DocPages, page) {
				t.Errorf("%s: cites %s, not one of the documented pages", what, page)
			}
			want, ok := verifiedSections[page][a.Source.Section]
			if !ok {
				t.Errorf("%s: cites %q of %s, not a verified section of that page", what, a.Source.Section, page)
			} else if anchor != want {
				t.Errorf("%s: section %q links to #%s, want #%s", what, a.Source.Section, anchor, want)
			}
			if a.Source.Title != pageTitles[page] {
				t.Errorf("%s: names the page %q, want %q", what, a.Source.Title, pageTitles[page])
			}
			for _, f := range forbidden {
				if strings.Contains(strings.ToLower(a.Text), f) {
					t.Errorf("%s: advice says %q: %s", what, f, a.Text)
				}
			}
		}
	}
}

// TestAdviceFollowsItsSource holds each stop reason, cause, subtype and
// pattern to what its section of the documentation says.
func TestAdviceFollowsItsSource(t *testing.T) {
	agent := func(r StopReason) []Advice { return StopReasonInfoOf(r).AdviceFor(KindAgentResult) }
	msg := func(r StopReason) []Advice { return StopReasonInfoOf(r).AdviceFor(KindMessage) }
	flag := func(f Flag) []Advice { i, _ := FlagInfoOf(f); return i.Advices() }
	cause := func(c Cause) []Advice { i, _ := CauseInfoOf(c); return []Advice{i.Advice} }
	tests := []struct {
		name    string
		advice  []Advice
		page    string
		section string   // of the first piece
		must    []string // in this order
		mustNot []string
	}{
		{"end_turn", msg(StopEndTurn), docStopReasons, "end_turn", []string{"use the response"}, nil},
		{"max_tokens", msg(StopMaxTokens), docStopReasons, "Quick reference",
			[]string{"raise max_tokens", "partial response back as the assistant turn", "new user message", "tell the user", "tool_use block", "don't run it"}, nil},
		{"max_tokens on an Agent SDK result", agent(StopMaxTokens), docAgentStopReasons, "Available stop reasons",
			[]string{"output token limit", "SDK makes the requests", "resume the session"}, []string{"assistant turn", "raise max_tokens"}},
		{"stop_sequence", msg(StopStopSequence), docStopReasons, "stop_sequence", []string{"stop_sequence field"}, nil},
		{"tool_use", msg(StopToolUse), docStopReasons, "tool_use", []string{"run it", "tool_result"}, nil},
		{"tool_use on an Agent SDK result", agent(StopToolUse), docAgentStopReasons, "Stop reasons on error results", []string{"last assistant message", "limit"}, nil},
		{"pause_turn", msg(StopPauseTurn), docStopReasons, "pause_turn", []string{"as it is", "assistant turn", "limit"}, []string{"new user message"}},
		{"refusal", msg(StopRefusal), docStopReasons, "refusal", []string{"Don't retry the request unchanged", "rephrase", "stop_details", "remove or rewrite the refused turn"}, nil},
		{"refusal on a safety-filtered model", RefusalAdvice(true), docStopReasons, "refusal", []string{"recommended_model", "fallback model", "refused turn"}, nil},
		{"model_context_window_exceeded", msg(StopModelContextWindowExceeded), docStopReasons, "model_context_window_exceeded",
			[]string{"valid", "truncated", "Continue", "trim the history", "without counting the input", "not a fault"}, []string{"lower", "max_tokens too"}},
		{"null", msg(StopNull), docStreaming, "Event types", []string{"cut short", "message_stop"}, []string{"API response"}},
		{"null on an Agent SDK result", agent(StopNull), docAgentStopReasons, "Available stop reasons",
			[]string{"No API response was received", "before the first request", "cached session"}, []string{"cut short", "stream"}},
		{"unknown", msg("new_reason"), docStopReasons, "Best practices for handling stop reasons", []string{"explicitly"}, nil},
		{"empty_turn", flag(FlagEmptyTurn), docStopReasons, "Empty responses with end_turn",
			[]string{"Fix the cause first", "tool_result blocks alone", "later turn", "completed response", "does not help", "last resort", "new user message"}, nil},
		{"text_after_tool_result", cause(CauseTextAfterToolResult), docStopReasons, "Empty responses with end_turn",
			[]string{"right after a tool_result", "alone", "later turn"}, []string{"before"}},
		{"truncated", flag(FlagTruncated), docStopReasons, "Quick reference", []string{"new user message", "context window", "trim"}, nil},
		{"compaction", msg(StopCompaction), docCompaction, "Choose how to compact",
			[]string{"only the compaction block", "first in messages", "in place of the messages it summarises", "append the response", "pause_after_compaction"}, []string{"null content"}},
		{"pattern compaction unresolved", PatternAdvice(PatternCompactionUnresolved, ""), docCompactionOnDemand, "Continue from the summary",
			[]string{"returned block", "exactly as it came", "first on every later request"}, nil},
		{"refusal category", []Advice{RefusalCategoryAdvice}, docRefusals, "What a refusal looks like", []string{"recommended_model", "fallback"}, nil},
		{"incomplete_stream", flag(FlagIncompleteStream), docStreaming, "Error events", []string{"error event", "retry"}, nil},
		{"error_max_turns", []Advice{AgentSubtypeAdvice(SubtypeErrorMaxTurns)}, docAgentLoop, "Handle the result", []string{"maxTurns"}, nil},
		{"error_max_budget_usd", []Advice{AgentSubtypeAdvice(SubtypeErrorMaxBudgetUSD)}, docAgentLoop, "Handle the result", []string{"maxBudgetUsd"}, nil},
		{"error_max_structured_output_retries", []Advice{AgentSubtypeAdvice(SubtypeErrorMaxStructuredOutputRetries)}, docAgentLoop, "Handle the result",
			[]string{"Simplify the output schema", "validates"}, nil},
		{"error_during_execution", []Advice{AgentSubtypeAdvice(SubtypeErrorDuringExecution)}, docAgentLoop, "Handle the result", []string{"errors field"}, nil},
		{"pattern text after tool_result", PatternAdvice(PatternEmptyTurnTextAfterToolResult, ""), docStopReasons, "Empty responses with end_turn",
			[]string{"alone", "later turn", "does not help", "last resort"}, nil},
		{"pattern unchanged retry", PatternAdvice(PatternEmptyTurnUnchangedRetry, ""), docStopReasons, "Empty responses with end_turn",
			[]string{"same empty answer", "Fix the cause", "last resort", "new user message"}, nil},
		{"pattern recovered", PatternAdvice(PatternEmptyTurnRecovered, ""), docStopReasons, "Empty responses with end_turn", []string{"last resort", "Fix the cause"}, nil},
		{"pattern truncation chain", PatternAdvice(PatternTruncationChain, ""), docStopReasons, "Quick reference", []string{"new user message"}, nil},
		{"pattern truncation unresolved", PatternAdvice(PatternTruncationUnresolved, ""), docStopReasons, "Ensuring complete responses", []string{"until the stop reason is end_turn"}, nil},
		{"pattern context window", PatternAdvice(PatternContextWindowExceeded, ""), docStopReasons, "model_context_window_exceeded", []string{"truncated", "not a fault"}, nil},
		{"pattern pause_turn unresolved", PatternAdvice(PatternPauseTurnUnresolved, ""), docStopReasons, "Implement retry logic for pause_turn", []string{"as it is"}, nil},
		{"pattern tool loop", PatternAdvice(PatternToolUseLoop, ""), docStopReasons, "Handling tool use workflows", []string{"tool_result", "cap"}, nil},
		{"pattern refusals", PatternAdvice(PatternRefusalsByModel, "m"), docStopReasons, "refusal", []string{"rephrase"}, []string{"safety filters"}},
		{"pattern before first answer", Pattern{Kind: PatternAgentSubtype, Key: SubtypeErrorDuringExecution, Detail: map[string]float64{"before_first_answer": 2}}.AdviceOf(),
			docAgentLoop, "Handle the result", []string{"errors field", "no API response", "API key"}, nil},
	}
	for _, tt := range tests {
		if len(tt.advice) == 0 {
			t.Errorf("%s: no advice", tt.name)
			continue
		}
		if first := tt.advice[0].Source; !strings.HasPrefix(first.URL, tt.page+"#") || first.Section != tt.section {
			t.Errorf("%s: cites %s (%s), want section %q of %s", tt.name, first.URL, first.Section, tt.section, tt.page)
		}
		text := AdviceText(tt.advice)
		at := 0
		for _, m := range tt.must {
			i := strings.Index(strings.ToLower(text[at:]), strings.ToLower(m))
			if i < 0 {
				t.Errorf("%s: advice lacks %q (after what came before): %s", tt.name, m, text)
				continue
			}
			at += i
		}
		for _, m := range tt.mustNot {
			if strings.Contains(strings.ToLower(text), strings.ToLower(m)) {
				t.Errorf("%s: advice says %q: %s", tt.name, m, text)
			}
		}
	}
}

// TestAdviceByKind checks that a record is advised for what it is: an
// Agent SDK result gets the SDK's advice where it differs, and a flag's
// advice on one record follows its stop reason and kind.
func TestAdviceByKind(t *testing.T) {
	mt := StopReasonInfoOf(StopMaxTokens)
	if AdviceText(mt.AdviceFor(KindAgentResult)) == AdviceText(mt.AdviceFor(KindMessage)) {
		t.Error("max_tokens on an Agent SDK result gets the Messages API advice")
	}
	null := StopReasonInfoOf(StopNull)
	if null.MeaningFor(KindAgentResult) == null.MeaningFor(KindMessage) || !strings.Contains(null.MeaningFor(KindAgentResult), "No API response") {
		t.Errorf("null means the same for both kinds: %q", null.MeaningFor(KindAgentResult))
	}
	if got := FlagAdviceFor(FlagTruncated, KindAgentResult, StopMaxTokens, false); AdviceText(got) != AdviceText(mt.AdviceFor(KindAgentResult)) {
		t.Errorf("truncation on an Agent SDK result: %s", AdviceText(got))
	}
	cw := StopReasonInfoOf(StopModelContextWindowExceeded).AdviceFor(KindMessage)
	if got := FlagAdviceFor(FlagTruncated, KindMessage, StopModelContextWindowExceeded, false); AdviceText(got) != AdviceText(cw) {
		t.Errorf("truncation at the context window: %s", AdviceText(got))
	}
	if got := AdviceText(FlagAdviceFor(FlagRefusal, KindMessage, StopRefusal, true)); !strings.Contains(got, "recommended_model") {
		t.Errorf("refusal on a safety-filtered model: %s", got)
	}
	if FlagAdviceFor("nope", KindMessage, StopEndTurn, false) != nil {
		t.Error("an unknown flag got advice")
	}
	if AdviceText([]Advice{{Text: "a"}, {}, {Text: "b"}}) != "a b" {
		t.Error("AdviceText does not join the texts")
	}
}
