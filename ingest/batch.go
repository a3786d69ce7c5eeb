package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/stopscope/stopscope/analytics"
)

// BatchResult is the answer of POST /v1/responses: how many records were
// stored and why each of the others was not.
type BatchResult struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
}

// Rejection names one record that was not stored: its 0-based position in
// the body and an error that says what to fix.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// piece is one record's bytes in a body, or why they could not be read.
type piece struct {
	data []byte
	err  string
}

// DecodeBatch decodes the body of POST /v1/responses, already decompressed.
// contentType is the request's Content-Type: application/x-ndjson (one
// record a line), text/event-stream (one bare stream), or anything else for
// JSON, which may be one object, an array, or several objects one after the
// other. Each record that cannot be read is rejected on its own, with its
// index; the others are decoded and classified, in body order. The error is
// non-nil only when the body as a whole is refused (an *analytics.Error:
// too many records, JSON nested too deep or holding too many elements (see
// CheckJSONShape), or nothing in it). Records may alias body.
func DecodeBatch(body []byte, contentType string, opts Options) ([]*analytics.Record, []Rejection, error) {
	d := newDecoder(opts)
	if isMediaType(contentType, "text/event-stream") {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, nil, analytics.Errorf(analytics.EInvalid, "the body is empty: send a server-sent event transcript")
		}
		if len(body) > d.lim.MaxFieldBytes {
			return nil, []Rejection{{0, "record 0: " + d.fieldTooLarge("stream", len(body)).Error()}}, nil
		}
		rec, err := DecodeStream(string(body), opts)
		if err != nil {
			return nil, []Rejection{{0, "record 0: " + err.Error()}}, nil
		}
		return []*analytics.Record{rec}, nil, nil
	}

	if err := CheckJSONShape(body); err != nil {
		return nil, nil, err
	}
	pieces, err := split(body, d.lim.MaxRecords)
	if err != nil {
		return nil, nil, err
	}
	recs := make([]*analytics.Record, 0, len(pieces))
	var rejected []Rejection
	for i, p := range pieces {
		if p.err != "" {
			rejected = append(rejected, Rejection{i, fmt.Sprintf("record %d: %s", i, p.err)})
			continue
		}
		rec, err := d.record(p.data)
		if err != nil {
			rejected = append(rejected, Rejection{i, fmt.Sprintf("record %d: %v", i, err)})
			continue
		}
		recs = append(recs, rec)
	}
	return recs, rejected, nil
}

func isMediaType(contentType, want string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && strings.EqualFold(mt, want)
}

// split cuts a JSON body into the bytes of its records. An array is read
// element by element; a syntax error stops it there, as nothing after can be
// trusted. Anything else is read as JSON values one after the other (one
// object, NDJSON, or concatenated objects); after a syntax error reading
// resumes at the next line that starts with "{", so a bad line of NDJSON
// costs only itself.
func split(body []byte, maxRecords int) ([]piece, error) {
	start := skipSpace(body, 0)
	// A byte order mark is no reason to refuse a body.
	if bytes.HasPrefix(body[start:], []byte("\uFEFF")) {
		start = skipSpace(body, start+3)
	}
	if start == len(body) {
		return nil, analytics.Errorf(analytics.EInvalid, "the body is empty: send a JSON object, a JSON array or NDJSON of records")
	}
	s := splitter{body: body, max: maxRecords}
	var err error
	switch {
	case body[start] == '[' && useFastJSON:
		var ok bool
		if ok, err = s.fastArray(start); !ok {
			// Start again with encoding/json, which says what is wrong.
			s.pieces = s.pieces[:0]
			err = s.array(start)
		}
	case body[start] == '[':
		err = s.array(start)
	case useFastJSON:
		err = s.fastValues(start)
	default:
		err = s.values(start)
	}
	return s.pieces, err
}

type splitter struct {
	body   []byte
	max    int
	pieces []piece
	lines  lineCounter
}

func (s *splitter) add(p piece) error {
	if len(s.pieces) >= s.max {
		return analytics.Errorf(analytics.ETooLarge,
			"the body holds more than %d records, the limit per request; send smaller batches or raise it with -%s",
			s.max, FlagMaxRecords)
	}
	s.pieces = append(s.pieces, p)
	return nil
}

// splitOpts make jsontext accept what encoding/json's scanner accepts:
// duplicate names and invalid UTF-8 are for the decoding of each record to
// judge, and checking them here would only cost time.
var splitOpts = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// fastArray is array with jsontext, which reads each element once and in
// place. It reports false, with the pieces it added still to drop, when the
// body is not a well-formed array of values and nothing more: the error is
// then for array to find and describe.
func (s *splitter) fastArray(start int) (bool, error) {
	// A bytes.Buffer is read in place, so offsets are the body's.
	dec := jsontext.NewDecoder(bytes.NewBuffer(s.body[start:]), splitOpts)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return false, nil
	}
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		if err != nil {
			return false, nil
		}
		end := start + int(dec.InputOffset())
		if err := s.add(piece{data: s.body[end-len(v) : end]}); err != nil {
			return true, err
		}
	}
	if _, err := dec.ReadToken(); err != nil { // the ']'
		return false, nil
	}
	if skipSpace(s.body, start+int(dec.InputOffset())) < len(s.body) {
		return false, nil
	}
	return true, nil
}

// fastValues is values with jsontext. At the first value it cannot read,
// it hands over to values, which describes the error and resumes after it.
func (s *splitter) fastValues(start int) error {
	dec := jsontext.NewDecoder(bytes.NewBuffer(s.body[start:]), splitOpts)
	for {
		before := start + int(dec.InputOffset())
		v, err := dec.ReadValue()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.values(before)
		}
		end := start + int(dec.InputOffset())
		if err := s.add(piece{data: s.body[end-len(v) : end]}); err != nil {
			return err
		}
	}
}

// capture takes a value's length and nothing else, so that the record's
// bytes are sliced from the body instead of copied.
type capture struct{ n int }

func (c *capture) UnmarshalJSON(b []byte) error { c.n = len(b); return nil }

func (s *splitter) array(start int) error {
	dec := json.NewDecoder(bytes.NewReader(s.body[start:]))
	if _, err := dec.Token(); err != nil { // the '['
		return s.add(piece{err: s.syntax(start, "")})
	}
	for dec.More() {
		before := start + int(dec.InputOffset())
		c := capture{n: -1}
		if err := dec.Decode(&c); err != nil {
			// Skip the comma that Decode consumed before the value.
			at := skipSpace(s.body, before)
			if at < len(s.body) && s.body[at] == ',' {
				at = skipSpace(s.body, at+1)
			}
			return s.add(piece{err: s.syntax(at, "; this record and the rest of the array were not read")})
		}
		end := start + int(dec.InputOffset())
		if err := s.add(piece{data: s.body[end-c.n : end]}); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the ']'
		at := skipSpace(s.body, start+int(dec.InputOffset()))
		if at == len(s.body) {
			return s.add(piece{err: "the array is not closed: the body ends before its ]"})
		}
		return s.add(piece{err: s.syntax(at, "; the array was read up to there")})
	}
	if rest := skipSpace(s.body, start+int(dec.InputOffset())); rest < len(s.body) {
		line, col := s.lines.at(s.body, rest)
		return s.add(piece{err: fmt.Sprintf("unexpected data after the end of the array at line %d, column %d (byte %d)", line, col, rest)})
	}
	return nil
}

func (s *splitter) values(pos int) error {
	for pos < len(s.body) {
		dec := json.NewDecoder(bytes.NewReader(s.body[pos:]))
		for {
			before := int(dec.InputOffset())
			c := capture{n: -1}
			err := dec.Decode(&c)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				valueStart := skipSpace(s.body, pos+before)
				next := nextLineStartingWithBrace(s.body, valueStart)
				tail := "; reading resumed at the next line that starts with {"
				if next == len(s.body) {
					tail = ""
				}
				if err := s.add(piece{err: s.syntax(valueStart, tail)}); err != nil {
					return err
				}
				pos = next
				break
			}
			end := pos + int(dec.InputOffset())
			if err := s.add(piece{data: s.body[end-c.n : end]}); err != nil {
				return err
			}
		}
	}
	return nil
}

// syntax describes the JSON syntax error of the value that starts at
// offset at, naming where it broke. It reads the value again on its own: a
// decoder's offsets leave out the separators its Token calls consumed.
func (s *splitter) syntax(at int, tail string) string {
	err := json.NewDecoder(bytes.NewReader(s.body[at:])).Decode(&capture{})
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// The offset counts the byte that broke it; name that byte.
		off := at + max(int(se.Offset)-1, 0)
		line, col := s.lines.at(s.body, off)
		return fmt.Sprintf("invalid JSON at line %d, column %d (byte %d): %v%s", line, col, off, se, tail)
	case err == nil, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := s.lines.at(s.body, at)
		return fmt.Sprintf("the record that starts at line %d, column %d (byte %d) is not closed before the body ends%s", line, col, at, tail)
	}
	return fmt.Sprintf("invalid JSON: %v%s", err, tail)
}

// lineCounter turns byte offsets, asked for in increasing order, into lines
// and columns without counting from the start each time.
type lineCounter struct {
	off, line, lineStart int
}

func (lc *lineCounter) at(body []byte, off int) (line, col int) {
	if off < lc.off || lc.line == 0 {
		*lc = lineCounter{line: 1}
	}
	for i := lc.off; i < off && i < len(body); i++ {
		if body[i] == '\n' {
			lc.line++
			lc.lineStart = i + 1
		}
	}
	lc.off = off
	return lc.line, off - lc.lineStart + 1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// nextLineStartingWithBrace returns the offset of the first "{" that begins
// a line after offset from, or len(b).
func nextLineStartingWithBrace(b []byte, from int) int {
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return len(b)
		}
		from += i + 1
		if from < len(b) && b[from] == '{' {
			return from
		}
	}
}
