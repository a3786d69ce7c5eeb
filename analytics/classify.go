package analytics

import "strings"

// Classify derives a record's flags, causes and tools from its facts. It is
// idempotent: classifying a record twice gives the same result.
func Classify(r *Record) {
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
		if (b.Type == "tool_use" || b.Type == "server_tool_use") && b.Name != "" {
			r.Tools = appendUnique(r.Tools, b.Name)
		}
	}
	if r.Streamed && r.StopReason == StopNull && r.Kind == KindMessage {
		r.Flags = r.Flags.With(FlagIncompleteStream)
	}
	// The flags every response with this stop reason has (truncated,
	// refusal, unknown_stop_reason), then those that depend on more.
	for _, f := range StopReasonInfoOf(r.StopReason).Raises {
		r.Flags = r.Flags.With(f)
	}
	switch r.StopReason {
	case StopEndTurn:
		if r.Kind == KindMessage && emptyTurn(r) {
			r.Flags = r.Flags.With(FlagEmptyTurn)
			if r.Req != nil && TextAfterToolResult(r.Req) {
				r.Causes = append(r.Causes, CauseTextAfterToolResult)
			}
		}
	}
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

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
