package analytics

import "strings"

// Claude Code asks the API again by itself, within one prompt: after an
// empty turn, after max_tokens (it continues), once after a refusal, and
// after a context-window overflow (it compacts, then asks again). Its calls
// carry no request summary that message history could link; they carry
// their session and prompt (PromptID; with its traces on, the prompt's
// interaction span's trace id), which is how these functions link them.

// Reask says what a Claude Code call re-asked after: the kinds of call
// before it in the same prompt that Claude Code asks again after by
// itself.
type Reask string

// The re-asks.
const (
	ReaskNone          Reask = ""
	ReaskEmptyTurn     Reask = "empty_turn"
	ReaskMaxTokens     Reask = "max_tokens"
	ReaskRefusal       Reask = "refusal"
	ReaskContextWindow Reask = "context_window"
)

// Label says a re-ask for people.
func (k Reask) Label() string {
	switch k {
	case ReaskEmptyTurn:
		return "re-ask after an empty turn"
	case ReaskMaxTokens:
		return "continuation after max_tokens"
	case ReaskRefusal:
		return "re-ask after a refusal"
	case ReaskContextWindow:
		return "re-ask after the context window filled"
	}
	return ""
}

// claudeCodeCall reports whether r is a call from Claude Code's own
// telemetry: keyed by its request id, with a session.
func claudeCodeCall(r *Record) bool {
	return r.KeyedByRequest && r.SessionID != "" && r.Kind != KindAgentResult
}

// samePrompt reports whether two Claude Code calls belong to one prompt:
// one app and session, and the same prompt id and interaction trace where
// both carry them.
func samePrompt(a, b *Record) bool {
	return claudeCodeCall(a) && claudeCodeCall(b) && a.App == b.App && a.SessionID == b.SessionID &&
		(a.PromptID == "" || b.PromptID == "" || a.PromptID == b.PromptID) &&
		(a.TraceID == "" || b.TraceID == "" || a.TraceID == b.TraceID)
}

// reaskAfter returns what the Claude Code call prev makes its next call in
// the same prompt a re-ask after, or ReaskNone.
func reaskAfter(prev *Record) Reask {
	switch {
	case prev.Kind == KindError:
		if prev.ErrorType == "invalid_request_error" && contextOverflowText(prev.ErrorMessage) {
			return ReaskContextWindow
		}
		return ReaskNone
	case isEmptyTurn(prev):
		return ReaskEmptyTurn
	case prev.StopReason == StopMaxTokens:
		return ReaskMaxTokens
	case prev.StopReason == StopRefusal || prev.Flags.Has(FlagRefusal):
		return ReaskRefusal
	case prev.StopReason == StopModelContextWindowExceeded:
		return ReaskContextWindow
	}
	return ReaskNone
}

// contextOverflowText reports whether an error message says the prompt did
// not fit the context window ("prompt is too long: … tokens > … maximum").
func contextOverflowText(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "prompt is too long") || strings.Contains(m, "context window") || strings.Contains(m, "context length")
}

// Reasks returns, for calls (oldest first, as Thread and a run's calls
// come), what each Claude Code call re-asked after: ReaskNone for a call
// that is the first of its prompt, follows a call Claude Code does not ask
// again after, or is not Claude Code's. The previous call is the latest
// earlier call of the same prompt.
func Reasks(calls []*Record) []Reask {
	out := make([]Reask, len(calls))
	for i, r := range calls {
		if !claudeCodeCall(r) || r.Kind == KindError {
			continue
		}
		for j := i - 1; j >= 0 && i-j <= lookAhead; j-- {
			if samePrompt(calls[j], r) {
				out[i] = reaskAfter(calls[j])
				break
			}
		}
	}
	return out
}

// answered reports whether r is a complete answer: a message that is not
// an empty turn or a refusal and stopped completing (end_turn,
// stop_sequence, tool_use), or, when its producer did not record the stop
// reason, that has content.
func answered(r *Record) bool {
	if r.Kind != KindMessage || isEmptyTurn(r) || r.StopReason == StopRefusal || r.Flags.Has(FlagRefusal) {
		return false
	}
	if completes(r.StopReason) {
		return true
	}
	return r.StopReason == StopNull && r.StopReasonUnrecorded != "" && !r.ContentUnrecorded && !ContentEmpty(r.Content)
}

// ReaskedAnswer returns the call of thread (oldest first) that answered
// after Claude Code re-asked the empty turn or refusal r by itself within
// the same prompt, or nil: the first later call of the prompt that is not
// again empty (or refused) must be a complete answer.
func ReaskedAnswer(r *Record, thread []*Record) *Record {
	if r == nil || !claudeCodeCall(r) {
		return nil
	}
	want := reaskAfter(r)
	if want != ReaskEmptyTurn && want != ReaskRefusal {
		return nil
	}
	at := indexOf(r, thread)
	if at < 0 {
		return nil
	}
	for j := at + 1; j < len(thread) && j <= at+lookAhead; j++ {
		x := thread[j]
		if !samePrompt(r, x) || x.Kind == KindError {
			continue
		}
		if reaskAfter(x) == want {
			continue // empty (or refused) again: Claude Code may ask once more
		}
		if answered(x) {
			return x
		}
		return nil
	}
	return nil
}

func indexOf(r *Record, thread []*Record) int {
	for i, x := range thread {
		if x == r || (r.ID != 0 && x.ID == r.ID) {
			return i
		}
	}
	return -1
}
