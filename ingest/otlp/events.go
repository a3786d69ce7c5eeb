package otlp

import (
	"encoding/json"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/stopscope/stopscope/analytics"
)

// eventName returns a log record's event name: the EventName field, or the
// event.name attribute older SDKs write.
func eventName(lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	if v, ok := lr.Attributes().Get("event.name"); ok {
		return v.AsString()
	}
	return ""
}

// isMessageEvent reports whether name is one of the deprecated per-message
// GenAI events.
func isMessageEvent(name string) bool {
	switch name {
	case eventChoice, "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message", "gen_ai.tool.message":
		return true
	}
	return false
}

// eventGroup gathers the deprecated events of one call.
type eventGroup struct {
	messages []analytics.Message
	choice   *plog.LogRecord
}

func (g *eventGroup) add(name string, lr plog.LogRecord) {
	if name == eventChoice {
		if g.choice == nil {
			g.choice = &lr
		}
		return
	}
	body := bodyMap(lr.Body())
	var blocks []analytics.Block
	if v, ok := body.Get("content"); ok {
		raw, _ := json.Marshal(v.AsRaw())
		blocks = contentBlocks(raw)
	}
	role := strings.TrimSuffix(strings.TrimPrefix(name, "gen_ai."), ".message")
	if v, ok := body.Get("role"); ok && v.AsString() != "" {
		role = v.AsString()
	}
	if role == "tool" {
		for i := range blocks {
			if blocks[i].Type == "text" {
				blocks[i].Type = "tool_result"
			}
		}
	}
	if v, ok := body.Get("tool_calls"); ok && v.Type() == pcommon.ValueTypeSlice {
		for i := 0; i < v.Slice().Len(); i++ {
			tc := v.Slice().At(i)
			if tc.Type() != pcommon.ValueTypeMap {
				continue
			}
			name := ""
			if fn, ok := tc.Map().Get("function"); ok && fn.Type() == pcommon.ValueTypeMap {
				if n, ok := fn.Map().Get("name"); ok {
					name = n.AsString()
				}
			}
			blocks = append(blocks, analytics.Block{Type: "tool_use", Name: name})
		}
	}
	g.messages = appendMessage(g.messages, role, blocks)
}

// call makes the group's call, or nil when it has no choice (no response) or
// names a provider other than Anthropic.
func (g *eventGroup) call(res resource, scope string, now time.Time) *call {
	if g.choice == nil {
		return nil
	}
	lr := *g.choice
	var a attrs
	a.index(lr.Attributes())
	provider := firstNonEmpty(a.str(genAIProviderName), a.str(genAISystem))
	model := firstNonEmpty(a.str(genAIResponseModel), a.str(genAIRequestModel))
	if !isClaude(provider, model, scope, false, false, &a) {
		return nil
	}
	c := &call{app: res.app, env: res.env, release: res.release, model: model, messageID: a.str(genAIResponseID)}
	c.promptVersion = promptVersionOf(&a)
	c.messages = g.messages
	c.readChoice(bodyMap(lr.Body()))
	c.setLogContext(lr, now)
	return c
}

// bodyMap returns a log body as a map: a map body as it is, a string body
// holding a JSON object decoded.
func bodyMap(v pcommon.Value) pcommon.Map {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return v.Map()
	case pcommon.ValueTypeStr:
		var raw map[string]any
		if json.Unmarshal([]byte(v.Str()), &raw) == nil {
			m := pcommon.NewMap()
			if m.FromRaw(raw) == nil {
				return m
			}
		}
	}
	return pcommon.NewMap()
}
