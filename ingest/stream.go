package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/sse"
)

// stream replays an SSE transcript of a streamed Messages API call as the
// SDK does: sse.Reader reads the events as the SDK's ssestream decoder
// would, and Message.Accumulate applies them. stop_reason is null until
// message_delta brings it, so a stream cut before it keeps a null stop
// reason. A stream that ends in an error event is a failed request.
func (d *decoder) stream(transcript string) (rec *analytics.Record, err error) {
	// One copy of the transcript, which every event's data is sliced from.
	events := sse.NewReader([]byte(transcript))

	var (
		acc      anthropic.Message
		started  bool
		stopped  bool
		apiError *wireErrorBody
		n        int // events read, for errors
		sdkEvent *anthropic.MessageStreamEventUnion
	)
	defer func() {
		if sdkEvent != nil {
			*sdkEvent = anthropic.MessageStreamEventUnion{}
			sdkEvents.Put(sdkEvent)
		}
	}()
	defer func() {
		// Accumulate is the SDK's code and this is input from anyone: a
		// transcript it cannot take costs one record, never the server.
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("stream: event %d could not be replayed: %v", n, p)
		}
	}()
	// Consecutive deltas to one block are joined before Accumulate sees
	// them: it appends each to a string, which is quadratic in their
	// number, and a transcript may hold tens of thousands.
	var (
		pending   deltaEvent
		pendingN  int // the event that began it, for errors
		pendingSB []byte
	)
	flush := func() error {
		if pendingN == 0 {
			return nil
		}
		err := acc.Accumulate(pending.union(string(pendingSB)))
		if err != nil {
			err = fmt.Errorf("stream: event %d (content_block_delta): %v", pendingN, err)
		}
		pendingN = 0
		pendingSB = pendingSB[:0]
		return err
	}
events:
	for events.Next() {
		typ, data := events.Type(), events.Data()
		n++
		switch string(typ) {
		case "", "ping":
			// As the SDK's Stream does.
			continue
		case "error":
			apiError = &wireErrorBody{}
			if err := unmarshal(data, apiError); err != nil {
				return nil, describeJSONError(err, fmt.Sprintf("stream: event %d (error)", n))
			}
			break events
		}
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		f, ok := fastEvent(typ, data)
		if ok && useFastEvents && started && f.typ == "content_block_delta" {
			if pendingN != 0 && (pending.index != f.index || pending.deltaType != f.deltaType) {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			if pendingN == 0 {
				pending, pendingN = f, n
			}
			pendingSB = append(pendingSB, f.text...)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		var e *anthropic.MessageStreamEventUnion
		if ok && useFastEvents {
			u := f.union(f.text)
			e = &u
		} else {
			if sdkEvent == nil {
				sdkEvent = sdkEvents.Get().(*anthropic.MessageStreamEventUnion)
			} else {
				*sdkEvent = anthropic.MessageStreamEventUnion{}
			}
			e = sdkEvent
			if err := json.Unmarshal(data, e); err != nil {
				return nil, fmt.Errorf("stream: event %d (%s) is not valid JSON: %v", n, clipEvent(string(typ)), err)
			}
		}
		switch {
		case e.Type == "message_start" && started:
			return nil, fmt.Errorf("stream: event %d is a second message_start", n)
		case e.Type == "message_start":
			started = true
		case !started:
			return nil, fmt.Errorf("stream: event %d (%s) comes before message_start", n, clipEvent(e.Type))
		}
		if err := acc.Accumulate(*e); err != nil {
			return nil, fmt.Errorf("stream: event %d (%s): %v", n, clipEvent(e.Type), err)
		}
		if e.Type == "message_stop" {
			stopped = true
			break events
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := events.Err(); err != nil {
		if errors.Is(err, sse.ErrTooLong) {
			return nil, fmt.Errorf("stream: event %d has a line too long to read", n+1)
		}
		return nil, fmt.Errorf("stream: %v", err)
	}
	if !started && apiError == nil {
		return nil, errors.New("stream: no message_start event: expected a server-sent event transcript of a Messages API stream")
	}

	if started {
		if !stopped {
			// Accumulate writes the content into the message's JSON at
			// message_stop only; a cut stream still has content to keep.
			if err := acc.Accumulate(anthropic.MessageStreamEventUnion{Type: "message_stop"}); err != nil {
				return nil, fmt.Errorf("stream: %v", err)
			}
		}
		raw := acc.RawJSON()
		if len(raw) == 0 || raw[0] != '{' {
			return nil, errors.New("stream: message_start carries no message object")
		}
		if rec, err = d.message([]byte(raw), "stream message"); err != nil {
			return nil, err
		}
	} else {
		rec = &analytics.Record{Kind: analytics.KindMessage}
	}
	rec.Streamed = true
	rec.StreamBody = transcript
	if apiError != nil {
		rec.Kind = analytics.KindError
		rec.ErrorType = apiError.Error.Type
		rec.ErrorMessage = apiError.Error.Message
		if apiError.RequestID != "" {
			rec.RequestID = apiError.RequestID
		}
		// The HTTP status of a stream is 200: it failed after it began,
		// so no status is recorded.
		if err := d.checkIDs("stream", "error.type", rec.ErrorType, "request_id", rec.RequestID); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// sdkEvents holds the events the SDK decodes into: at 5 KiB each, one a
// stream would be most of what a small stream allocates.
var sdkEvents = sync.Pool{New: func() any { return new(anthropic.MessageStreamEventUnion) }}

func clipEvent(s string) string { return clip(s, 40) }

// useFastEvents is false only in the test that compares fastEvent with the
// SDK's decoder.
var useFastEvents = true

// wireDeltaEvent is the shape of the events that make up most of a stream:
// content_block_delta, content_block_stop and message_stop.
type wireDeltaEvent struct {
	Type  string `json:"type"`
	Index *int64 `json:"index"`
	Delta struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		Thinking    string `json:"thinking"`
		Signature   string `json:"signature"`
	} `json:"delta"`
}

// deltaEvent is what Accumulate reads of an event fastEvent decodes.
type deltaEvent struct {
	typ       string
	index     int64
	deltaType string
	// text is the delta's text, partial_json, thinking and signature, one
	// after the other: one of them, in any delta the API sends.
	text string
}

// union returns the event as the SDK's decoder gives it, as far as
// Accumulate reads it, with text as the delta's text of its type.
func (f *deltaEvent) union(text string) anthropic.MessageStreamEventUnion {
	e := anthropic.MessageStreamEventUnion{Type: f.typ, Index: f.index}
	e.Delta.Type = f.deltaType
	switch f.deltaType {
	case "text_delta":
		e.Delta.Text = text
	case "input_json_delta":
		e.Delta.PartialJSON = text
	case "thinking_delta":
		e.Delta.Thinking = text
	case "signature_delta":
		e.Delta.Signature = text
	}
	return e
}

// fastEvent decodes the events for which Accumulate reads only the fields
// of a deltaEvent, without the SDK's decoder, which is many times slower.
// It reports false for every other event (and any surprise), which the
// SDK's decoder then reads: message_start, content_block_start and
// message_delta, whose raw JSON Accumulate keeps, citations, and whatever
// comes in future.
func fastEvent(name, data []byte) (deltaEvent, bool) {
	switch string(name) {
	case "content_block_delta", "content_block_stop", "message_stop":
	default:
		return deltaEvent{}, false
	}
	var w wireDeltaEvent
	if unmarshal(data, &w) != nil || w.Type != string(name) {
		return deltaEvent{}, false
	}
	f := deltaEvent{typ: w.Type}
	switch w.Type {
	case "content_block_delta":
		switch w.Delta.Type {
		case "text_delta", "input_json_delta", "thinking_delta", "signature_delta":
		default:
			return deltaEvent{}, false
		}
		f.deltaType = w.Delta.Type
		f.text = w.Delta.Text + w.Delta.PartialJSON + w.Delta.Thinking + w.Delta.Signature
		fallthrough
	case "content_block_stop":
		if w.Index == nil {
			return deltaEvent{}, false
		}
		f.index = *w.Index
	}
	return f, true
}
