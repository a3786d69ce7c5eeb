package sqlstore

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/stopscope/stopscope/analytics"
)

// Request, response and stream bodies are stored zstd-compressed where
// Dialect.CompressBodies says so: they are JSON or SSE text of a few
// kilobytes, read only when one record is shown (Get), and took most of a
// record's bytes on disk in SQLite, which compresses nothing. A body is stored as
// one zstd frame when that is smaller, as it is otherwise; a stored body
// that starts with the zstd frame magic is a frame, since no body ingest
// keeps (JSON or SSE text) can start with those bytes (0xB5 cannot follow
// '(' in UTF-8). Bodies stored before compression read as they are.
var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	// One of each for the process, safe for concurrent EncodeAll and
	// DecodeAll, with low-memory options so that their buffers stay small
	// under sustained ingest: records are written by one connection, so
	// one encoder serves them; decoding (Get, List and SQLite's search,
	// on the reader pool) runs on up to four streams at once, further
	// calls waiting their turn.
	bodyEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true), zstd.WithLowerEncoderMem(true))
	bodyDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(4),
		zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(1<<30))
)

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
	z := bodyEncoder.EncodeAll(b, make([]byte, 0, len(b)/2))
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
	return bodyDecoder.DecodeAll(b, nil)
}

// storedJSON returns what is stored for the JSON value b (content or req,
// never empty) in its text column and in its _z column: b as text and NULL
// when the dialect does not compress, else no text and compressBody's value (a
// copy: b is scratch space).
func (dl *Dialect) storedJSON(b []byte) (string, any) {
	if !dl.CompressBodies {
		return string(b), nil
	}
	z := compressBody(b).([]byte)
	if len(z) > 0 && &z[0] == &b[0] {
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
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

// searchBufs holds decompression buffers for ContentContains, which runs
// once per row a search reads.
var searchBufs = sync.Pool{New: func() any { return new([]byte) }}

// ContentContains reports whether the search text of a record contains
// text, which must be lower-cased and cleaned as the free-text filter
// does: it is the search of a dialect whose TextSearch calls it, with
// contentZ and contentText a row's content_z and content_text. A row
// stored with content_z has no content_text (see storedJSON), and its
// search text is derived from the content as Insert would have stored it
// (contentText), so that it matches exactly the records content_text
// LIKE '%text%' matched; one stored before has content_text.
func ContentContains(contentZ []byte, stored string, text string) (bool, error) {
	if contentZ == nil {
		return strings.Contains(stored, text), nil
	}
	buf := searchBufs.Get().(*[]byte)
	defer searchBufs.Put(buf)
	b := contentZ
	if bytes.HasPrefix(b, zstdMagic) {
		var err error
		if b, err = bodyDecoder.DecodeAll(b, (*buf)[:0]); err != nil {
			return false, err
		}
		*buf = b
	}
	var blocks []analytics.Block
	if err := json.Unmarshal(b, &blocks); err != nil {
		return false, err
	}
	return strings.Contains(contentText(blocks), text), nil
}
