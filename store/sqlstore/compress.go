package sqlstore

import (
	"bytes"
	"database/sql/driver"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/klauspost/compress/zstd"
)

// Request, response and stream bodies are stored zstd-compressed where
// Dialect.CompressBodies says so: they are JSON or SSE text of a few
// kilobytes, read only when one record is shown (Get), and took most of a
// record's bytes on disk in SQLite, which compresses nothing. A body is stored as
// one zstd frame when that is smaller, as it is otherwise; a stored body
// that starts with the zstd frame magic is a frame, since no body ingest
// keeps (JSON or SSE text) can start with those bytes (0xB5 cannot follow
// '(' in UTF-8). Bodies stored before compression read as they are.
//
// Frames are made with a dictionary trained on the demo's traffic
// (contentDict): most values are a few hundred bytes of the same JSON
// keys and SSE events, which a frame of its own could not share with the
// others. Frames made before it, with none, read the same.
var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	// The encoders and the decoder of the process, safe for concurrent
	// EncodeAll and DecodeAll, with low-memory options so that their
	// buffers stay small under sustained ingest: Insert encodes a batch's
	// records on every core (encodeRows), so each encoder keeps one state
	// per core; decoding (Get, List and SQLite's search, on the reader
	// pool) runs on up to four streams at once, further calls waiting
	// their turn. Frames carry no checksum: its 4 bytes are a good part of
	// a small frame, and the database file has none either (frames written
	// with one read the same).
	//
	// A value under smallValue bytes, as most are, is compressed at
	// zstd's fastest level: with a dictionary, SpeedDefault spends some
	// 10 µs a frame restoring its larger tables, three times the cost of a
	// small frame without one, for under 1% of bytes; the fastest level
	// with the dictionary costs 1.3 to 1.6 times what SpeedDefault did
	// without (BenchmarkCodec). Longer values keep SpeedDefault, whose
	// ratio tells there and whose cost the dictionary does not raise
	// (docs/performance.md).
	smallEncoder = must(zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderCRC(false), zstd.WithEncoderDict(contentDict)))
	bodyEncoder = must(zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderCRC(false), zstd.WithEncoderDict(contentDict)))
	bodyDecoder = must(zstd.NewReader(nil, zstd.WithDecoderConcurrency(4),
		zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecoderDicts(contentDict)))
)

// smallValue is the size from which a value is compressed at
// SpeedDefault rather than SpeedFastest.
const smallValue = 4 << 10

// encodeFrame appends to dst the zstd frame of b.
func encodeFrame(b, dst []byte) []byte {
	if len(b) < smallValue {
		return smallEncoder.EncodeAll(b, dst)
	}
	return bodyEncoder.EncodeAll(b, dst)
}

// ContentDictID is the ID of the zstd dictionary stored values are
// compressed with (zdict/content.dict), which every frame made with it
// names in its header. It is in the range the zstd format leaves to
// private use (32768 and up) and below 65536, so that it takes two bytes
// of a frame's header, not four.
const ContentDictID = 0xD709

// contentDict is the dictionary, made by
// `go run ./store/sqlstore/internal/zdictgen`. A dictionary never changes
// once shipped: the frames stored with it decode only with these bytes,
// for as long as a store keeps them. A better one needs a new ID, and the
// decoder must keep registering this one beside it (TestDictGolden fails
// if these bytes change).
//
//go:embed zdict/content.dict
var contentDict []byte

// must returns v, or panics at start-up on err: the encoder and the
// decoder fail only on a broken embedded dictionary.
func must[T any](v T, err error) T {
	if err != nil {
		panic("sqlstore: zstd: " + err.Error())
	}
	return v
}

// body returns what is stored for body b: compressBody's value when the
// dialect compresses bodies or b starts like a frame (which must not read
// back as one), else b; nil for an empty body.
func (dl *Dialect) body(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	if !dl.CompressBodies && !bytes.HasPrefix(b, zstdMagic) {
		return b
	}
	return compressBody(b)
}

// compressBody returns what is stored for body b: nil for an empty body,
// its zstd frame when that is smaller, or b.
func compressBody(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	z := encodeFrame(b, make([]byte, 0, len(b)/2))
	// A body that starts like a frame is kept compressed, or it would
	// read back as one.
	if len(z) < len(b) || bytes.HasPrefix(b, zstdMagic) {
		return z
	}
	return b
}

// decompressBody returns the body stored as b (see compressBody).
func decompressBody(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, zstdMagic) {
		return b, nil
	}
	return decodeFrame(b, nil)
}

// decodeFrame appends to dst the value the stored frame b holds. A frame
// naming a dictionary this build does not have (written by a newer
// release, say) is an error that says which.
func decodeFrame(b, dst []byte) ([]byte, error) {
	out, err := bodyDecoder.DecodeAll(b, dst)
	if err == nil {
		return out, nil
	}
	var h zstd.Header
	if errors.Is(err, zstd.ErrUnknownDictionary) && h.Decode(b) == nil {
		return nil, fmt.Errorf("sqlstore: a stored zstd frame needs dictionary %#x, which this build does not have (it knows %#x): the record was stored by a newer stopscope; run that release or a later one on this database", h.DictionaryID, ContentDictID)
	}
	return nil, fmt.Errorf("sqlstore: a stored zstd frame: %w", err)
}

// storedJSON returns what is stored for the JSON value b (content or req,
// never empty) in its text column and in its _z column: b as text and NULL
// when the dialect does not compress, else no text and compressBody's value
// (a copy: b is scratch space).
func (dl *Dialect) storedJSON(b []byte) (string, any) {
	if !dl.CompressBodies {
		return string(b), nil
	}
	z := compressBody(b).([]byte)
	if &z[0] == &b[0] {
		z = bytes.Clone(b)
	}
	return "", z
}

// decodeStoredJSON decodes into v the JSON value stored as text or, when
// it is not NULL, as z (storedJSON); it leaves v alone when both are empty.
func decodeStoredJSON(text string, z []byte, v any) error {
	if z == nil {
		if text == "" {
			return nil
		}
		return json.Unmarshal([]byte(text), v)
	}
	b, err := decompressBody(z)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// searchBufs holds buffers for ContentContains, which runs once per row a
// search reads.
type searchBuf struct{ json, text []byte }

var searchBufs = sync.Pool{New: func() any { return new(searchBuf) }}

// ContentContains reports whether the search text of a record contains
// text, which must be lower-cased and cleaned as the free-text filter
// does: it is the search of a dialect whose TextSearch calls it, with
// contentZ and stored a row's content_z and content_text. A row stored
// with content_z has no content_text (see storedJSON): its search text is
// derived from the stored blocks as Insert derived content_text
// (contentText), so that the search matches exactly the records
// content_text LIKE '%text%' matched. One stored before has content_text
// and a NULL content_z.
func ContentContains(contentZ []byte, stored string, text string) (bool, error) {
	if contentZ == nil {
		return strings.Contains(stored, text), nil
	}
	buf := searchBufs.Get().(*searchBuf)
	defer searchBufs.Put(buf)
	b := contentZ
	if bytes.HasPrefix(b, zstdMagic) {
		var err error
		if b, err = decodeFrame(b, buf.json[:0]); err != nil {
			return false, err
		}
		buf.json = b
	}
	t, err := appendBlockTexts(buf.text[:0], b)
	if err != nil {
		return false, err
	}
	buf.text = t
	// As contentText: lower-cased, then cleaned.
	if !utf8.Valid(t) || bytes.IndexByte(t, 0) >= 0 {
		return strings.Contains(clean(strings.ToLower(string(t))), text), nil
	}
	if !lowerASCII(t) {
		t = bytes.ToLower(t)
	}
	return bytes.Contains(t, []byte(text)), nil
}

// ContainsValue is ContentContains over the three arguments of a SQL
// function a driver passes as driver.Values (content_z, content_text and
// the text, each TEXT arriving as a string or as bytes): 1 when the text is
// found, else 0. SQLite's TextSearch function is this.
func ContainsValue(args []driver.Value) (driver.Value, error) {
	text := func(v driver.Value) string {
		switch v := v.(type) {
		case string:
			return v
		case []byte:
			return string(v)
		}
		return ""
	}
	z, _ := args[0].([]byte)
	ok, err := ContentContains(z, text(args[1]), text(args[2]))
	if err != nil {
		return nil, err
	}
	if ok {
		return int64(1), nil
	}
	return int64(0), nil
}

// lowerASCII lower-cases t in place and reports true when t is ASCII, as
// most texts are; it leaves t unchanged otherwise.
func lowerASCII(t []byte) bool {
	for _, c := range t {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	for i, c := range t {
		if 'A' <= c && c <= 'Z' {
			t[i] = c + 'a' - 'A'
		}
	}
	return true
}

var errNotBlocks = errors.New("stored content is not a JSON array of blocks")

// appendBlockTexts appends to dst the texts of the blocks b holds, joined
// by newlines, as contentText joins them. b must be appendBlocks' output:
// an array of objects whose members are all strings.
func appendBlockTexts(dst, b []byte) ([]byte, error) {
	// str returns the end of the JSON string starting at b[i].
	str := func(i int) (int, error) {
		if i >= len(b) || b[i] != '"' {
			return 0, errNotBlocks
		}
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errNotBlocks
	}
	if len(b) < 2 || b[0] != '[' {
		return dst, errNotBlocks
	}
	first, i := true, 1
	for i < len(b) && b[i] == '{' {
		i++
		for i < len(b) && b[i] == '"' {
			k, err := str(i)
			if err != nil || k >= len(b) || b[k] != ':' {
				return dst, errNotBlocks
			}
			v, err := str(k + 1)
			if err != nil {
				return dst, errNotBlocks
			}
			if string(b[i:k]) == `"text"` && v-k-1 > 2 {
				if !first {
					dst = append(dst, '\n')
				}
				first = false
				if dst, err = jsontext.AppendUnquote(dst, b[k+1:v]); err != nil {
					return dst, err
				}
			}
			i = v
			if i < len(b) && b[i] == ',' {
				i++
			}
		}
		if i >= len(b) || b[i] != '}' {
			return dst, errNotBlocks
		}
		i++
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
	if i != len(b)-1 || b[i] != ']' {
		return dst, errNotBlocks
	}
	return dst, nil
}
