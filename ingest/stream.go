package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/stopscope/stopscope/analytics"
)

// sseHeader is the header of the response a transcript is replayed from;
// it is only read.
var sseHeader = http.Header{"Content-Type": {"text/event-stream"}}

// stream replays an SSE transcript of a streamed Messages API call as the
// SDK does: ssestream decodes the events, and Message.Accumulate applies
// them. stop_reason is null until message_delta brings it, so a stream cut
// before it keeps a null stop reason. A stream that ends in an error event
// is a failed request.
func (d *decoder) stream(transcript string) (rec *analytics.Record, err error) {
	res := &http.Response{
		StatusCode: http.StatusOK,
		Header:     sseHeader,
		// The SDK's decoder dispatches an event on a blank line only; the
		// extra one keeps the last event of a transcript cut without it.
		Body: io.NopCloser(io.MultiReader(strings.NewReader(transcript), strings.NewReader("\n\n"))),
	}
	dec := ssestream.NewDecoder(res)
	defer dec.Close()

	var (
		acc      anthropic.Message
		started  bool
		stopped  bool
		apiError *wireErrorBody
		n        int // events read, for errors
	)
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
		pending   anthropic.MessageStreamEventUnion
		pendingN  int // the event that began it, for errors
		pendingSB strings.Builder
	)
	flush := func() error {
		if pendingN == 0 {
			return nil
		}
		joined := pendingSB.String()
		switch pending.Delta.Type {
		case "text_delta":
			pending.Delta.Text = joined
		case "input_json_delta":
			pending.Delta.PartialJSON = joined
		case "thinking_delta":
			pending.Delta.Thinking = joined
		case "signature_delta":
			pending.Delta.Signature = joined
		}
		err := acc.Accumulate(pending)
		if err != nil {
			err = fmt.Errorf("stream: event %d (content_block_delta): %v", pendingN, err)
		}
		pendingN = 0
		pendingSB.Reset()
		return err
	}
events:
	for dec.Next() {
		ev := dec.Event()
		n++
		switch ev.Type {
		case "", "ping":
			// As the SDK's Stream does.
			continue
		case "error":
			apiError = &wireErrorBody{}
			if err := json.Unmarshal(ev.Data, apiError); err != nil {
				return nil, describeJSONError(err, fmt.Sprintf("stream: event %d (error)", n))
			}
			break events
		}
		if len(bytes.TrimSpace(ev.Data)) == 0 {
			continue
		}
		e, ok := fastEvent(ev.Type, ev.Data)
		if ok && useFastEvents && started && e.Type == "content_block_delta" {
			if pendingN != 0 && (pending.Index != e.Index || pending.Delta.Type != e.Delta.Type) {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			if pendingN == 0 {
				pending, pendingN = e, n
			}
			pendingSB.WriteString(e.Delta.Text + e.Delta.PartialJSON + e.Delta.Thinking + e.Delta.Signature)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		if !ok || !useFastEvents {
			e = anthropic.MessageStreamEventUnion{}
			if err := json.Unmarshal(ev.Data, &e); err != nil {
				return nil, fmt.Errorf("stream: event %d (%s) is not valid JSON: %v", n, clipEvent(ev.Type), err)
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
		if err := acc.Accumulate(e); err != nil {
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
	if err := dec.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
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

// fastEvent decodes the events for which Accumulate reads only the fields
// it is given here, with encoding/json, which is many times faster than the
// SDK's decoder. It reports false for every other event (and any surprise),
// which the SDK's decoder then reads: message_start, content_block_start
// and message_delta, whose raw JSON Accumulate keeps, citations, and
// whatever comes in future.
func fastEvent(name string, data []byte) (anthropic.MessageStreamEventUnion, bool) {
	var e anthropic.MessageStreamEventUnion
	switch name {
	case "content_block_delta", "content_block_stop", "message_stop":
	default:
		return e, false
	}
	var w wireDeltaEvent
	if json.Unmarshal(data, &w) != nil || w.Type != name {
		return e, false
	}
	e.Type = w.Type
	switch w.Type {
	case "content_block_delta":
		switch w.Delta.Type {
		case "text_delta", "input_json_delta", "thinking_delta", "signature_delta":
		default:
			return e, false
		}
		e.Delta.Type = w.Delta.Type
		e.Delta.Text = w.Delta.Text
		e.Delta.PartialJSON = w.Delta.PartialJSON
		e.Delta.Thinking = w.Delta.Thinking
		e.Delta.Signature = w.Delta.Signature
		fallthrough
	case "content_block_stop":
		if w.Index == nil {
			return e, false
		}
		e.Index = *w.Index
	}
	return e, true
}
