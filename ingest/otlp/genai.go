package otlp

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The GenAI conventions' gen_ai.input.messages and gen_ai.output.messages
// are JSON strings of a few KB per span, and parsing them was most of the
// cost of a trace export. They are read here with jsontext, token by token,
// into a reused scratch space, with every string and raw value kept as a
// substring of the attribute instead of a copy.
//
// The result must be exactly what encoding/json made of them before (records
// stay identical), so the fast reader only accepts what it can read the same
// way: anything unusual (a name differing from a field's only in case, a
// repeated field, a value of the wrong type, invalid UTF-8, a syntax error)
// sends the whole attribute to encoding/json, which then decides.

// genAIMessage is an entry of gen_ai.input.messages / gen_ai.output.messages.
// Its parts are genAIScratch.parts[partsStart:partsEnd].
type genAIMessage struct {
	role, finishReason   string
	partsStart, partsEnd int
}

// genAIPart is a message part. content, response and result are raw JSON
// values as they were written ("" when absent), as json.RawMessage kept them.
type genAIPart struct {
	typ, name                 string
	content, response, result string
}

// genAIScratch holds one parse's messages and the buffers reused from one
// parse to the next.
type genAIScratch struct {
	msgs  []genAIMessage
	parts []genAIPart

	in  bytes.Buffer // the decoder reads the attribute from a copy
	dec *jsontext.Decoder
	unq []byte // unquoting buffer

	// validated is true while what is read comes from the fast reader:
	// jsontext has checked its strings are valid UTF-8 with valid escapes.
	validated bool
}

var genAIScratchPool = sync.Pool{New: func() any {
	return &genAIScratch{dec: jsontext.NewDecoder(bytes.NewReader(nil))}
}}

// decodeOpts leaves duplicate names to the reader (it checks only the
// fields it reads, as encoding/json ignores duplicates of other names).
var decodeOpts = []jsontext.Options{jsontext.AllowDuplicateNames(true)}

func getGenAIScratch() *genAIScratch { return genAIScratchPool.Get().(*genAIScratch) }

// release returns p to the pool without keeping the attributes it read alive.
func (p *genAIScratch) release() {
	p.reset()
	if p.in.Cap() > 64<<10 {
		p.in = bytes.Buffer{} // do not pin one huge attribute's copy
	}
	genAIScratchPool.Put(p)
}

func (p *genAIScratch) reset() {
	clear(p.msgs)
	clear(p.parts)
	p.msgs, p.parts = p.msgs[:0], p.parts[:0]
}

// messageParts returns m's parts.
func (p *genAIScratch) messageParts(m genAIMessage) []genAIPart {
	return p.parts[m.partsStart:m.partsEnd]
}

// parse reads s, a JSON array of GenAI messages, into p.msgs and p.parts. ok
// is false where encoding/json.Unmarshal into a []genAIMessage fails.
func (p *genAIScratch) parse(s string) (ok bool) {
	p.reset()
	p.validated = false
	t := strings.TrimLeft(s, " \t\r\n")
	if t == "" {
		return false // an absent attribute: nothing to parse
	}
	if t[0] == '[' {
		p.validated = true
		if ok, sure := p.parseFast(s); sure {
			return ok
		}
		p.reset()
		p.validated = false
	}
	return p.parseSlow(s)
}

// parseSlow reads s with encoding/json, as it always was.
func (p *genAIScratch) parseSlow(s string) bool {
	type part struct {
		Type     string          `json:"type"`
		Content  json.RawMessage `json:"content"`
		Name     string          `json:"name"`
		Response json.RawMessage `json:"response"`
		Result   json.RawMessage `json:"result"`
	}
	type message struct {
		Role         string `json:"role"`
		Parts        []part `json:"parts"`
		FinishReason string `json:"finish_reason"`
	}
	var ms []message
	if json.Unmarshal([]byte(s), &ms) != nil {
		return false
	}
	for _, m := range ms {
		start := len(p.parts)
		for _, pt := range m.Parts {
			p.parts = append(p.parts, genAIPart{typ: pt.Type, name: pt.Name,
				content: string(pt.Content), response: string(pt.Response), result: string(pt.Result)})
		}
		p.msgs = append(p.msgs, genAIMessage{role: m.Role, finishReason: m.FinishReason, partsStart: start, partsEnd: len(p.parts)})
	}
	return true
}

// parseFast reads s with jsontext. sure is false when s must be left to
// encoding/json; ok is meaningful only when sure.
func (p *genAIScratch) parseFast(s string) (ok, sure bool) {
	p.in.Reset()
	p.in.WriteString(s)
	r := fastReader{s: s, dec: p.dec, p: p}
	r.dec.Reset(&p.in, decodeOpts...)
	if tok, err := r.dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return false, false
	}
	for {
		switch r.dec.PeekKind() {
		case ']':
			if _, err := r.dec.ReadToken(); err != nil {
				return false, false
			}
			// Only whitespace may follow, as for encoding/json.
			if _, err := r.dec.ReadToken(); err != io.EOF {
				return false, false
			}
			return true, true
		case 'n':
			if _, err := r.dec.ReadValue(); err != nil {
				return false, false
			}
			p.msgs = append(p.msgs, genAIMessage{partsStart: len(p.parts), partsEnd: len(p.parts)})
		case '{':
			if !r.message() {
				return false, false
			}
		default:
			return false, false
		}
	}
}

// fastReader reads with dec a copy of s, so that what it reads can be cut
// out of s itself at the decoder's offsets.
type fastReader struct {
	s   string
	dec *jsontext.Decoder
	p   *genAIScratch
}

// Field names of genAIMessage and genAIPart as encoding/json matched them.
var (
	messageFields = []string{"role", "parts", "finish_reason"}
	partFields    = []string{"type", "content", "name", "response", "result"}
)

// field reads an object member's name and returns its index in fields, or
// -1 for a name that is none of them. It fails when the name is escaped, or
// when it is none of fields but encoding/json would match it to one of them
// (case-insensitively).
func (r *fastReader) field(fields []string) (int, bool) {
	raw, ok := r.raw()
	if !ok || strings.IndexByte(raw, '\\') >= 0 {
		return 0, false
	}
	name := raw[1 : len(raw)-1]
	if i := slices.Index(fields, name); i >= 0 {
		return i, true
	}
	for _, f := range fields {
		if strings.EqualFold(name, f) {
			return 0, false
		}
	}
	return -1, true
}

// raw reads the next value and returns it as it is written in s.
func (r *fastReader) raw() (string, bool) {
	v, err := r.dec.ReadValue()
	if err != nil {
		return "", false
	}
	end := int(r.dec.InputOffset())
	return r.s[end-len(v) : end], true
}

// str reads a string or null (which leaves *dst as it is, as encoding/json
// does), failing on any other value.
func (r *fastReader) str(dst *string) bool {
	raw, ok := r.raw()
	if !ok {
		return false
	}
	switch raw[0] {
	case 'n':
		return true
	case '"':
		s, ok := r.p.unquote(raw)
		*dst = s
		return ok
	}
	return false
}

// object reads an object: member reads the value of each member named in
// fields, given the name's index, and the others are skipped. It fails on a
// name given twice: encoding/json would keep the last, which the fast
// reader leaves to it.
func (r *fastReader) object(fields []string, member func(i int) bool) bool {
	if _, err := r.dec.ReadToken(); err != nil { // the '{', peeked
		return false
	}
	var seen uint64
	for {
		switch r.dec.PeekKind() {
		case '}':
			_, err := r.dec.ReadToken()
			return err == nil
		case '"':
		default:
			return false
		}
		i, ok := r.field(fields)
		switch {
		case !ok:
			return false
		case i < 0:
			if r.dec.SkipValue() != nil {
				return false
			}
		case seen&(1<<i) != 0 || !member(i):
			return false
		default:
			seen |= 1 << i
		}
	}
}

func (r *fastReader) message() bool {
	m := genAIMessage{partsStart: len(r.p.parts)}
	ok := r.object(messageFields, func(i int) bool {
		switch messageFields[i] {
		case "role":
			return r.str(&m.role)
		case "parts":
			return r.parts()
		default: // finish_reason
			return r.str(&m.finishReason)
		}
	})
	if !ok {
		return false
	}
	m.partsEnd = len(r.p.parts)
	r.p.msgs = append(r.p.msgs, m)
	return true
}

// parts reads a message's parts: an array, or null (none).
func (r *fastReader) parts() bool {
	switch r.dec.PeekKind() {
	case 'n':
		_, err := r.dec.ReadValue()
		return err == nil
	case '[':
		if _, err := r.dec.ReadToken(); err != nil {
			return false
		}
	default:
		return false
	}
	for {
		switch r.dec.PeekKind() {
		case ']':
			_, err := r.dec.ReadToken()
			return err == nil
		case 'n':
			if _, err := r.dec.ReadValue(); err != nil {
				return false
			}
			r.p.parts = append(r.p.parts, genAIPart{})
		case '{':
			if !r.part() {
				return false
			}
		default:
			return false
		}
	}
}

func (r *fastReader) part() bool {
	var pt genAIPart
	ok := r.object(partFields, func(i int) (ok bool) {
		switch partFields[i] {
		case "type":
			return r.str(&pt.typ)
		case "name":
			return r.str(&pt.name)
		case "content":
			pt.content, ok = r.raw()
		case "response":
			pt.response, ok = r.raw()
		default: // result
			pt.result, ok = r.raw()
		}
		return ok
	})
	if !ok {
		return false
	}
	r.p.parts = append(r.p.parts, pt)
	return true
}

// unquote decodes a JSON string literal as encoding/json does: without
// copying when it has no escapes, with jsontext when it is valid, and with
// encoding/json otherwise (which replaces invalid UTF-8 and lone
// surrogates). ok is false only when raw is not a string at all.
func (p *genAIScratch) unquote(raw string) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 && (p.validated || utf8.ValidString(inner)) {
		return inner, true
	}
	b, err := jsontext.AppendUnquote(p.unq[:0], raw)
	p.unq = b
	if err == nil {
		return string(b), true
	}
	return unquoteV1(raw)
}

// unquoteV1 decodes a JSON string literal with encoding/json, which replaces
// invalid UTF-8 and lone surrogates where jsontext fails.
func unquoteV1(raw string) (string, bool) {
	var s string
	if json.Unmarshal([]byte(raw), &s) != nil {
		return "", false
	}
	return s, true
}
