// Package sse reads server-sent events the way the official Go SDK's
// ssestream decoder reads a Messages API stream. It is stopscope's one SSE
// reader: native ingest replays stored transcripts with it, the otelclaude
// instrumentation reads live streams with it as they pass to the
// application, and the record page lists a transcript's events with it.
//
// It imports nothing but the standard library, so that otelclaude, a
// client library linked into users' applications, can use it without
// importing the rest of the service.
package sse

import (
	"bufio"
	"bytes"
)

// MaxLine is the length of the shortest line the SDK's decoder cannot
// read: its bufio.Scanner holds at most bufio.MaxScanTokenSize<<9 bytes, a
// line and its newline.
const MaxLine = bufio.MaxScanTokenSize << 9

// ErrTooLong is the error of a Reader that met a line of MaxLine bytes or
// more, as the SDK's decoder fails.
var ErrTooLong = bufio.ErrTooLong

// Reader reads the events of a server-sent event stream exactly as the
// SDK's ssestream decoder reads the stream followed by a blank line (which
// dispatches the last event of a stream cut without one): lines end in LF
// or CRLF; a blank line dispatches the event, if it has a type or data;
// "event" sets the type; each "data" line adds its value and a newline to
// the data; a line that starts with a colon, and any other field, is
// ignored.
//
// A Reader reads either a whole transcript (NewReader) or a stream given
// to it piece by piece (Feed, then Close at its end). It copies as little
// as it can: an event's type and data are slices of the input when they
// lie in one piece of it and the data is one line ending in LF, as nearly
// all are.
type Reader struct {
	// Keep, when set, is asked whether the data of an event of a type is
	// worth reading, once the event has a type: the data lines of an event
	// it refuses are dropped rather than copied, and the event comes with
	// no data. Events without a type keep their data.
	Keep func(typ []byte) bool
	// SkipLongLines makes a line of MaxLine bytes or more be dropped as if
	// it were not there, rather than end the reading with ErrTooLong.
	SkipLongLines bool

	src    []byte // the piece of input being read
	pos    int    // where the next line starts in src; see line
	closed bool   // no input follows src

	part     []byte // the start of a line split across pieces of input
	skipping bool   // the line being read is too long: drop it

	// The event being read. data is in buf when inBuf, else a slice of
	// src; typ is a slice of src or of typBuf.
	typ, data   []byte
	inBuf       bool
	buf, typBuf []byte
	// The event Next read.
	evTyp, evData []byte
	err           error
}

// NewReader returns a Reader of the whole transcript src.
func NewReader(src []byte) *Reader {
	return &Reader{src: src, closed: true}
}

// Feed gives the Reader the next piece of the stream: Next then reads the
// events it completes. The Reader keeps no reference to p once Next has
// reported false.
func (r *Reader) Feed(p []byte) {
	if !r.closed {
		r.src, r.pos = p, 0
	}
}

// Close marks the end of the stream: Next then reads the events that the
// end completes.
func (r *Reader) Close() {
	if !r.closed {
		r.src, r.pos, r.closed = nil, 0, true
	}
}

// Type returns the type of the event Next read, empty when it had no
// "event" line. It is valid until the next call of Next or Feed.
func (r *Reader) Type() []byte { return r.evTyp }

// Data returns the data of the event Next read: each data line's value
// followed by a newline. It is valid until the next call of Next or Feed.
func (r *Reader) Data() []byte { return r.evData }

// Err returns ErrTooLong if a line was too long for the SDK to read; the
// events before it are read.
func (r *Reader) Err() error { return r.err }

// Next reads the next event, for Type and Data. It reports false once the
// events of the input given so far are read (Feed may give more), at the
// end of the stream, or at a line too long.
func (r *Reader) Next() bool {
	for {
		line, end, ok := r.line()
		if !ok {
			r.detach()
			return false
		}
		if len(line) == 0 {
			if len(r.typ) == 0 && len(r.data) == 0 {
				continue
			}
			r.evTyp, r.evData = r.typ, r.data
			r.typ, r.data, r.inBuf = nil, nil, false
			return true
		}
		// "event: x" is the name "event" and the value "x"; one space
		// after the colon is not part of the value.
		name, value, _ := bytes.Cut(line, []byte(":"))
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(name) {
		case "event":
			if end < 0 {
				// The line is in part, which the next line reuses.
				r.typBuf = append(r.typBuf[:0], value...)
				value = r.typBuf
			}
			r.typ = value
		case "data":
			if len(r.typ) > 0 && r.Keep != nil && !r.Keep(r.typ) {
				continue
			}
			if len(r.data) == 0 && end >= 0 {
				// The value ends the line, and its LF follows it in src.
				r.data = r.src[end-len(value) : end+1]
				continue
			}
			if !r.inBuf {
				r.buf = append(r.buf[:0], r.data...)
				r.inBuf = true
			}
			r.buf = append(append(r.buf, value...), '\n')
			r.data = r.buf
		}
	}
}

// detach copies what the event being read holds of src, before Feed
// replaces it.
func (r *Reader) detach() {
	if r.closed {
		return
	}
	if len(r.typ) > 0 && !sameStart(r.typ, r.typBuf) {
		r.typBuf = append(r.typBuf[:0], r.typ...)
		r.typ = r.typBuf
	}
	if len(r.data) > 0 && !r.inBuf {
		r.buf = append(r.buf[:0], r.data...)
		r.data, r.inBuf = r.buf, true
	}
}

// sameStart reports whether a starts where b does.
func sameStart(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// line returns the next line without its line end, and end, the offset of
// the LF that ends it in src, or -1 if it is not one byte past the line in
// src (the line ends in CRLF, was split across pieces of input, or is the
// last line of the stream or the blank line after it). It reports false
// when the input given so far is read, after the blank line that ends the
// stream, or at a line too long.
func (r *Reader) line() (line []byte, end int, ok bool) {
	for {
		switch {
		case r.pos < len(r.src):
			i := bytes.IndexByte(r.src[r.pos:], '\n')
			if i < 0 && !r.closed {
				// The start of a line that a later piece ends.
				if !r.skipping {
					r.part = append(r.part, r.src[r.pos:]...)
				}
				r.pos = len(r.src)
				if len(r.part) >= MaxLine && !r.tooLong(true) {
					return nil, -1, false
				}
				continue
			}
			if i < 0 {
				line, end = r.src[r.pos:], -1
				r.pos = len(r.src) + 1
			} else {
				end = r.pos + i
				line = r.src[r.pos:end]
				r.pos = end + 1
			}
			if r.skipping {
				// The end of a line too long.
				r.skipping = false
				continue
			}
			if len(r.part) > 0 {
				r.part = append(r.part, line...)
				line, end = r.part, -1
				r.part = r.part[:0]
			}
		case !r.closed:
			return nil, -1, false
		case r.pos == len(r.src):
			// What follows the last LF, empty or not, is a line of its own.
			line, end = r.part, -1
			r.part = r.part[:0]
			r.pos++
			if r.skipping {
				r.skipping = false
				continue
			}
		case r.pos == len(r.src)+1:
			line, end = nil, -1
			r.pos++
		default:
			return nil, -1, false
		}
		if len(line) >= MaxLine {
			if !r.tooLong(false) {
				return nil, -1, false
			}
			continue
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line, end = line[:n-1], -1
		}
		return line, end, true
	}
}

// tooLong handles a line too long, whose rest is still to come when rest
// is set: it reports true when the line is skipped (SkipLongLines), false
// when the reading ends with ErrTooLong.
func (r *Reader) tooLong(rest bool) bool {
	r.part = r.part[:0]
	if r.SkipLongLines {
		r.skipping = rest
		return true
	}
	r.err = ErrTooLong
	r.src, r.pos, r.closed = nil, 2, true
	return false
}
