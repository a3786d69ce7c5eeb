package otlp

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/stopscope/stopscope/analytics"
)

// reasons are the stop reasons a call's attributes carry. raw ones come from
// attributes that keep the Messages API's value; generic ones from the GenAI
// conventions, which producers may have rewritten. Each list is in order of
// fidelity.
type reasons struct {
	raw, generic []string
}

// readReasons collects stop reasons from every convention, most faithful first.
func (c *call) readReasons(a *attrs) {
	for _, k := range []attrKey{anthropicStopReason, llmFinishReason} {
		if s := a.str(k); s != "" {
			c.reasons.raw = append(c.reasons.raw, s)
		}
	}
	// OpenLLMetry's older flattened attributes keep the raw value.
	if a.hasPrefix(prefixGenAICompletion) {
		c.reasons.raw = append(c.reasons.raw, indexed(a.m, "gen_ai.completion.", ".finish_reason")...)
	}
	if v, ok := a.get(genAIResponseFinishReasons); ok {
		c.reasons.generic = append(c.reasons.generic, stringList(v)...)
	}
	// gen_ai.output.messages is read with the content (readContent).
}

// indexed returns the values of prefix+N+suffix attributes in order of N.
func indexed(m pcommon.Map, prefix, suffix string) []string {
	type kv struct {
		n int
		v string
	}
	var found []kv
	m.Range(func(k string, v pcommon.Value) bool {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if num, ok := strings.CutSuffix(rest, suffix); ok {
				if n, err := strconv.Atoi(num); err == nil {
					found = append(found, kv{n, v.AsString()})
				}
			}
		}
		return true
	})
	sort.Slice(found, func(i, j int) bool { return found[i].n < found[j].n })
	out := make([]string, 0, len(found))
	for _, f := range found {
		if f.v != "" {
			out = append(out, f.v)
		}
	}
	return out
}

// readChoice reads the deprecated gen_ai.choice event: its finish_reason and
// its message (role, content, tool_calls), from a span event's attributes or
// a log record's body.
func (c *call) readChoice(m pcommon.Map) {
	if s := mapStr(m, "finish_reason"); s != "" {
		c.reasons.generic = append(c.reasons.generic, s)
	}
	msg, ok := m.Get("message")
	if !ok {
		return
	}
	var cm struct {
		Role      string          `json:"role"`
		Content   json.RawMessage `json:"content"`
		ToolCalls []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	var raw []byte
	switch msg.Type() {
	case pcommon.ValueTypeMap:
		raw, _ = json.Marshal(msg.Map().AsRaw())
	case pcommon.ValueTypeStr:
		raw = []byte(msg.Str())
	default:
		return
	}
	if json.Unmarshal(raw, &cm) != nil {
		return
	}
	if c.hasContent {
		return
	}
	blocks := contentBlocks(cm.Content)
	for _, tc := range cm.ToolCalls {
		blocks = append(blocks, analytics.Block{Type: "tool_use", Name: tc.Function.Name})
	}
	c.content, c.hasContent = blocks, true
}

// anthropicReason reports whether s is one of the Messages API's stop reasons.
func anthropicReason(s string) bool {
	r := analytics.StopReason(s)
	return r != analytics.StopNull && r.Known()
}

// resolve picks the call's stop reason. Any attribute carrying the Messages
// API's own vocabulary wins, raw attributes first; then a raw attribute's
// value as it came (a reason stopscope does not know yet); then a generic
// reason mapped back where that is unambiguous. "stop" is end_turn or
// stop_sequence: it is end_turn, unambiguously, only when the request is known
// to have had no stop sequences, and end_turn marked ambiguous otherwise.
func (r reasons) resolve(stopSeqs []string, stopSeqsKnown bool) (analytics.StopReason, bool) {
	for _, s := range r.raw {
		if anthropicReason(s) {
			return analytics.StopReason(s), false
		}
	}
	for _, s := range r.generic {
		if anthropicReason(s) {
			return analytics.StopReason(s), false
		}
	}
	for _, s := range r.raw {
		if s != "" {
			return analytics.StopReason(s), false
		}
	}
	for _, s := range r.generic {
		switch strings.ToLower(s) {
		case "":
			continue
		case "stop":
			return analytics.StopEndTurn, !stopSeqsKnown || len(stopSeqs) > 0
		case "length", "max_tokens":
			return analytics.StopMaxTokens, false
		case "tool_call", "tool_calls", "function_call":
			return analytics.StopToolUse, false
		case "content_filter":
			// Anthropic's only reason a filter-style value can stand for.
			return analytics.StopRefusal, false
		case "error":
			// gen_ai.choice's "error": no reason was received.
			continue
		default:
			return analytics.StopReason(s), false
		}
	}
	return analytics.StopNull, false
}
