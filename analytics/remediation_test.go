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

// allowedSections are the documentation sections advice may cite, per
// page: the headings of each page that the advice was checked against.
var allowedSections = map[string][]string{
	docStopReasons: {"The stop_reason field", "end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded",
		"Empty responses with end_turn", "Best practices for handling stop reasons", "Handle truncated responses gracefully",
		"Implement retry logic for pause_turn", "Handling tool use workflows", "Ensuring complete responses",
		"Getting maximum tokens without knowing input size"},
	docStreaming:         {"Event types", "Error events"},
	docStreamingRefusals: {"Reset context after refusal"},
	docAgentStopReasons:  {"Available stop reasons", "Stop reasons on error results"},
	docAgentLoop:         {"Handle the result"},
	docCompaction:        {"How compaction works"},
}

// slug is a heading's anchor as the documentation site makes it.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
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
			sections, ok := allowedSections[page]
			if !ok || !slices.Contains(sections, a.Source.Section) {
				t.Errorf("%s: cites %q of %s, not a section of an allowed page", what, a.Source.Section, page)
			}
			if !strings.HasSuffix(anchor, slug(a.Source.Section)) {
				t.Errorf("%s: anchor %q is not that of section %q", what, anchor, a.Source.Section)
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
		{"max_tokens", msg(StopMaxTokens), docStopReasons, "Handle truncated responses gracefully",
			[]string{"partial response back as the assistant turn", "new user message", "raise max_tokens", "tell the user", "tool_use block", "don't run it"}, nil},
		{"max_tokens on an Agent SDK result", agent(StopMaxTokens), docAgentStopReasons, "Available stop reasons",
			[]string{"output token limit", "SDK makes the requests", "resume the session"}, []string{"assistant turn", "raise max_tokens"}},
		{"stop_sequence", msg(StopStopSequence), docStopReasons, "stop_sequence", []string{"stop_sequence field"}, nil},
		{"tool_use", msg(StopToolUse), docStopReasons, "tool_use", []string{"run it", "tool_result"}, nil},
		{"tool_use on an Agent SDK result", agent(StopToolUse), docAgentStopReasons, "Stop reasons on error results", []string{"last assistant message", "limit"}, nil},
		{"pause_turn", msg(StopPauseTurn), docStopReasons, "pause_turn", []string{"as it is", "assistant turn", "limit"}, []string{"new user message"}},
		{"refusal", msg(StopRefusal), docStopReasons, "refusal", []string{"Don't retry the request unchanged", "rephrase", "stop_details", "remove or rewrite the refused turn"}, nil},
		{"refusal on a safety-filtered model", RefusalAdvice(true), docStopReasons, "refusal", []string{"safety filters", "claude-sonnet-4-20250514", "refused turn"}, nil},
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
		{"truncated", flag(FlagTruncated), docStopReasons, "Handle truncated responses gracefully", []string{"new user message", "context window", "trim"}, nil},
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
		{"pattern truncation chain", PatternAdvice(PatternTruncationChain, ""), docStopReasons, "Handle truncated responses gracefully", []string{"new user message"}, nil},
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
	if got := AdviceText(FlagAdviceFor(FlagRefusal, KindMessage, StopRefusal, true)); !strings.Contains(got, "safety filters") {
		t.Errorf("refusal on a safety-filtered model: %s", got)
	}
	if FlagAdviceFor("nope", KindMessage, StopEndTurn, false) != nil {
		t.Error("an unknown flag got advice")
	}
	if AdviceText([]Advice{{Text: "a"}, {}, {Text: "b"}}) != "a b" {
		t.Error("AdviceText does not join the texts")
	}
}
