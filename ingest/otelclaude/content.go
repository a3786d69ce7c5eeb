package otelclaude

import (
	"encoding/json"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// apiBlock is a Messages API content block, in a request or a response.
type apiBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	Source    *apiSource      `json:"source"`
}

type apiSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
	FileID    string `json:"file_id"`
}

// apiMessageParam is one message of a request; Content is a string or blocks.
type apiMessageParam struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// part is a message part as the GenAI conventions define it (TextPart,
// ToolCallRequestPart, ToolCallResponsePart, ReasoningPart, BlobPart,
// UriPart, FilePart, GenericPart).
type part struct {
	Type      string          `json:"type"`
	Content   *string         `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Response  json.RawMessage `json:"response,omitempty"`
	Modality  string          `json:"modality,omitempty"`
	MimeType  string          `json:"mime_type,omitempty"`
	URI       string          `json:"uri,omitempty"`
	FileID    string          `json:"file_id,omitempty"`
}

// chatMessage is an entry of gen_ai.input.messages or gen_ai.output.messages.
type chatMessage struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

func textPart(typ, s string) part { return part{Type: typ, Content: &s} }

// toPart converts one Anthropic block to a conventions part.
func toPart(b apiBlock) part {
	switch b.Type {
	case "text":
		return textPart("text", b.Text)
	case "thinking":
		return textPart("reasoning", b.Thinking)
	case "tool_use", "server_tool_use", "mcp_tool_use":
		return part{Type: "tool_call", ID: b.ID, Name: b.Name, Arguments: jsonOrEmptyObject(b.Input)}
	case "image", "document":
		return mediaPart(b)
	}
	if b.Type == "tool_result" || strings.HasSuffix(b.Type, "_tool_result") {
		p := part{Type: "tool_call_response", ID: b.ToolUseID}
		if len(b.Content) > 0 {
			p.Response = b.Content
		}
		return p
	}
	return part{Type: b.Type}
}

func mediaPart(b apiBlock) part {
	modality := b.Type // "image", or "document" for PDFs and text files
	if b.Source == nil {
		return part{Type: b.Type}
	}
	s := b.Source
	switch s.Type {
	case "base64":
		return part{Type: "blob", Modality: modality, MimeType: s.MediaType, Content: &s.Data}
	case "url":
		return part{Type: "uri", Modality: modality, MimeType: s.MediaType, URI: s.URL}
	case "file":
		return part{Type: "file", Modality: modality, MimeType: s.MediaType, FileID: s.FileID}
	case "text":
		return textPart("text", s.Data)
	}
	return part{Type: b.Type}
}

// jsonOrEmptyObject returns raw when it is JSON, {} when it is empty, and raw
// as a JSON string otherwise (tool input cut short in a stream).
func jsonOrEmptyObject(raw []byte) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}")
	}
	if json.Valid(raw) {
		return json.RawMessage(raw)
	}
	s, _ := json.Marshal(string(raw))
	return s
}

// contentParts converts message content: a string, or an array of blocks.
func contentParts(raw json.RawMessage) []part {
	if len(raw) == 0 {
		return []part{}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []part{textPart("text", s)}
	}
	var blocks []apiBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return []part{}
	}
	parts := make([]part, 0, len(blocks))
	for _, b := range blocks {
		parts = append(parts, toPart(b))
	}
	return parts
}

// setInputContent sets gen_ai.input.messages and gen_ai.system_instructions
// from a request body.
func setInputContent(span trace.Span, body []byte) {
	var rc requestContent
	if json.Unmarshal(body, &rc) != nil {
		return
	}
	msgs := make([]chatMessage, 0, len(rc.Messages))
	for _, m := range rc.Messages {
		msgs = append(msgs, chatMessage{Role: m.Role, Parts: contentParts(m.Content)})
	}
	if out, err := json.Marshal(msgs); err == nil {
		span.SetAttributes(keyInputMessages.String(string(out)))
	}
	if len(rc.System) > 0 && string(rc.System) != "null" {
		if out, err := json.Marshal(contentParts(rc.System)); err == nil {
			span.SetAttributes(keySystemInstructions.String(string(out)))
		}
	}
}

// outputMessages returns gen_ai.output.messages for the answer recorded so
// far. finish_reason is left out when the response had no stop reason.
func (r *recorder) outputMessages() string {
	var parts []part
	if r.jsonBlocks != nil {
		parts = make([]part, 0, len(r.jsonBlocks))
		for _, b := range r.jsonBlocks {
			parts = append(parts, toPart(b))
		}
	} else {
		parts = make([]part, 0, len(r.blocks))
		for _, sb := range r.blocks {
			if sb == nil {
				continue
			}
			b := sb.start
			switch b.Type {
			case "text":
				b.Text += string(sb.text)
			case "thinking":
				b.Thinking += string(sb.text)
			}
			if len(sb.partial) > 0 {
				b.Input = sb.partial
			}
			parts = append(parts, toPart(b))
		}
	}
	msg := chatMessage{Role: "assistant", Parts: parts}
	if r.hasStop {
		msg.FinishReason = r.stopReason
	}
	out, err := json.Marshal([]chatMessage{msg})
	if err != nil {
		return ""
	}
	return string(out)
}
