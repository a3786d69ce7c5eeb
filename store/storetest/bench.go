package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// BenchInsert measures Insert with batches of 100 and 1000 realistic
// records (bodies of about 1.5 KB, unique identities, nearly in time order)
// and reports records/s. open is called once per sub-benchmark run.
func BenchInsert(b *testing.B, open func(b *testing.B) store.Store) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := open(b)
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			seq := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				batch := make([]*analytics.Record, size)
				for j := range batch {
					seq++
					batch[j] = benchRecord(rng, seq)
				}
				b.StartTimer()
				if err := s.Insert(ctx(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

var benchText = strings.Repeat("The answer, with some detail. ", 20)

func benchRecord(rng *rand.Rand, seq int) *analytics.Record {
	// Arrivals are nearly in time order, as at a live ingest: 2 ms apart,
	// up to 5 s late.
	r := randomRecord(rng, t0, time.Hour, 1)
	r.Time = t0.Add(time.Duration(seq)*2*time.Millisecond - time.Duration(rng.Int64N(int64(5*time.Second))))
	// Dims as they come: one environment, error fields only on errors,
	// subtypes only on Agent SDK results.
	r.Environment = "prod"
	switch r.Kind {
	case analytics.KindError:
		r.StopReason, r.Subtype = analytics.StopNull, ""
		if r.ErrorType == "" {
			r.ErrorType, r.HTTPStatus = "overloaded_error", 529
		}
	case analytics.KindAgentResult:
		r.ErrorType, r.HTTPStatus = "", 0
	default:
		r.ErrorType, r.HTTPStatus, r.Subtype = "", 0, ""
	}
	r.MessageID = fmt.Sprintf("msg_%012d", seq)
	r.RequestID = fmt.Sprintf("req_%012d", seq)
	r.SessionID = fmt.Sprintf("sess_%d", seq/20)
	r.Content = []analytics.Block{{Type: "text", Text: benchText}}
	r.RequestBody = json.RawMessage(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"` + benchText[:300] + `"}]}`)
	r.ResponseBody = json.RawMessage(`{"id":"` + r.MessageID + `","type":"message","content":[{"type":"text","text":"` + benchText + `"}],"stop_reason":"end_turn"}`)
	return r
}

// BenchBytes inserts 20,000 of BenchInsert's records in batches of 500,
// with their content and stripped of it (analytics.StripContent, as
// --metadata-only stores them), into a store from open each, and reports
// what size says the store's data takes on disk per record, indexes and
// rollups included. Its time is the insert's.
func BenchBytes(b *testing.B, open func(tb testing.TB) store.Store, size func(b *testing.B, s store.Store) int64) {
	const n, batch = 20000, 500
	for _, content := range []bool{true, false} {
		b.Run(fmt.Sprintf("content=%v", content), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := open(b)
				before := size(b, s)
				rng := rand.New(rand.NewPCG(2, 18))
				b.StartTimer()
				for seq := 0; seq < n; {
					recs := make([]*analytics.Record, batch)
					for j := range recs {
						seq++
						recs[j] = benchRecord(rng, seq)
						if !content {
							analytics.StripContent(recs[j])
						}
					}
					if err := s.Insert(ctx(), recs); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(size(b, s)-before)/n, "B/record")
				b.StartTimer()
			}
		})
	}
}

// BenchRead inserts 20,000 of BenchInsert's records into a store from open
// and measures reading them back: a page of List, a page of Records, and
// a free-text search that matches one record in a hundred (List's first
// page walks about 5,000 records) and one that matches none (Count reads
// every record).
func BenchRead(b *testing.B, open func(tb testing.TB) store.Store) {
	const n, batch = 20000, 500
	s := open(b)
	rng := rand.New(rand.NewPCG(3, 18))
	for seq := 0; seq < n; {
		recs := make([]*analytics.Record, batch)
		for j := range recs {
			seq++
			recs[j] = benchRecord(rng, seq)
			if seq%100 == 0 {
				recs[j].Content = []analytics.Block{{Type: "text", Text: benchText + " Rare Needle."}}
			}
		}
		if err := s.Insert(ctx(), recs); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		run  func() (int, error)
	}{
		{"list", func() (int, error) {
			rs, _, err := s.List(ctx(), store.Filter{}, 50, "")
			return len(rs), err
		}},
		{"records", func() (int, error) {
			rs, err := s.Records(ctx(), store.Filter{}, 50)
			return len(rs), err
		}},
		{"search-rare", func() (int, error) {
			rs, _, err := s.List(ctx(), store.Filter{Text: "rare needle"}, 50, "")
			return len(rs), err
		}},
		{"count-none", func() (int, error) {
			return s.Count(ctx(), store.Filter{Text: "zebra"}, n+1)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				got, err := c.run()
				if err != nil {
					b.Fatal(err)
				}
				if want := map[string]int{"list": 50, "records": 50, "search-rare": 50, "count-none": 0}[c.name]; got != want {
					b.Fatalf("%d records, want %d", got, want)
				}
			}
		})
	}
}
