package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

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
		// Random characters: no frame of theirs is smaller, even with
		// the dictionary.
		{"incompressible", []byte(`nf]VGup!>#nZBWxpw|fF&_mulupK-$p_`), false},
		{"short JSON", []byte(`{"id":"msg_01"}`), false},
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
		for _, stored := range [][]byte{raw, encodeFrame(raw, nil)} {
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
		for _, stored := range [][]byte{raw, encodeFrame(raw, nil)} {
			ok, err := ContentContains(stored, "", q)
			if err != nil || ok != strings.Contains(want, q) {
				t.Fatalf("ContentContains(%q) over %q = %v, %v; content_text %q says %v", q, blocks, ok, err, want, !ok)
			}
		}
	})
}

// TestDictGolden decodes frames made with the shipped dictionary, committed
// under testdata/dictframes, to their committed values: stored frames must
// read back for as long as a store keeps them, so the dictionary of an ID
// never changes (a regenerated one under the same ID fails here).
func TestDictGolden(t *testing.T) {
	frames, err := filepath.Glob("testdata/dictframes/*.zst")
	if err != nil || len(frames) == 0 {
		t.Fatalf("no golden frames: %v", err)
	}
	for _, name := range frames {
		z, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(name, ".zst"))
		if err != nil {
			t.Fatal(err)
		}
		var h zstd.Header
		if err := h.Decode(z); err != nil || h.DictionaryID != ContentDictID {
			t.Errorf("%s: dictionary %#x, %v; want %#x", name, h.DictionaryID, err, ContentDictID)
		}
		got, err := decompressBody(z)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: decoded to %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestContentDict checks the embedded dictionary's ID, that new frames
// name it, and that frames made before it, without a dictionary, still
// decode.
func TestContentDict(t *testing.T) {
	d, err := zstd.InspectDictionary(contentDict)
	if err != nil || d.ID() != ContentDictID {
		t.Fatalf("embedded dictionary: %v; want ID %#x", err, ContentDictID)
	}
	body := []byte(strings.Repeat(`{"type":"text","text":"a long answer"},`, 10))
	var h zstd.Header
	if err := h.Decode(compressBody(body).([]byte)); err != nil || h.DictionaryID != ContentDictID {
		t.Errorf("new frame names dictionary %#x, %v; want %#x", h.DictionaryID, err, ContentDictID)
	}
	// As bodyEncoder made frames before it had a dictionary.
	old, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithZeroFrames(true),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	for _, crc := range []bool{false, true} {
		z := old.EncodeAll(body, nil)
		if crc {
			withCRC, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
			z = withCRC.EncodeAll(body, nil)
		}
		if err := h.Decode(z); err != nil || h.DictionaryID != 0 {
			t.Fatalf("old frame names dictionary %#x, %v", h.DictionaryID, err)
		}
		got, err := decompressBody(z)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("old frame (crc %v) decoded to %q, %v", crc, got, err)
		}
		if ok, err := ContentContains(old.EncodeAll(appendBlocks(nil, []analytics.Block{{Type: "text", Text: "Old Frame"}}), nil), "", "old frame"); !ok || err != nil {
			t.Errorf("ContentContains over an old frame = %v, %v", ok, err)
		}
	}
}

// TestUnknownDictionary: a frame naming a dictionary this build does not
// have fails to decode with an error that names it, on every read path.
func TestUnknownDictionary(t *testing.T) {
	samples := [][]byte{[]byte(`[{"type":"text","text":"one"}]`), []byte(`[{"type":"text","text":"two"}]`)}
	other, err := zstd.BuildDict(zstd.BuildDictOptions{ID: ContentDictID + 1, Contents: samples,
		History: bytes.Repeat([]byte(`[{"type":"text","text":"`), 20), Offsets: [3]int{1, 4, 8}})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderDict(other))
	if err != nil {
		t.Fatal(err)
	}
	z := enc.EncodeAll(appendBlocks(nil, []analytics.Block{{Type: "text", Text: "from a newer release"}}), nil)
	want := fmt.Sprintf("dictionary %#x", ContentDictID+1)
	if _, err := decompressBody(z); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("decompressBody: %v; want an error naming %s", err, want)
	}
	if _, err := ContentContains(z, "", "newer"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ContentContains: %v; want an error naming %s", err, want)
	}
	var v any
	if err := decodeStoredJSON("", z, &v); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("decodeStoredJSON: %v; want an error naming %s", err, want)
	}
}

// FuzzCompressBody: any bytes read back as they went in, whether stored
// as a frame or as they are, and a frame is stored only when smaller (or
// when the bytes start like one).
func FuzzCompressBody(f *testing.F) {
	for _, name := range []string{"content.json", "request_body.json", "response_body.json", "stream_body.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata/dictframes", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(nil))
	f.Add(append(bytes.Clone(zstdMagic), 0, 1, 2))
	f.Add([]byte(`nf]VGup!>#nZBWxpw|fF&_mulupK-$p_`))
	f.Fuzz(func(t *testing.T, b []byte) {
		stored := compressBody(b)
		if len(b) == 0 {
			if stored != nil {
				t.Fatalf("stored %v for an empty body", stored)
			}
			return
		}
		s := stored.([]byte)
		if bytes.HasPrefix(s, zstdMagic) && len(s) >= len(b) && !bytes.HasPrefix(b, zstdMagic) {
			t.Fatalf("stored a frame of %d bytes for %d", len(s), len(b))
		}
		back, err := decompressBody(s)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("read back %q, %v; want %q", back, err, b)
		}
	})
}

// BenchmarkCodec compares compressing and decoding the golden values
// (real fixtures: a content, a request, a response and a stream) with the
// dictionary (encodeFrame), at SpeedDefault with it, and with none, as
// bodyEncoder did before it, and ContentContains over the content stored
// either way.
func BenchmarkCodec(b *testing.B) {
	plainEnc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithZeroFrames(true),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
	if err != nil {
		b.Fatal(err)
	}
	encoders := []struct {
		name string
		enc  func(b, dst []byte) []byte
	}{
		{"dict", encodeFrame},
		{"default-dict", bodyEncoder.EncodeAll},
		{"none", plainEnc.EncodeAll},
	}
	for _, name := range []string{"content.json", "request_body.json", "response_body.json", "stream_body.sse"} {
		v, err := os.ReadFile(filepath.Join("testdata/dictframes", name))
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range encoders {
			z := c.enc(v, nil)
			b.Run(name+"/encode/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(v)))
				buf := make([]byte, 0, len(v))
				for b.Loop() {
					buf = c.enc(v, buf[:0])
				}
				b.ReportMetric(float64(len(z)), "B/frame")
			})
			b.Run(name+"/decode/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(v)))
				var buf []byte
				for b.Loop() {
					if buf, err = decodeFrame(z, buf[:0]); err != nil {
						b.Fatal(err)
					}
				}
			})
			if name == "content.json" {
				b.Run(name+"/contains/"+c.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := ContentContains(z, "", "weather"); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
