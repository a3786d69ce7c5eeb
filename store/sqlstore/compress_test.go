package sqlstore

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

func TestCompressBody(t *testing.T) {
	long := []byte(strings.Repeat(`{"type":"text","text":"a long answer"},`, 100))
	tests := []struct {
		name       string
		body       []byte
		compressed bool // stored as a zstd frame
	}{
		{"empty", nil, false},
		{"short", []byte(`{"id":"msg_01"}`), false},
		{"long JSON", long, true},
		{"starts with the magic", append(append([]byte{}, zstdMagic...), "x"...), true},
	}
	for _, tc := range tests {
		stored := compressBody(tc.body)
		if len(tc.body) == 0 {
			if stored != nil {
				t.Errorf("%s: stored %v, want NULL", tc.name, stored)
			}
			continue
		}
		b := stored.([]byte)
		if got := bytes.HasPrefix(b, zstdMagic); got != tc.compressed {
			t.Errorf("%s: stored as a frame %v, want %v", tc.name, got, tc.compressed)
		}
		if tc.compressed && !bytes.HasPrefix(tc.body, zstdMagic) && len(b) >= len(tc.body) {
			t.Errorf("%s: stored %d bytes for %d", tc.name, len(b), len(tc.body))
		}
		back, err := decompressBody(b)
		if err != nil || !bytes.Equal(back, tc.body) {
			t.Errorf("%s: read back %q, %v; want %q", tc.name, back, err, tc.body)
		}
	}
}

// TestBodiesStoredBefore checks, on both engines, that new bodies are
// stored compressed where the dialect says so, and that bodies stored as
// they are (before compression, or by PostgreSQL) and as frames both read
// back.
func TestBodiesStoredBefore(t *testing.T) {
	for _, mk := range []func(*testing.T) testEngine{sqliteEngine, postgresEngine} {
		e := mk(t)
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := New(ctx, Config{Writer: e.open(), Dialect: e.dialect, Migrations: e.migrations})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			body := strings.Repeat(`{"type":"text","text":"a long answer"},`, 100)
			r := &analytics.Record{Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), App: "a", Kind: analytics.KindMessage,
				MessageID: "msg_1", StopReason: analytics.StopEndTurn, RequestBody: []byte(body), ResponseBody: []byte(body), StreamBody: body}
			if err := s.Insert(ctx, []*analytics.Record{r}); err != nil {
				t.Fatal(err)
			}
			var stored []byte
			if err := s.r.QueryRowContext(ctx, s.d.rebind("SELECT response_body FROM record_content WHERE record_id = ?"), r.ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if frame := bytes.HasPrefix(stored, zstdMagic); frame != e.dialect.CompressBodies || (frame && len(stored) >= len(body)) {
				t.Errorf("response body stored as %d bytes, %q...; want a smaller zstd frame: %v", len(stored), stored[:4], e.dialect.CompressBodies)
			}
			// A frame written by a store that compresses, read by one
			// that does not (the other way is the UPDATE below).
			if _, err := s.w.ExecContext(ctx, s.d.rebind("UPDATE record_content SET response_body = ? WHERE record_id = ?"),
				compressBody([]byte(body)), r.ID); err != nil {
				t.Fatal(err)
			}
			// As stored before compression.
			if _, err := s.w.ExecContext(ctx, s.d.rebind("UPDATE record_content SET request_body = ?, stream_body = ? WHERE record_id = ?"),
				[]byte(body), []byte(body), r.ID); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.RequestBody) != body || string(got.ResponseBody) != body || got.StreamBody != body {
				t.Errorf("bodies read back as %d, %d, %d bytes, want %d each", len(got.RequestBody), len(got.ResponseBody), len(got.StreamBody), len(body))
			}
		})
	}
}

// TestContentContains checks that the search text ContentContains derives
// from stored blocks is contentText's, for texts JSON escapes and texts
// lower-casing and cleaning change, stored compressed and as they are.
func TestContentContains(t *testing.T) {
	long := strings.Repeat("Long \"quoted\" text, ", 40)
	tests := [][]analytics.Block{
		{{Type: "text", Text: "Plain"}},
		{{Type: "text", Text: `esc "q" \ / ` + "\b\f\n\r\t\x01\u2028<&>"}},
		{{Type: "text", Text: "ÜBER \u212a \u01c5 Straße"}, {Type: "tool_use", Name: "Tool"}},
		{{Type: "text", Text: "bad \xff\xe2\x82 utf8, nul \x00."}},
		{{Type: "tool_use", Name: "only_a_tool"}},
		{{Type: "text", Text: "one"}, {Type: "text"}, {Type: "thinking", Text: "Two"}, {Type: "text", Text: long}},
		{{Type: "text", Text: `"type":"text","text":"x"`}},
	}
	for i, blocks := range tests {
		want := contentText(blocks)
		raw := appendBlocks(nil, blocks)
		for _, stored := range [][]byte{raw, bodyEncoder.EncodeAll(raw, nil)} {
			got, err := appendBlockTexts(nil, mustDecompress(t, stored))
			if err != nil || clean(strings.ToLower(string(got))) != want {
				t.Errorf("%d: texts %q, %v; want %q", i, got, err, want)
			}
			for _, text := range []string{want, "one\ntwo", "über", "k", "\ufffd", "tool", "zebra"} {
				ok, err := ContentContains(stored, "", text)
				if err != nil || ok != strings.Contains(want, text) {
					t.Errorf("%d: ContentContains(%q) = %v, %v; want %v", i, text, ok, err, !ok)
				}
			}
		}
	}
	for _, b := range []string{``, `[`, `{}`, `[{"type":"text","text":"x"}`, `[{"type":1}]`, `[{"type":"a"}]x`} {
		if _, err := appendBlockTexts(nil, []byte(b)); err == nil {
			t.Errorf("%q: no error", b)
		}
	}
}

func mustDecompress(t *testing.T, b []byte) []byte {
	t.Helper()
	b, err := decompressBody(b)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzContentContains: for any blocks, the search over stored content
// (plain or as a frame) finds a text exactly when content_text LIKE did,
// and appendBlockTexts never panics on bytes that are not blocks.
func FuzzContentContains(f *testing.F) {
	f.Add("Plain", "tool_use", "Tool", "pla", []byte(`[{"type":"text","text":"x"}]`))
	f.Add("ÜBER \u212a Straße", "thinking", "", "über", []byte(`[{`))
	f.Add("bad \xff utf8 \x00", "text", "n", "\ufffd", []byte(`[{"type":"a","text":"\u00"}]`))
	f.Fuzz(func(t *testing.T, text, kind, name, query string, junk []byte) {
		appendBlockTexts(nil, junk)
		blocks := []analytics.Block{{Type: "text", Text: text}, {Type: kind, Name: name, Text: query}}
		want := contentText(blocks)
		q := clean(strings.ToLower(query))
		raw := appendBlocks(nil, blocks)
		for _, stored := range [][]byte{raw, bodyEncoder.EncodeAll(raw, nil)} {
			ok, err := ContentContains(stored, "", q)
			if err != nil || ok != strings.Contains(want, q) {
				t.Fatalf("ContentContains(%q) over %q = %v, %v; content_text %q says %v", q, blocks, ok, err, want, !ok)
			}
		}
	})
}
