package sqlstore

import (
	"bytes"

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
var (
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	// Both are safe for concurrent EncodeAll and DecodeAll.
	bodyEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	bodyDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(1<<30))
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
