// Command zdictgen trains the zstd dictionary that store/sqlstore
// compresses stored content with (store/sqlstore/zdict/content.dict), on
// the demo's traffic: the bytes Insert compresses (sqlstore.CompressedValues)
// for a week of demo.Records at a fixed time and seed, so that a run
// reproduces the committed file byte for byte:
//
//	go run ./store/sqlstore/internal/zdictgen
//
// A dictionary, once shipped, must never change: frames name it by its ID,
// and one written with it decodes only with the same bytes. So the command
// refuses to overwrite a file that differs, unless told which new ID the
// new dictionary has (-id, and sqlstore must then register both).
//
// -eval SEED reports, instead, what the dictionary in the file saves and
// costs on demo traffic of another seed (held-out) and on the fixtures
// under the folders given as arguments, whole and decoded into records:
//
//	go run ./store/sqlstore/internal/zdictgen -eval 2 ingest/testfixtures
package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/demo"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/otlp"
	"github.com/stopscope/stopscope/store/sqlstore"
)

// The training set: the demo's week before trainTime, of trainSeed, one
// record in trainEvery.
var trainTime = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

const (
	trainSeed  = 1
	trainEvery = 4
)

// The dictionary's content is 32 KiB of 256-byte segments: 16 KiB saved
// 1% less on held-out demo traffic and 64 KiB 0.2% more, and segments of
// 128 or 1,024 bytes did worse (docs/performance.md).
const (
	defaultSize = 32 << 10
	defaultSeg  = 256
)

func main() {
	out := flag.String("o", "store/sqlstore/zdict/content.dict", "the dictionary file")
	id := flag.Uint("id", uint(sqlstore.ContentDictID), "the dictionary's ID")
	size := flag.Int("size", defaultSize, "the dictionary content's size in bytes")
	seg := flag.Int("seg", defaultSeg, "the length of the segments the content is made of")
	force := flag.Bool("force", false, "overwrite a file that differs (only with a new -id)")
	eval := flag.Uint64("eval", 0, "evaluate the dictionary in -o on the demo traffic of this seed and on the files given")
	flag.Parse()
	if err := run(*out, uint32(*id), *size, *seg, *force, *eval, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "zdictgen:", err)
		os.Exit(1)
	}
}

func run(out string, id uint32, size, seg int, force bool, eval uint64, files []string) error {
	if eval != 0 {
		d, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		return evaluate(d, eval, files)
	}
	d, err := Build(id, size, seg)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(out); err == nil && !bytes.Equal(old, d) && !force {
		return fmt.Errorf("%s differs from the dictionary built (%d bytes, was %d): a shipped dictionary never changes; give a new -id and -force", out, len(d), len(old))
	}
	return os.WriteFile(out, d, 0o644)
}

// Samples returns the values Insert compresses for one record in every
// of the demo's week before now, of seed.
func Samples(now time.Time, seed uint64, every int) ([][]byte, error) {
	recs, err := demo.Records(now, seed)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for i, r := range recs {
		if i%every == 0 {
			out = append(out, sqlstore.CompressedValues(r)...)
		}
	}
	return out, nil
}

// Build trains the dictionary: its content is chosen from the training
// samples (content), and zstd.BuildDict adds the entropy tables of the
// samples compressed with it, at the level sqlstore compresses at.
func Build(id uint32, size, seg int) ([]byte, error) {
	samples, err := Samples(trainTime, trainSeed, trainEvery)
	if err != nil {
		return nil, err
	}
	return zstd.BuildDict(zstd.BuildDictOptions{
		ID:       id,
		Contents: samples,
		History:  content(samples, size, seg),
		Offsets:  [3]int{1, 4, 8},
		Level:    zstd.SpeedDefault,
	})
}

// dmer is the length of the strings content counts: zstd's shortest
// matches at its default level are about that long.
const dmer = 8

// content picks a dictionary's content of at most size bytes from
// samples, much as zstd's COVER trainer does: the samples are cut into
// size/seg epochs of consecutive samples, and from each epoch the seg
// bytes of one sample are taken whose 8-byte strings occur in the most
// samples, counting each string once for the whole dictionary. The
// segments go in order of their worth, the best last, where offsets into
// the dictionary are the shortest. Nothing here depends on the order of a
// map, so the same samples give the same content.
func content(samples [][]byte, size, seg int) []byte {
	// freq: in how many samples each string occurs; those in one alone
	// are worth nothing.
	freq := map[uint64]int32{}
	in := map[uint64]bool{}
	total := 0
	for _, s := range samples {
		clear(in)
		for i := 0; i+dmer <= len(s); i++ {
			h := binary.LittleEndian.Uint64(s[i:])
			if !in[h] {
				in[h] = true
				freq[h]++
			}
		}
		total += len(s)
	}
	worth := func(h uint64) int64 {
		if f := freq[h]; f > 1 {
			return int64(f)
		}
		return 0
	}
	type segment struct {
		b     []byte
		score int64
		epoch int
	}
	var segs []segment
	epochs := max(1, size/seg)
	perEpoch := total/epochs + 1
	active := map[uint64]int{}
	next := 0 // the first sample of the epoch
	for e := 0; e < epochs && next < len(samples); e++ {
		best := segment{epoch: e}
		for n := 0; n < perEpoch && next < len(samples); next++ {
			s := samples[next]
			n += len(s)
			// Slide a window of seg bytes over s (s itself when
			// shorter), keeping the sum of the worth of the distinct
			// strings in it.
			clear(active)
			var score int64
			w := min(seg, len(s))
			for i := 0; i+dmer <= len(s); i++ {
				h := binary.LittleEndian.Uint64(s[i:])
				if active[h] == 0 {
					score += worth(h)
				}
				active[h]++
				// The window [i+dmer-w, i+dmer) has all its strings in.
				start := i + dmer - w
				if start < 0 {
					continue
				}
				if score > best.score {
					best.b, best.score = s[start:start+w], score
				}
				g := binary.LittleEndian.Uint64(s[start:])
				if active[g]--; active[g] == 0 {
					score -= worth(g)
				}
			}
		}
		if best.b == nil {
			continue
		}
		segs = append(segs, best)
		for i := 0; i+dmer <= len(best.b); i++ {
			delete(freq, binary.LittleEndian.Uint64(best.b[i:]))
		}
	}
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.epoch, b.epoch)) })
	var d []byte
	for _, s := range segs {
		d = append(d, s.b...)
	}
	if len(d) > size {
		d = d[len(d)-size:]
	}
	return d
}

// evaluate prints what the dictionary d saves on the demo traffic of
// seed and on the fixtures under files, compressing as sqlstore does, and
// what it costs: the bytes stored (the frame when it is smaller, as
// compressBody keeps), and the time to compress and decode each value on
// one core.
func evaluate(d []byte, seed uint64, files []string) error {
	type codec struct {
		name string
		enc  *zstd.Encoder
		dec  *zstd.Decoder
	}
	var codecs []codec
	for _, c := range []struct {
		name  string
		level zstd.EncoderLevel
		dict  bool
	}{{"default, no dictionary", zstd.SpeedDefault, false}, {"default, dictionary", zstd.SpeedDefault, true},
		{"fastest, no dictionary", zstd.SpeedFastest, false}, {"fastest, dictionary", zstd.SpeedFastest, true}} {
		eo := []zstd.EOption{zstd.WithEncoderLevel(c.level), zstd.WithZeroFrames(true), zstd.WithEncoderConcurrency(1),
			zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false)}
		do := []zstd.DOption{zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true)}
		if c.dict {
			eo = append(eo, zstd.WithEncoderDict(d))
			do = append(do, zstd.WithDecoderDicts(d))
		}
		enc, err := zstd.NewWriter(nil, eo...)
		if err != nil {
			return err
		}
		dec, err := zstd.NewReader(nil, do...)
		if err != nil {
			return err
		}
		codecs = append(codecs, codec{c.name, enc, dec})
	}
	codecs = append(codecs, codec{"sqlstore: fastest below 4 KiB", codecs[3].enc, codecs[3].dec})
	report := func(name string, samples [][]byte) {
		n := 0
		for _, s := range samples {
			n += len(s)
		}
		fmt.Printf("%s: %d values, %d B\n", name, len(samples), n)
		base := 0
		for i, c := range codecs {
			stored, frames := 0, make([][]byte, len(samples))
			start := time.Now()
			var buf []byte
			for j, s := range samples {
				if i == 4 && len(s) >= 4<<10 { // as sqlstore.smallValue
					buf = codecs[1].enc.EncodeAll(s, buf[:0])
				} else {
					buf = c.enc.EncodeAll(s, buf[:0])
				}
				if len(buf) < len(s) {
					frames[j] = bytes.Clone(buf)
					stored += len(buf)
				} else {
					stored += len(s)
				}
			}
			enc := time.Since(start)
			start = time.Now()
			for _, f := range frames {
				if f != nil {
					var err error
					if buf, err = c.dec.DecodeAll(f, buf[:0]); err != nil {
						panic(err)
					}
				}
			}
			dec := time.Since(start)
			if i == 0 {
				base = stored
			}
			fmt.Printf("  %-24s %10d B stored (%+6.1f%%), compress %6.2f µs/value, decode %6.2f µs/value\n", c.name, stored,
				100*float64(stored-base)/float64(base), float64(enc.Nanoseconds())/1e3/float64(len(samples)),
				float64(dec.Nanoseconds())/1e3/float64(len(samples)))
		}
	}
	samples, err := Samples(trainTime, seed, 1)
	if err != nil {
		return err
	}
	report(fmt.Sprintf("demo traffic of seed %d", seed), samples)
	if len(files) == 0 {
		return nil
	}
	raw, recs, err := fixtures(files)
	if err != nil {
		return err
	}
	report("the files as they are", raw)
	var values [][]byte
	for _, r := range recs {
		values = append(values, sqlstore.CompressedValues(r)...)
	}
	report(fmt.Sprintf("the files as stored (%d records)", len(recs)), values)
	return nil
}

// fixtures reads the files given to -eval, or the files under them for a
// folder, and decodes into records those ingest takes: Messages API and
// Agent SDK bodies, SSE transcripts and OTLP JSON traces and logs. Request
// bodies, which no decoder takes alone, go in as a record's request body.
func fixtures(files []string) (raw [][]byte, recs []*analytics.Record, err error) {
	opts := ingest.Options{Now: trainTime}
	for _, root := range files {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".sse")) ||
				strings.HasSuffix(p, "expected.json") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			raw = append(raw, b)
			switch {
			case strings.HasSuffix(p, ".sse"):
				r, err := ingest.DecodeStream(string(b), opts)
				if err == nil {
					recs = append(recs, r)
				}
			case strings.Contains(p, "requests/"):
				recs = append(recs, &analytics.Record{RequestBody: b})
			default:
				if r, err := ingest.DecodeRecord(b, opts); err == nil {
					recs = append(recs, r)
				} else if td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b); err == nil && td.SpanCount() > 0 {
					rs, _, _ := otlp.Traces(td, trainTime)
					recs = append(recs, rs...)
				} else if ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(b); err == nil && ld.LogRecordCount() > 0 {
					rs, _, _ := otlp.Logs(ld, trainTime)
					recs = append(recs, rs...)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return raw, recs, nil
}
