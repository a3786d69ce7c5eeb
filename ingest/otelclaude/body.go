package otelclaude

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/stopscope/stopscope/ingest/sse"
)

// tracedBody is the response body handed to the SDK. Every byte read passes
// through unchanged; a copy goes to the SSE parser (streams) or to a buffer
// (plain JSON, parsed at the end). The span ends at EOF, on a read error, or
// on Close, whichever comes first.
type tracedBody struct {
	rc  io.ReadCloser
	rec *recorder
	sse *sseParser // nil for a plain JSON body
}

// Read implements io.Reader.
func (b *tracedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.rec.observe(b.sse, p[:n])
	}
	if err == io.EOF {
		b.rec.finish(nil)
	} else if err != nil {
		b.rec.finish(err)
	}
	return n, err
}

// Close implements io.Closer. Closing before EOF ends the span without an
// error: the application stopped reading.
func (b *tracedBody) Close() error {
	b.rec.finish(errClosedEarly)
	return b.rc.Close()
}

var errClosedEarly = errors.New("body closed before EOF")

// recorder collects what a response says about the call and writes it to the
// span when the body ends. mu guards everything: an application may Close
// the body from another goroutine while a Read is in progress.
type recorder struct {
	span    trace.Span
	content bool

	mu     sync.Mutex
	done   bool
	broken bool         // a panic while observing; stop observing, keep passing bytes
	js     bytes.Buffer // plain JSON body
	jsOver bool         // the JSON body exceeded maxJSONBodyBytes

	id, model  string
	stopReason string
	hasStop    bool
	usage      usage
	errType    string
	errMsg     string
	started    bool           // message_start seen (stream) or body parsed (JSON)
	blocks     []*streamBlock // output content, only with content on
	jsonBlocks []apiBlock
}

// usage holds Anthropic's token counts and whether the response had each.
type usage struct {
	input, output, cacheRead, cacheCreation             int64
	hasInput, hasOutput, hasCacheRead, hasCacheCreation bool
	// cacheCreation1h is usage.cache_creation.ephemeral_1h_input_tokens.
	cacheCreation1h    int64
	hasCacheCreation1h bool
}

// apiUsage is the usage object of a Message, message_start or message_delta.
// Pointers tell a missing or null count from a zero one.
type apiUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	CacheCreation            *struct {
		Ephemeral1hInputTokens *int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
}

// merge takes the counts that u has. withOutput is false for message_start,
// whose output_tokens is a placeholder for a message yet to stream.
func (dst *usage) merge(u apiUsage, withOutput bool) {
	if u.InputTokens != nil {
		dst.input, dst.hasInput = *u.InputTokens, true
	}
	if u.CacheReadInputTokens != nil {
		dst.cacheRead, dst.hasCacheRead = *u.CacheReadInputTokens, true
	}
	if u.CacheCreationInputTokens != nil {
		dst.cacheCreation, dst.hasCacheCreation = *u.CacheCreationInputTokens, true
	}
	if u.CacheCreation != nil && u.CacheCreation.Ephemeral1hInputTokens != nil {
		dst.cacheCreation1h, dst.hasCacheCreation1h = *u.CacheCreation.Ephemeral1hInputTokens, true
	}
	if withOutput && u.OutputTokens != nil {
		dst.output, dst.hasOutput = *u.OutputTokens, true
	}
}

// apiMessage is a Message: a plain response body, or message_start's message.
type apiMessage struct {
	ID         string     `json:"id"`
	Model      string     `json:"model"`
	StopReason *string    `json:"stop_reason"`
	Usage      apiUsage   `json:"usage"`
	Content    []apiBlock `json:"content"`
}

// observe hands bytes the application just read to the parser.
func (r *recorder) observe(sse *sseParser, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || r.broken {
		return
	}
	// Telemetry must never break the application's read.
	defer r.recoverInto()
	if sse != nil {
		sse.feed(p)
		return
	}
	if r.jsOver {
		return
	}
	if r.js.Len()+len(p) > maxJSONBodyBytes {
		r.jsOver = true
		r.js = bytes.Buffer{}
		return
	}
	r.js.Write(p)
}

func (r *recorder) recoverInto() {
	if v := recover(); v != nil {
		r.broken = true
		otel.Handle(fmt.Errorf("otelclaude: recording response: %v", v))
	}
}

// finish writes the collected attributes and ends the span, once. readErr
// is nil at EOF, errClosedEarly when the application closed the body, or the
// error that failed a read.
func (r *recorder) finish(readErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	r.done = true
	defer r.span.End()
	defer r.recoverInto()

	if !r.broken && r.js.Len() > 0 && readErr == nil {
		var m apiMessage
		if json.Unmarshal(r.js.Bytes(), &m) == nil {
			r.takeMessage(&m, true)
		}
		r.js = bytes.Buffer{}
	}
	r.span.SetAttributes(r.attributes()...)
	if r.content && r.started {
		if out := r.outputMessages(); out != "" {
			r.span.SetAttributes(keyOutputMessages.String(out))
		}
	}
	switch {
	case r.errType != "":
		msg := r.errType
		if r.errMsg != "" {
			msg += ": " + r.errMsg
		}
		fail(r.span, r.errType, msg)
	case readErr == nil, errors.Is(readErr, errClosedEarly), errors.Is(readErr, context.Canceled):
		// Success, or the application stopped reading: no error status.
	default:
		fail(r.span, transportErrorType(readErr), readErr.Error())
	}
}

// takeMessage records a Message. complete is false for message_start.
func (r *recorder) takeMessage(m *apiMessage, complete bool) {
	r.started = true
	r.id, r.model = m.ID, m.Model
	if complete && m.StopReason != nil {
		r.stopReason, r.hasStop = *m.StopReason, true
	}
	r.usage.merge(m.Usage, complete)
	if complete && r.content {
		r.jsonBlocks = m.Content
	}
}

func (r *recorder) attributes() []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8)
	if r.id != "" {
		attrs = append(attrs, keyResponseID.String(r.id))
	}
	if r.model != "" {
		attrs = append(attrs, keyResponseModel.String(r.model))
	}
	if r.hasStop {
		// The raw value, never mapped: stopscope sorts by exactly this.
		attrs = append(attrs,
			keyFinishReasons.StringSlice([]string{r.stopReason}),
			keyStopReason.String(r.stopReason))
	}
	u := r.usage
	if u.hasInput || u.hasCacheRead || u.hasCacheCreation {
		// The conventions count cached input tokens as input tokens; Anthropic does not.
		attrs = append(attrs, keyUsageInput.Int64(u.input+u.cacheRead+u.cacheCreation))
	}
	if u.hasOutput {
		attrs = append(attrs, keyUsageOutput.Int64(u.output))
	}
	if u.hasCacheRead {
		attrs = append(attrs, keyUsageCacheRead.Int64(u.cacheRead))
	}
	if u.hasCacheCreation {
		attrs = append(attrs, keyUsageCacheCreation.Int64(u.cacheCreation))
	}
	if u.hasCacheCreation1h {
		attrs = append(attrs, keyUsageCacheCreation1h.Int64(u.cacheCreation1h))
	}
	return attrs
}

// Stream events. The zero value is an event without an "event:" line.
type eventKind uint8

const (
	evNone eventKind = iota
	evMessageStart
	evMessageDelta
	evMessageStop
	evBlockStart
	evBlockDelta
	evBlockStop
	evError
	evPing
	evOther
)

func kindOf(name []byte) eventKind {
	// A switch on string(name) does not allocate.
	switch string(name) {
	case "message_start":
		return evMessageStart
	case "message_delta":
		return evMessageDelta
	case "message_stop":
		return evMessageStop
	case "content_block_start":
		return evBlockStart
	case "content_block_delta":
		return evBlockDelta
	case "content_block_stop":
		return evBlockStop
	case "error":
		return evError
	case "ping":
		return evPing
	case "":
		return evNone
	}
	return evOther
}

// wants reports whether the data of a kind of event is worth copying. Text
// deltas, the bulk of a stream, are skipped unless content is recorded.
func (r *recorder) wants(k eventKind) bool {
	switch k {
	case evNone, evMessageStart, evMessageDelta, evError:
		return true
	case evBlockStart, evBlockDelta:
		return r.content
	}
	return false
}

// sseParser hands the events of a text/event-stream to the recorder as its
// bytes pass, read by sse.Reader the way the SDK's decoder reads them. It
// holds only the current line and the data of the current event when the
// recorder wants it; a line longer than the SDK reads is dropped.
type sseParser struct {
	rec *recorder
	r   sse.Reader
}

func newSSEParser(rec *recorder) *sseParser {
	p := &sseParser{rec: rec}
	p.r.SkipLongLines = true
	p.r.Keep = func(typ []byte) bool { return rec.wants(kindOf(typ)) }
	return p
}

func (p *sseParser) feed(b []byte) {
	p.r.Feed(b)
	for p.r.Next() {
		kind, data := kindOf(p.r.Type()), p.r.Data()
		if kind == evNone && len(data) > 0 {
			// No event type: the data's own type names the event.
			var t struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(data, &t) == nil {
				kind = kindOf([]byte(t.Type))
			}
		}
		if p.rec.wants(kind) {
			p.rec.event(kind, data)
		}
	}
}

// streamBlock is one content block of a streamed answer, built from its
// content_block_start and deltas (only with content on).
type streamBlock struct {
	start   apiBlock
	text    []byte
	partial []byte // input_json_delta fragments
}

type blockStartEvent struct {
	Index        int      `json:"index"`
	ContentBlock apiBlock `json:"content_block"`
}

type blockDeltaEvent struct {
	Index int `json:"index"`
	Delta struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Thinking    string `json:"thinking"`
		PartialJSON string `json:"partial_json"`
	} `json:"delta"`
}

type messageDeltaEvent struct {
	Delta struct {
		StopReason *string `json:"stop_reason"`
	} `json:"delta"`
	Usage apiUsage `json:"usage"`
}

// maxStreamBlocks bounds the blocks kept for content so that a bogus index
// cannot make us allocate without limit.
const maxStreamBlocks = 4096

// event records one stream event. Decoding errors drop the event: the
// application sees the same bytes and deals with them.
func (r *recorder) event(kind eventKind, data []byte) {
	switch kind {
	case evMessageStart:
		var e struct {
			Message apiMessage `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil {
			r.takeMessage(&e.Message, false)
		}
	case evMessageDelta:
		var e messageDeltaEvent
		if json.Unmarshal(data, &e) == nil {
			if e.Delta.StopReason != nil {
				r.stopReason, r.hasStop = *e.Delta.StopReason, true
			}
			// message_delta's usage is cumulative; it may repeat the input counts.
			r.usage.merge(e.Usage, true)
		}
	case evError:
		var e apiErrorEnvelope
		_ = json.Unmarshal(data, &e)
		r.errType, r.errMsg = e.Error.Type, e.Error.Message
		if r.errType == "" {
			r.errType = errorTypeOther
		}
	case evBlockStart:
		var e blockStartEvent
		if json.Unmarshal(data, &e) == nil && e.Index >= 0 && e.Index < maxStreamBlocks {
			for len(r.blocks) <= e.Index {
				r.blocks = append(r.blocks, nil)
			}
			r.blocks[e.Index] = &streamBlock{start: e.ContentBlock}
		}
	case evBlockDelta:
		var e blockDeltaEvent
		if json.Unmarshal(data, &e) != nil || e.Index < 0 || e.Index >= len(r.blocks) || r.blocks[e.Index] == nil {
			return
		}
		b := r.blocks[e.Index]
		switch e.Delta.Type {
		case "text_delta":
			b.text = append(b.text, e.Delta.Text...)
		case "thinking_delta":
			b.text = append(b.text, e.Delta.Thinking...)
		case "input_json_delta":
			b.partial = append(b.partial, e.Delta.PartialJSON...)
		}
	}
}
