package sse

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

type event struct{ Type, Data string }

// transcripts returns the stream fixtures of package ingest.
func transcripts(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, name := range testfixtures.Names(tb, "streams") {
		out = append(out, string(testfixtures.Read(tb, name)))
	}
	if len(out) == 0 {
		tb.Fatal("no stream fixtures")
	}
	return out
}

// FuzzSSEEvents checks that a Reader reads a transcript as the SDK's
// ssestream decoder reads it followed by a blank line, whole or fed in
// pieces of any size.
func FuzzSSEEvents(f *testing.F) {
	for _, tr := range transcripts(f) {
		f.Add(tr, uint8(1))
	}
	f.Add("event: a\r\ndata: 1\r\ndata:2\n: comment\nid: 3\n\n\ndata\nevent:\n\nevent: b", uint8(3))
	f.Add("data: x", uint8(0))
	f.Fuzz(func(t *testing.T, transcript string, piece uint8) {
		checkSSEEvents(t, transcript, int(piece))
	})
}

// TestSSEEventsLongLines checks a Reader against ssestream at the longest
// line the SDK's decoder reads and one byte longer.
func TestSSEEventsLongLines(t *testing.T) {
	for _, n := range []int{MaxLine - 1, MaxLine} {
		data := "data: " + strings.Repeat("x", n-len("data: "))
		for _, piece := range []int{0, 1 << 20} {
			err := checkSSEEvents(t, "event: a\n"+data+"\n\nevent: b\ndata: 1\n\n", piece)
			if tooLong := errors.Is(err, ErrTooLong); tooLong != (n == MaxLine) {
				t.Errorf("a line of %d bytes, pieces of %d: error %v", n, piece, err)
			}
			checkSSEEvents(t, "event: a\r\n"+data[:len(data)-1]+"\r\n\r\n", piece)
		}
	}
}

// sdkEvents reads transcript with the SDK's decoder, followed by a blank
// line.
func sdkEvents(transcript string) ([]event, error) {
	var out []event
	res := &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(strings.NewReader(transcript + "\n\n")),
	}
	dec := ssestream.NewDecoder(res)
	for dec.Next() {
		ev := dec.Event()
		out = append(out, event{ev.Type, string(ev.Data)})
	}
	err := dec.Err()
	dec.Close()
	return out, err
}

// read reads transcript with a Reader r, whole when piece is 0, else fed
// in pieces of piece bytes, each a fresh copy that is spoilt once read.
func read(r *Reader, transcript string, piece int) []event {
	var got []event
	next := func() {
		for r.Next() {
			got = append(got, event{string(r.Type()), string(r.Data())})
		}
	}
	if piece == 0 {
		*r = Reader{Keep: r.Keep, SkipLongLines: r.SkipLongLines, src: []byte(transcript), closed: true}
		next()
		return got
	}
	for len(transcript) > 0 {
		n := min(piece, len(transcript))
		p := []byte(transcript[:n])
		transcript = transcript[n:]
		r.Feed(p)
		next()
		for i := range p {
			p[i] = '#' // the Reader must hold nothing of p
		}
	}
	r.Close()
	next()
	return got
}

// checkSSEEvents checks that a Reader reads transcript as the SDK's
// ssestream decoder reads it followed by a blank line, and returns the
// error both gave.
func checkSSEEvents(t *testing.T, transcript string, piece int) error {
	t.Helper()
	want, wantErr := sdkEvents(transcript)
	var r Reader
	got := read(&r, transcript, piece)
	if !slices.Equal(got, want) || !errors.Is(r.Err(), wantErr) && r.Err() != wantErr {
		t.Errorf("pieces of %d: the Reader read %d events (error %v), the SDK reads %d (error %v)", piece, len(got), r.Err(), len(want), wantErr)
	}
	return r.Err()
}

func TestKeep(t *testing.T) {
	tr := "event: ping\ndata: {}\n\nevent: content_block_delta\ndata: {\"a\":1}\ndata: more\n\ndata: {\"type\":\"untyped\"}\n\nevent: message_delta\ndata: {}\n\n"
	want := []event{{"ping", ""}, {"content_block_delta", ""}, {"", "{\"type\":\"untyped\"}\n"}, {"message_delta", "{}\n"}}
	for _, piece := range []int{0, 1, 5} {
		r := Reader{Keep: func(typ []byte) bool { return string(typ) == "message_delta" }}
		if got := read(&r, tr, piece); !slices.Equal(got, want) {
			t.Errorf("pieces of %d: %q, want %q", piece, got, want)
		}
	}
}

func TestSkipLongLines(t *testing.T) {
	long := "data: " + strings.Repeat("x", MaxLine)
	tr := "event: a\n" + long + "\ndata: 1\n\nevent: b\r\n" + long + "\r\n\r\nevent: c\ndata: 2\n\n" + long
	want := []event{{"a", "1\n"}, {"b", ""}, {"c", "2\n"}}
	for _, piece := range []int{0, 1 << 20, 3 << 20} {
		r := Reader{SkipLongLines: true}
		if got := read(&r, tr, piece); !slices.Equal(got, want) || r.Err() != nil {
			t.Errorf("pieces of %d: %q (error %v), want %q", piece, got, r.Err(), want)
		}
	}
}

// TestNoCopy checks that a whole transcript's events are read without
// allocating, as replaying a stored stream needs.
func TestNoCopy(t *testing.T) {
	src := []byte(transcripts(t)[0])
	allocs := testing.AllocsPerRun(100, func() {
		r := NewReader(src)
		for r.Next() {
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per transcript", allocs)
	}
}
