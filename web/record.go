package web

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/sse"
	"github.com/stopscope/stopscope/query"
)

// recordData is what the page of one response shows.
type recordData struct {
	Rec      *analytics.Record
	Request  requestView
	Response []viewBlock
	// Events are the stream's events in order, when it came as a stream.
	Events []sseEvent
	// Thread is the record's conversation, oldest first (the record
	// included), or nil when it stands alone.
	Thread []*analytics.Record
	// RecoveredBy is the later call of Thread that answered this refusal
	// on a fallback model (analytics.RecoveredBy), or nil.
	RecoveredBy *analytics.Record
	// Chain is the continuation chain of Thread that holds the record, or
	// nil.
	Chain *analytics.Chain
	// RunCalls are, for an Agent SDK run, the calls of its session that
	// the Claude Code it spawned reported (query.RunCalls).
	RunCalls []query.RunCall
	// ReqJSON and RespJSON are the raw bodies, indented.
	ReqJSON, RespJSON string
}

// requestView is a request body made readable.
type requestView struct {
	Present  bool
	System   string
	Params   [][2]string
	Tools    []string
	Messages []viewMessage
}

type viewMessage struct {
	Role   string
	Blocks []viewBlock
}

// viewBlock is one content block made readable: its type, its text
// (text, thinking, a tool_result's text), its name and input (tool calls),
// and the rest as indented JSON.
type viewBlock struct {
	Type    string
	Text    string
	Name    string
	Input   string
	IsError bool
	// Items are the titles and URLs of web search results.
	Items []string
	// Nested are a tool_result's blocks when it has more than text.
	Nested []viewBlock
	Raw    string
}

// sseEvent is one server-sent event of a stream transcript.
type sseEvent struct {
	Name string
	Data string
}

// parseRequestView reads a Messages API request body; a body that is not
// one gives a view with Present false.
func parseRequestView(raw json.RawMessage) requestView {
	var req map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &req) != nil {
		return requestView{}
	}
	v := requestView{Present: true}
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		val := req[k]
		switch k {
		case "messages":
			var msgs []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			}
			_ = json.Unmarshal(val, &msgs)
			for _, m := range msgs {
				v.Messages = append(v.Messages, viewMessage{Role: m.Role, Blocks: parseBlocks(m.Content)})
			}
		case "system":
			var str string
			if json.Unmarshal(val, &str) == nil {
				v.System = str
				continue
			}
			var parts []viewBlock = parseBlocks(val)
			var texts []string
			for _, b := range parts {
				texts = append(texts, b.Text)
			}
			v.System = strings.Join(texts, "\n")
		case "tools":
			var tools []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			}
			_ = json.Unmarshal(val, &tools)
			for _, t := range tools {
				name := t.Name
				if t.Type != "" && t.Type != "custom" {
					name += " (" + t.Type + ")"
				}
				v.Tools = append(v.Tools, name)
			}
		default:
			v.Params = append(v.Params, [2]string{k, compactJSON(val)})
		}
	}
	return v
}

// responseContent returns the content of a Messages API response body.
func responseContent(raw json.RawMessage) json.RawMessage {
	var resp struct {
		Content json.RawMessage `json:"content"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &resp) != nil {
		return nil
	}
	return resp.Content
}

// parseBlocks reads message content: a string or a list of blocks.
func parseBlocks(raw json.RawMessage) []viewBlock {
	if len(raw) == 0 {
		return nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return []viewBlock{{Type: "text", Text: str}}
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return []viewBlock{{Type: "unknown", Raw: prettyJSON(raw)}}
	}
	out := make([]viewBlock, 0, len(list))
	for _, item := range list {
		out = append(out, parseBlock(item))
	}
	return out
}

func parseBlock(raw json.RawMessage) viewBlock {
	var b struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		Thinking string          `json:"thinking"`
		Name     string          `json:"name"`
		Input    json.RawMessage `json:"input"`
		Content  json.RawMessage `json:"content"`
		IsError  bool            `json:"is_error"`
	}
	if json.Unmarshal(raw, &b) != nil {
		return viewBlock{Type: "unknown", Raw: prettyJSON(raw)}
	}
	v := viewBlock{Type: b.Type, Name: b.Name, IsError: b.IsError}
	switch b.Type {
	case "text":
		v.Text = b.Text
	case "thinking":
		v.Text = b.Thinking
	case "redacted_thinking":
		v.Text = "(redacted by the API)"
	case "tool_use", "server_tool_use", "mcp_tool_use":
		v.Input = prettyJSON(b.Input)
	case "tool_result", "mcp_tool_result":
		nested := parseBlocks(b.Content)
		if len(nested) == 1 && nested[0].Type == "text" {
			v.Text = nested[0].Text
		} else {
			v.Nested = nested
		}
	case "web_search_tool_result", "web_fetch_tool_result":
		var results []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		}
		if json.Unmarshal(b.Content, &results) == nil {
			for _, r := range results {
				v.Items = append(v.Items, strings.TrimSpace(r.Title+" "+r.URL))
			}
		} else {
			v.Raw = prettyJSON(b.Content)
		}
	case "image", "document":
		v.Text = "(" + b.Type + " not shown)"
	default:
		v.Raw = prettyJSON(raw)
	}
	return v
}

// responseView returns the blocks of r's response as the page shows them.
// The stored content summary holds all the page shows of text and thinking
// blocks, so a native message with no other blocks is shown from it rather
// than from its body, read again on every view; tool calls and their input,
// search results and the other blocks are read from the body. A record
// without a response body (a stream, most OTLP spans) shows the summary,
// and a failed request shows none: the page shows its error.
func responseView(r *analytics.Record) []viewBlock {
	switch {
	case r.Kind == analytics.KindError:
		return nil
	case r.Kind == analytics.KindMessage && r.Source == "native" && summaryShowsAll(r.Content):
		return blocksFromSummary(r.Content)
	}
	if blocks := parseBlocks(responseContent(r.ResponseBody)); len(blocks) > 0 {
		return blocks
	}
	return blocksFromSummary(r.Content)
}

// summaryShowsAll reports whether the summary of blocks shows them as
// their body would: text and thinking blocks are their type and text.
func summaryShowsAll(blocks []analytics.Block) bool {
	for _, b := range blocks {
		if b.Type != "text" && b.Type != "thinking" {
			return false
		}
	}
	return true
}

// blocksFromSummary shows the stored content summary.
func blocksFromSummary(blocks []analytics.Block) []viewBlock {
	out := make([]viewBlock, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, viewBlock{Type: b.Type, Text: b.Text, Name: b.Name})
	}
	return out
}

// parseSSE lists the events of a server-sent event transcript, in order,
// read as the SDK reads them (package sse), each event's data as it came:
// its data lines joined by newlines. An event without a type is a
// "message", as the SSE specification names it.
func parseSSE(transcript string) []sseEvent {
	var out []sseEvent
	r := sse.NewReader([]byte(transcript))
	for r.Next() {
		ev := sseEvent{Name: string(r.Type()), Data: strings.TrimSuffix(string(r.Data()), "\n")}
		if ev.Name == "" {
			ev.Name = "message"
		}
		out = append(out, ev)
	}
	return out
}

func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// flagCauses returns the causes of r that explain flag f, each with what
// to do about it.
func flagCauses(f analytics.Flag, r *analytics.Record) []analytics.CauseInfo {
	var out []analytics.CauseInfo
	for _, c := range r.Causes {
		if i, ok := analytics.CauseInfoOf(c); ok && i.Flag == f {
			out = append(out, i)
		}
	}
	return out
}

// refusalCategoryLabel names a refusal category for people.
func refusalCategoryLabel(c analytics.RefusalCategory) string {
	i, _ := analytics.RefusalCategoryInfoOf(c)
	return i.Label
}

// flagRemedy is what to do about flag f on record r, for its kind and stop
// reason; an empty turn's follows what its request shows of the causes.
func flagRemedy(f analytics.Flag, r *analytics.Record) []analytics.Advice {
	if f == analytics.FlagEmptyTurn && r.Kind == analytics.KindMessage {
		return analytics.EmptyTurnAdvice(r)
	}
	return analytics.FlagAdviceFor(f, r.Kind, r.StopReason, safetyFiltered(r.Model))
}

// stopInfo is what the vocabulary says about stop reason r.
func stopInfo(r analytics.StopReason) analytics.StopReasonInfo { return analytics.StopReasonInfoOf(r) }

// stopMeaning is what record r's stop reason means for its kind: a null
// stop reason is a cut stream on a Messages API response but no API
// response at all on an Agent SDK result.
func stopMeaning(r *analytics.Record) string {
	return r.StopReason.Key() + ": " + stopInfo(r.StopReason).MeaningFor(r.Kind)
}

// safetyFiltered reports whether model is one whose API safety filters are
// documented to refuse more often (analytics.PatternConfig's list).
func safetyFiltered(model string) bool {
	for _, m := range analytics.DefaultPatternConfig().SafetyFilterModels {
		if m != "" && strings.Contains(model, m) {
			return true
		}
	}
	return false
}
