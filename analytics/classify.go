package analytics

import "strings"

// Classify derives a record's flags, causes and tools from its facts. It is
// idempotent: classifying a record twice gives the same result.
func Classify(r *Record) { classify(r, nil) }

// classify is Classify, taking the empty-turn verdict from empty when it
// is not nil instead of judging the content (see Merge).
func classify(r *Record, empty *bool) {
	r.Flags = 0
	r.Causes = nil
	r.Tools = nil
	if r.Kind == KindError {
		// A failed request has no stop reason to judge; a stream that ended
		// in an error event was cut short. A streamed request refused with
		// an HTTP error status never began: it is failed, not cut (a stream
		// that began has status 200, recorded as none).
		if r.Streamed && r.HTTPStatus < 400 {
			r.Flags = r.Flags.With(FlagIncompleteStream)
		}
		return
	}
	for _, b := range r.Content {
		// Only a tool_use stop reason asks for client tools to be run: a
		// tool_use block cut off by max_tokens is incomplete. Server tools
		// were run by the API whatever the stop reason.
		client := b.Type == "tool_use" && r.StopReason == StopToolUse
		if (client || b.Type == "server_tool_use") && b.Name != "" {
			r.Tools = appendUnique(r.Tools, b.Name)
		}
	}
	if r.StopReason == StopNull && r.Kind == KindMessage {
		// A null the producer never recorded (StopReasonUnrecorded) says
		// nothing of the stream or the body.
		if r.StopReasonUnrecorded == "" {
			if r.Streamed {
				r.Flags = r.Flags.With(FlagIncompleteStream)
			} else {
				// A complete response body always carries a stop reason.
				r.Flags = r.Flags.With(FlagNoStopReason)
			}
		}
		if ProbablyTruncated(r) {
			r.Flags = r.Flags.With(FlagProbablyTruncated)
		}
	}
	// The flags every response with this stop reason has (truncated,
	// refusal, unknown_stop_reason), then those that depend on more.
	for _, f := range StopReasonInfoOf(r.StopReason).Raises {
		r.Flags = r.Flags.With(f)
	}
	if judgedForEmptiness(r) {
		if r.Kind == KindMessage && (empty == nil && emptyTurn(r) || empty != nil && *empty) {
			r.Flags = r.Flags.With(FlagEmptyTurn)
			if r.Req != nil && TextAfterToolResult(r.Req) {
				r.Causes = append(r.Causes, CauseTextAfterToolResult)
			}
			if r.Req != nil && CompletedResponseSentBack(r.Req) {
				r.Causes = append(r.Causes, CauseCompletedResponseSentBack)
			}
		}
	}
}

// judgedForEmptiness reports whether r is a message whose content decides
// the empty-turn flag: an end_turn answer, or an answer whose stop reason
// went unrecorded (judged by what it returned: nothing at all is an empty
// turn, whatever ended it).
func judgedForEmptiness(r *Record) bool {
	return r.Kind == KindMessage && (r.StopReason == StopEndTurn || r.StopReason == StopNull && r.StopReasonUnrecorded != "")
}

// emptyTurn reports whether an end_turn message came back empty. Where the
// producer did not record content, the output token count decides: an empty
// turn costs 1 to 3 output tokens, any real answer more.
func emptyTurn(r *Record) bool {
	if r.ContentUnrecorded {
		return r.Usage.OutputTokens >= 1 && r.Usage.OutputTokens <= 3
	}
	return ContentEmpty(r.Content)
}

// ContentEmpty reports whether a response's content is empty or only blank
// text: what an empty turn returns.
func ContentEmpty(blocks []Block) bool {
	for _, b := range blocks {
		if b.Type != "text" || strings.TrimSpace(b.Text) != "" {
			return false
		}
	}
	return true
}

// TextAfterToolResult reports whether the request's last user message puts a
// text block right after a tool_result block, the known cause of empty turns.
func TextAfterToolResult(req *Request) bool {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != "user" {
			continue
		}
		for j := 1; j < len(m.Blocks); j++ {
			if m.Blocks[j].Type == "text" && m.Blocks[j-1].Type == "tool_result" {
				return true
			}
		}
		return false
	}
	return false
}

// CompletedResponseSentBack reports whether the request ends with a
// finished assistant turn and nothing after it: the documentation's second
// cause of empty turns. A turn is finished when it is empty (an empty
// answer sent back) or ends with text; one that ends with a server tool's
// call or result is a paused turn being resumed (pause_turn), not one.
func CompletedResponseSentBack(req *Request) bool {
	n := len(req.Messages)
	if n == 0 || req.Messages[n-1].Role != "assistant" {
		return false
	}
	b := req.Messages[n-1].Blocks
	return len(b) == 0 || b[len(b)-1].Type == "text"
}

// hasToolResult reports whether any message of the request holds a
// tool_result block.
func hasToolResult(req *Request) bool {
	for _, m := range req.Messages {
		for _, b := range m.Blocks {
			if b.Type == "tool_result" {
				return true
			}
		}
	}
	return false
}

// ProbablyTruncated reports whether r, a message without a stop reason,
// produced as many output tokens as its request's max_tokens allowed: it
// was most likely cut at max_tokens by a producer that dropped the stop
// reason. It is a hint, never a stop reason.
func ProbablyTruncated(r *Record) bool {
	return r.Kind == KindMessage && r.StopReason == StopNull && r.Req != nil && r.Req.MaxTokens > 0 &&
		r.Usage.OutputTokens >= r.Req.MaxTokens
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
