package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The value sets random records draw their dims from: small, so that
// groups collide, and with empty values, which are real dims too.
var (
	rndApps    = []string{"a", "b", "c"}
	rndEnvs    = []string{"prod", "staging", ""}
	rndModels  = []string{"claude-opus-4-1", "claude-sonnet-4-5", ""}
	rndStops   = []analytics.StopReason{analytics.StopNull, analytics.StopEndTurn, analytics.StopMaxTokens, analytics.StopToolUse, analytics.StopRefusal, "compaction"}
	rndErrors  = []string{"", "", "overloaded_error", "rate_limit_error"}
	rndStatus  = []int{0, 0, 429, 529}
	rndSubtype = []string{"", analytics.SubtypeSuccess, analytics.SubtypeErrorMaxTurns}
	rndRefusal = []analytics.RefusalCategory{analytics.RefusalCategoryNull, analytics.RefusalCategoryCyber, analytics.RefusalCategoryBio}
	// Fewer releases and prompt versions than store.MaxDimValues: each is
	// counted as itself (testDimCap tests the cap).
	rndReleases = []string{"", "", "r41", "r42"}
	rndPrompts  = []string{"", "v3", "v4"}
)

// noneAsEmpty is the stored value a filter value selects: "" for
// store.None.
func noneAsEmpty(v string) string {
	if v == store.None {
		return ""
	}
	return v
}

func pickOne[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

// randomRecord makes a record at a random time in [start, start+span), a
// tenth of them exactly on a minute, hour or day boundary.
func randomRecord(rng *rand.Rand, start time.Time, span time.Duration, idPool int) *analytics.Record {
	at := start.Add(time.Duration(rng.Int64N(int64(span))))
	if rng.IntN(10) == 0 {
		at = at.Truncate(pickOne(rng, []time.Duration{time.Minute, time.Hour, 24 * time.Hour}))
	}
	r := &analytics.Record{
		Time: at, App: pickOne(rng, rndApps), Environment: pickOne(rng, rndEnvs),
		Model: pickOne(rng, rndModels), Kind: pickOne(rng, analytics.Kinds),
		StopReason: pickOne(rng, rndStops), ErrorType: pickOne(rng, rndErrors),
		HTTPStatus: pickOne(rng, rndStatus), Subtype: pickOne(rng, rndSubtype),
		Flags:     analytics.Flags(rng.IntN(int(analytics.FlagMask)+1)) & analytics.FlagMask,
		Usage:     analytics.Usage{InputTokens: rng.Int64N(5000), OutputTokens: rng.Int64N(2000)},
		LatencyMS: rng.Int64N(30000), CostUSD: float64(rng.IntN(100000)) / 1e7,
		Release: pickOne(rng, rndReleases), PromptVersion: pickOne(rng, rndPrompts),
	}
	if rng.IntN(4) == 0 {
		r.Causes = []analytics.Cause{analytics.CauseTextAfterToolResult}
	}
	// stop_details on some records of every stop reason: only refusals'
	// category is a dimension.
	if rng.IntN(3) == 0 {
		r.StopDetails = &analytics.StopDetails{Type: "refusal", Category: pickOne(rng, rndRefusal)}
	}
	if r.StopReason == "compaction" || rng.IntN(8) == 0 {
		r.Usage.CompactionInputTokens, r.Usage.CompactionOutputTokens = rng.Int64N(200000), rng.Int64N(3000)
	}
	// Identities from a pool, so that some repeat within an app and across
	// apps; some records have none.
	switch rng.IntN(5) {
	case 0:
	case 1:
		r.RequestID = fmt.Sprintf("req_%d", rng.IntN(idPool))
	default:
		r.MessageID = fmt.Sprintf("msg_%d", rng.IntN(idPool))
	}
	return r
}

// randomBatches makes n records in batches, in an order where later batches
// may hold earlier times (late and out-of-order arrivals), with some
// batches sent again as retries.
func randomBatches(rng *rand.Rand, n int, start time.Time, span time.Duration) [][]*analytics.Record {
	var batches [][]*analytics.Record
	for made := 0; made < n; {
		size := min(1+rng.IntN(300), n-made)
		// Each batch covers a random window: arrivals overlap in time.
		from := start.Add(time.Duration(rng.Int64N(int64(span - span/8))))
		var b []*analytics.Record
		for i := 0; i < size; i++ {
			b = append(b, randomRecord(rng, from, span/8, n))
		}
		batches = append(batches, b)
		made += size
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	for i := 0; i < len(batches)/4; i++ {
		orig := batches[rng.IntN(len(batches))]
		retry := make([]*analytics.Record, len(orig))
		for j, r := range orig {
			c := *r
			retry[j] = &c
		}
		at := rng.IntN(len(batches) + 1)
		batches = slices.Insert(batches, at, retry)
	}
	return batches
}

// model is what a store should hold: the records it must have stored, in
// the order of their batches, a later record of an identity already stored
// for its app merged into the first (analytics.Merge).
type model struct {
	stored []*analytics.Record
	seen   map[string]int // app NUL identity → index in stored
}

// add returns whether the store must store r as a new record, and keeps it
// if so, or merges it into the record of its identity.
func (m *model) add(r *analytics.Record) bool {
	if id := r.Identity(); id != "" {
		key := r.App + "\x00" + id
		if i, ok := m.seen[key]; ok {
			if merged, changed := analytics.Merge(m.stored[i], r); changed {
				m.stored[i] = merged
			}
			return false
		}
		m.seen[key] = len(m.stored)
	}
	m.stored = append(m.stored, r)
	return true
}

// expect computes what Aggregate should answer for q, from the records.
func (m *model) expect(q store.Query) []analytics.Group {
	f := q.Filter
	sums := map[analytics.Group]*analytics.Counts{}
	var keys []analytics.Group
	for _, r := range m.stored {
		switch {
		case !f.From.IsZero() && r.Time.Before(f.From),
			!f.To.IsZero() && !r.Time.Before(f.To),
			f.App != "" && r.App != noneAsEmpty(f.App),
			f.Environment != "" && r.Environment != noneAsEmpty(f.Environment),
			f.Model != "" && r.Model != noneAsEmpty(f.Model),
			f.Kind != "" && r.Kind != f.Kind,
			f.HasStopReason && (r.StopReason != f.StopReason || r.Kind == analytics.KindError),
			f.ErrorType == store.None && (r.ErrorType != "" || r.Kind != analytics.KindError),
			f.ErrorType != "" && f.ErrorType != store.None && r.ErrorType != f.ErrorType,
			f.HasRefusalCategory && (r.StopReason != analytics.StopRefusal || r.RefusalCategory() != f.RefusalCategory),
			f.Release != "" && r.Release != f.Release,
			f.PromptVersion != "" && r.PromptVersion != f.PromptVersion:
			continue
		}
		var k analytics.Group
		if q.Bucket > 0 {
			w := int64(q.Bucket / time.Second)
			k.Bucket = time.Unix(r.Time.Unix()/w*w, 0).UTC()
		}
		for _, d := range q.GroupBy {
			switch d {
			case store.DimApp:
				k.App = r.App
			case store.DimEnvironment:
				k.Environment = r.Environment
			case store.DimModel:
				k.Model = r.Model
			case store.DimKind:
				k.Kind = r.Kind
			case store.DimStopReason:
				k.StopReason = r.StopReason
			case store.DimErrorType:
				k.ErrorType = r.ErrorType
			case store.DimHTTPStatus:
				k.HTTPStatus = r.HTTPStatus
			case store.DimSubtype:
				k.Subtype = r.Subtype
			case store.DimRefusalCategory:
				k.RefusalCategory = r.RefusalCategory()
			case store.DimRelease:
				k.Release = r.Release
			case store.DimPromptVersion:
				k.PromptVersion = r.PromptVersion
			}
		}
		c := sums[k]
		if c == nil {
			c = new(analytics.Counts)
			sums[k] = c
			keys = append(keys, k)
		}
		c.Add(analytics.CountsOf(r))
	}
	out := []analytics.Group{}
	for _, k := range keys {
		g := k
		g.Counts = *sums[k]
		out = append(out, g)
	}
	slices.SortFunc(out, compareGroups)
	return out
}

// compareGroups is the order Aggregate returns groups in.
func compareGroups(a, b analytics.Group) int {
	return cmp.Or(
		a.Bucket.Compare(b.Bucket),
		strings.Compare(a.App, b.App),
		strings.Compare(a.Environment, b.Environment),
		strings.Compare(a.Model, b.Model),
		strings.Compare(string(a.Kind), string(b.Kind)),
		strings.Compare(string(a.StopReason), string(b.StopReason)),
		strings.Compare(a.ErrorType, b.ErrorType),
		cmp.Compare(a.HTTPStatus, b.HTTPStatus),
		strings.Compare(a.Subtype, b.Subtype),
		strings.Compare(string(a.RefusalCategory), string(b.RefusalCategory)),
		strings.Compare(a.Release, b.Release),
		strings.Compare(a.PromptVersion, b.PromptVersion),
	)
}

// randomTime returns a query bound: anywhere around the records, often on
// a minute, hour or day boundary, sometimes exactly on a record or just
// after one.
func randomTime(rng *rand.Rand, start time.Time, span time.Duration, recs []*analytics.Record) time.Time {
	at := start.Add(time.Duration(rng.Int64N(int64(span+4*time.Hour))) - 2*time.Hour)
	switch rng.IntN(10) {
	case 0, 1, 2:
		return at.Truncate(time.Minute)
	case 3, 4:
		return at.Truncate(time.Hour)
	case 5:
		return at.Truncate(24 * time.Hour)
	case 6:
		return pickOne(rng, recs).Time.Add(time.Duration(rng.IntN(2)))
	}
	return at
}

func randomQuery(rng *rand.Rand, start time.Time, span time.Duration, recs []*analytics.Record) store.Query {
	var q store.Query
	a, b := randomTime(rng, start, span, recs), randomTime(rng, start, span, recs)
	if b.Before(a) {
		a, b = b, a
	}
	if rng.IntN(10) != 0 {
		q.Filter.From = a
	}
	if rng.IntN(10) != 0 {
		q.Filter.To = b
	}
	if rng.IntN(5) == 0 {
		q.Filter.App = pickOne(rng, rndApps)
	}
	// store.None selects the records with no value.
	if rng.IntN(10) == 0 {
		q.Filter.Environment = pickOne(rng, []string{rndEnvs[0], rndEnvs[1], store.None})
	}
	if rng.IntN(10) == 0 {
		q.Filter.Model = pickOne(rng, []string{rndModels[0], rndModels[1], store.None})
	}
	if rng.IntN(10) == 0 {
		q.Filter.Kind = pickOne(rng, analytics.Kinds)
	}
	if rng.IntN(7) == 0 {
		q.Filter.HasStopReason, q.Filter.StopReason = true, pickOne(rng, rndStops)
	}
	if rng.IntN(10) == 0 {
		q.Filter.ErrorType = pickOne(rng, append([]string{store.None}, rndErrors[2:]...))
	}
	if rng.IntN(8) == 0 {
		q.Filter.HasRefusalCategory, q.Filter.RefusalCategory = true, pickOne(rng, rndRefusal)
	}
	if rng.IntN(8) == 0 {
		q.Filter.Release = pickOne(rng, rndReleases[2:])
	}
	if rng.IntN(8) == 0 {
		q.Filter.PromptVersion = pickOne(rng, rndPrompts[1:])
	}
	for _, d := range allDims {
		if rng.IntN(5) == 0 {
			q.GroupBy = append(q.GroupBy, d)
		}
	}
	q.Bucket = pickOne(rng, []time.Duration{0, 0, time.Minute, time.Hour, 24 * time.Hour})
	return q
}

func testRandomized(t *testing.T, s store.Store) {
	const (
		records = 4000
		queries = 300
	)
	rng := rand.New(rand.NewPCG(20250303, 1))
	start := t0.Add(-36*time.Hour + 17*time.Second + 123)
	span := 3 * 24 * time.Hour
	m := &model{seen: map[string]int{}}
	for i, b := range randomBatches(rng, records, start, span) {
		var want []bool
		for _, r := range b {
			want = append(want, m.add(r))
		}
		if err := s.Insert(ctx(), b); err != nil {
			t.Fatalf("Insert of batch %d: %v", i, err)
		}
		for j, r := range b {
			if (r.ID != 0) != want[j] {
				t.Fatalf("batch %d record %d (%s/%q): ID %d, want stored=%v", i, j, r.App, r.Identity(), r.ID, want[j])
			}
		}
	}
	if len(m.stored) < records/2 {
		t.Fatalf("only %d records stored: the fixture dedupes too much", len(m.stored))
	}

	qs := make([]store.Query, queries)
	for i := range qs {
		qs[i] = randomQuery(rng, start, span, m.stored)
	}
	check := func(phase string) {
		failures := 0
		for i, q := range qs {
			got, err := s.Aggregate(ctx(), q)
			if err != nil {
				t.Fatalf("%s: query %d %+v: %v", phase, i, q, err)
			}
			want := m.expect(q)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: query %d %+v:\n got %d groups %s\nwant %d groups %s", phase, i, q, len(got), firstDiff(got, want), len(want), firstDiff(want, got))
				if failures++; failures == 5 {
					t.FailNow()
				}
			}
		}
	}
	check("incremental")
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	check("rebuilt")

	// The listing holds exactly the stored records, newest first.
	var listed int
	var cursor store.Cursor
	for {
		page, next, err := s.List(ctx(), store.Filter{}, 1000, cursor)
		if err != nil {
			t.Fatal(err)
		}
		listed += len(page)
		if next == "" {
			break
		}
		cursor = next
	}
	if listed != len(m.stored) {
		t.Errorf("listed %d records, stored %d", listed, len(m.stored))
	}
}

// firstDiff describes the first group of a that b lacks.
func firstDiff(a, b []analytics.Group) string {
	for i, g := range a {
		if i >= len(b) || !reflect.DeepEqual(g, b[i]) {
			return fmt.Sprintf("first differing at %d: %+v", i, g)
		}
	}
	return "(no difference)"
}
