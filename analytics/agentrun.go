package analytics

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AgentRunError is what the text of an Agent SDK run that ended in error
// says about it (see AgentRunErrorOf).
type AgentRunError struct {
	// Subtype is the run's error subtype: the one the text names or
	// implies, else error_during_execution, the subtype of runs that
	// failed; success for a refused run, which Claude Code reports as an
	// error (subtype success, is_error) although the API answered: its
	// refusal stop reason counts it.
	Subtype string
	// APIFailed is set when the run ended because its API call failed
	// ("API Error: 529 {...}"): no answer arrived, so the run's stop reason
	// is that of Claude Code's synthetic message (stop_sequence), not an
	// answer's.
	APIFailed bool
	// HTTPStatus is the failed call's HTTP status when the text gives it,
	// else 0.
	HTTPStatus int
}

// reAPIError matches the text of a run whose API call failed ("API Error:
// 529 {...}", "API Error: Request rejected (429) ..."), with its status.
var reAPIError = regexp.MustCompile(`^API Error:?\s*(?:[^0-9]*\(([1-5][0-9][0-9])\)|([1-5][0-9][0-9])\b)?`)

// AgentRunErrorOf reads the text an Agent SDK run that ended in error gives
// of itself (its result's errors, its result text, or what the TypeScript
// SDK throws after "Claude Code returned an error result: "), as Claude
// Code words it for each limit. stop is the run's stop reason: a refusal is
// an answer, so a refused run's API call did not fail even when Claude Code
// words its result as an API error, and the run keeps subtype success.
func AgentRunErrorOf(text string, stop StopReason) AgentRunError {
	text = strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(text, "Reached maximum number of turns"):
		return AgentRunError{Subtype: SubtypeErrorMaxTurns}
	case strings.HasPrefix(text, "Reached maximum budget"):
		return AgentRunError{Subtype: SubtypeErrorMaxBudgetUSD}
	case strings.Contains(text, "structured output"):
		// Inferred from the subtype's meaning: no capture had this text.
		return AgentRunError{Subtype: SubtypeErrorMaxStructuredOutputRetries}
	case slices.Contains(AgentSubtypes, text) && text != SubtypeSuccess:
		return AgentRunError{Subtype: text}
	}
	if stop == StopRefusal {
		return AgentRunError{Subtype: SubtypeSuccess}
	}
	e := AgentRunError{Subtype: SubtypeErrorDuringExecution}
	if m := reAPIError.FindStringSubmatch(text); m != nil {
		e.APIFailed = true
		s := m[1]
		if s == "" {
			s = m[2]
		}
		e.HTTPStatus, _ = strconv.Atoi(s)
	}
	return e
}
