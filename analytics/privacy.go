package analytics

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
)

// Redacted is what Redact puts in place of each match.
const Redacted = "[REDACTED]"

// CompileRedactions compiles redaction patterns (Go regexp syntax). A bad
// pattern is an EInvalid error that names it.
func CompileRedactions(patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, Errorf(EInvalid, "redaction pattern %q: %v", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// StripContent removes what a call said from r, keeping what is known
// about it: the raw request, response and stream bodies go, and so do the
// text of every content block of the response and of the request summary,
// the error message (an API's, an Agent SDK result's errors, an OTLP
// span's status message or exception), the stop sequence that fired and
// the request's stop sequences and a refusal's explanation (Anthropic's
// text, which may quote what was asked), while block types, tool names,
// stop reasons, the rest of stop_details (type, category, recommended
// model), error types, flags, causes, usage and identities stay. Classify must run
// first, on the full record, so that flags such as empty_turn are still
// derived from the content.
func StripContent(r *Record) {
	r.RequestBody = nil
	r.ResponseBody = nil
	r.StreamBody = ""
	r.ErrorMessage = ""
	r.StopSequence = ""
	if r.StopDetails != nil {
		r.StopDetails.Explanation = ""
	}
	for i := range r.Content {
		r.Content[i].Text = ""
	}
	if r.Req != nil {
		r.Req.StopSequences = nil
		for i := range r.Req.Messages {
			for j := range r.Req.Messages[i].Blocks {
				r.Req.Messages[i].Blocks[j].Text = ""
			}
		}
	}
}

// Redact replaces every match of the patterns with Redacted in each field
// StripContent removes: r's content text, request summary, error message,
// stop sequences, refusal explanation and bodies. JSON bodies are
// rewritten string by string, so that a pattern can never break their
// syntax; a body that is not valid JSON is dropped rather than kept
// unredacted. Stream transcripts are redacted line by line, their data
// lines as JSON where they are JSON.
func Redact(r *Record, patterns []*regexp.Regexp) {
	if len(patterns) == 0 {
		return
	}
	red := func(s string) string { return redactString(s, patterns) }
	for i := range r.Content {
		r.Content[i].Text = red(r.Content[i].Text)
	}
	if r.Req != nil {
		for i := range r.Req.StopSequences {
			r.Req.StopSequences[i] = red(r.Req.StopSequences[i])
		}
		for i := range r.Req.Messages {
			for j := range r.Req.Messages[i].Blocks {
				b := &r.Req.Messages[i].Blocks[j]
				b.Text = red(b.Text)
			}
		}
	}
	r.ErrorMessage = red(r.ErrorMessage)
	r.StopSequence = red(r.StopSequence)
	if r.StopDetails != nil {
		r.StopDetails.Explanation = red(r.StopDetails.Explanation)
	}
	r.RequestBody = redactJSON(r.RequestBody, patterns)
	r.ResponseBody = redactJSON(r.ResponseBody, patterns)
	r.StreamBody = redactStream(r.StreamBody, patterns)
}

func redactString(s string, patterns []*regexp.Regexp) string {
	for _, re := range patterns {
		s = re.ReplaceAllLiteralString(s, Redacted)
	}
	return s
}

// redactJSON redacts every string (keys too) of a JSON document, keeping
// the order of its members and its numbers as they were.
func redactJSON(body json.RawMessage, patterns []*regexp.Regexp) json.RawMessage {
	if len(body) == 0 {
		return body
	}
	out, ok := redactJSONBytes(body, patterns)
	if !ok {
		return nil
	}
	return out
}

func redactJSONBytes(body []byte, patterns []*regexp.Regexp) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var buf bytes.Buffer
	buf.Grow(len(body))
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// One entry per open container: whether it is an object, and how many
	// tokens it has had, which says whether a comma or colon comes next.
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			buf.WriteByte(byte(d))
			continue
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			switch {
			case top.object && top.n%2 == 1:
				buf.WriteByte(':')
			case top.n > 0:
				buf.WriteByte(',')
			}
			top.n++
		} else if buf.Len() > 0 {
			return nil, false // more than one document
		}
		switch v := tok.(type) {
		case json.Delim:
			buf.WriteByte(byte(v))
			stack = append(stack, frame{object: v == '{'})
		case string:
			if err := enc.Encode(redactString(v, patterns)); err != nil {
				return nil, false
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
		case json.Number:
			buf.WriteString(v.String())
		case bool:
			if v {
				buf.WriteString("true")
			} else {
				buf.WriteString("false")
			}
		case nil:
			buf.WriteString("null")
		}
	}
	if len(stack) != 0 || buf.Len() == 0 {
		return nil, false
	}
	return buf.Bytes(), true
}

// redactStream redacts a server-sent event transcript: the payload of a
// "data:" line that is JSON is redacted as JSON, any other line as text.
func redactStream(s string, patterns []*regexp.Regexp) string {
	if s == "" {
		return s
	}
	lines := strings.SplitAfter(s, "\n")
	for i, line := range lines {
		body := strings.TrimRight(line, "\r\n")
		eol := line[len(body):]
		if rest, ok := strings.CutPrefix(body, "data:"); ok {
			payload := strings.TrimLeft(rest, " ")
			if out, ok := redactJSONBytes([]byte(payload), patterns); ok {
				lines[i] = body[:len(body)-len(payload)] + string(out) + eol
				continue
			}
		}
		lines[i] = redactString(body, patterns) + eol
	}
	return strings.Join(lines, "")
}
