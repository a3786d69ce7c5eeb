package analytics

import (
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

func TestRemediationContent(t *testing.T) {
	// The advice must carry the documented fix, not just a label.
	tests := []struct {
		name, advice string
		must         []string
	}{
		{"empty turn", FlagRemediation(FlagEmptyTurn), []string{"tool_result", "Please continue", "will not help"}},
		{"max_tokens", StopReasonRemediation(StopMaxTokens), []string{"Raise max_tokens", "continue"}},
		{"context window", StopReasonRemediation(StopModelContextWindowExceeded), []string{"context window", "larger"}},
		{"pause_turn", StopReasonRemediation(StopPauseTurn), []string{"Send the response back"}},
		{"refusal", StopReasonRemediation(StopRefusal), []string{"rephrase", "fallback model"}},
		{"safety filtered", RefusalRemediation(true), []string{"safety filters", "claude-sonnet-4-20250514"}},
		{"tool loop", PatternRemediation(PatternToolUseLoop, ""), []string{"Cap", "informative"}},
		{"max turns", AgentSubtypeRemediation(SubtypeErrorMaxTurns), []string{"max_turns"}},
		{"budget", AgentSubtypeRemediation(SubtypeErrorMaxBudgetUSD), []string{"max_budget_usd"}},
	}
	for _, tt := range tests {
		for _, m := range tt.must {
			if !strings.Contains(tt.advice, m) {
				t.Errorf("%s advice lacks %q: %s", tt.name, m, tt.advice)
			}
		}
	}
}
