package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// lcRecord returns a record with a random latency, time to first token,
// tokens, model (priced, unpriced, with a long prompt price) and user,
// some reporting their own cost, some Agent SDK results.
func lcRecord(rng *rand.Rand, start time.Time, span time.Duration, seq int) *analytics.Record {
	r := &analytics.Record{
		Time:        start.Add(time.Duration(rng.Int64N(int64(span)))),
		Source:      "native",
		App:         pickOne(rng, []string{"chat", "search", "batch"}),
		Environment: pickOne(rng, []string{"prod", "dev"}),
		Model:       pickOne(rng, []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-opus-4-6", "claude-next-1", ""}),
		Kind:        analytics.KindMessage,
		UserID:      pickOne(rng, []string{"", "u1", "u2", "u3", "u4"}),
		MessageID:   fmt.Sprintf("msg_lc_%d", seq),
		StopReason:  analytics.StopEndTurn,
		Usage: analytics.Usage{InputTokens: rng.Int64N(5000), OutputTokens: rng.Int64N(2000),
			CacheReadInputTokens: rng.Int64N(3) * rng.Int64N(20000), CacheCreationInputTokens: rng.Int64N(2) * rng.Int64N(4000)},
	}
	if rng.IntN(10) == 0 { // a long prompt
		r.Usage.CacheReadInputTokens = 150_000 + rng.Int64N(100_000)
	}
	if rng.IntN(2) == 0 { // part of the cache writes for 1 hour
		r.Usage.CacheCreation1hInputTokens = rng.Int64N(r.Usage.CacheCreationInputTokens + 1)
	}
	if rng.IntN(8) > 0 {
		r.LatencyMS = 1 + int64(rng.ExpFloat64()*1500)
	}
	if rng.IntN(2) == 0 {
		r.Streamed, r.TTFTMS = true, 1+int64(rng.ExpFloat64()*300)
	}
	switch rng.IntN(10) {
	case 0:
		r.Kind, r.StopReason, r.Subtype = analytics.KindAgentResult, analytics.StopEndTurn, analytics.SubtypeSuccess
		r.CostUSD, r.NumTurns, r.DurationMS = float64(rng.IntN(5000))/1e4, 1+rng.Int64N(30), 1+rng.Int64N(600000)
		r.LatencyMS, r.TTFTMS = 0, 0
	case 1:
		r.CostUSD = float64(1+rng.IntN(900)) / 1e5 // reported by its producer
	case 2:
		r.Kind, r.StopReason, r.HTTPStatus, r.ErrorType = analytics.KindError, analytics.StopNull, 529, "overloaded_error"
		r.Usage = analytics.Usage{}
	}
	return r
}

// lcExpect computes from the records themselves what the latency and
// usage rollups must answer for f.
func lcExpect(recs []*analytics.Record, f store.Filter) (map[string]*analytics.Histogram, map[store.UsageRow]analytics.UsageCounts, map[string][]int64) {
	hists := map[string]*analytics.Histogram{}
	raw := map[string][]int64{}
	usage := map[store.UsageRow]analytics.UsageCounts{}
	for _, r := range recs {
		if (!f.From.IsZero() && r.Time.Before(f.From)) || (!f.To.IsZero() && !r.Time.Before(f.To)) ||
			(f.App != "" && r.App != f.App) || (f.Model != "" && r.Model != f.Model) {
			continue
		}
		ms, vs, n := analytics.LatenciesOf(r)
		for j := 0; j < n; j++ {
			k := r.App + "|" + r.Model + "|" + ms[j]
			if hists[k] == nil {
				hists[k] = new(analytics.Histogram)
			}
			hists[k].AddValue(vs[j])
			raw[k] = append(raw[k], vs[j])
		}
		k := store.UsageRow{App: r.App, Environment: r.Environment, Model: r.Model, Kind: r.Kind, LongPrompt: analytics.LongPromptOf(r)}
		c := usage[k]
		c.Add(analytics.UsageOf(r))
		usage[k] = c
	}
	return hists, usage, raw
}

// lcGot reads the store's answer for f in the shape of lcExpect.
func lcGot(t *testing.T, s store.Store, f store.Filter) (map[string]*analytics.Histogram, map[store.UsageRow]analytics.UsageCounts) {
	t.Helper()
	bins, err := s.LatencyBins(ctx(), f)
	if err != nil {
		t.Fatalf("LatencyBins: %v", err)
	}
	hists := map[string]*analytics.Histogram{}
	for _, b := range bins {
		k := b.App + "|" + b.Model + "|" + b.Metric
		if hists[k] == nil {
			hists[k] = new(analytics.Histogram)
		}
		hists[k].Add(b.Bin, b.N)
	}
	rows, err := s.Usage(ctx(), f, false)
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	usage := map[store.UsageRow]analytics.UsageCounts{}
	for _, r := range rows {
		k := r
		k.UsageCounts = analytics.UsageCounts{}
		c := usage[k]
		c.Add(r.UsageCounts)
		usage[k] = c
	}
	return hists, usage
}

func histString(h *analytics.Histogram) string {
	if h == nil {
		return "none"
	}
	b, c := h.Bins()
	return fmt.Sprint(b, c)
}

// checkLC compares the store's latency and usage figures for f with the
// records': histograms and usage exactly, percentiles within the
// histograms' stated resolution of the exact ones, cost per app within
// float rounding of each record priced on its own.
func checkLC(t *testing.T, s store.Store, recs []*analytics.Record, f store.Filter) {
	t.Helper()
	wantH, wantU, raw := lcExpect(recs, f)
	gotH, gotU := lcGot(t, s, f)
	for k := range wantH {
		if histString(gotH[k]) != histString(wantH[k]) {
			t.Errorf("%v: histogram %s\n got %s\nwant %s", f, k, histString(gotH[k]), histString(wantH[k]))
		}
		vals := slices.Sorted(slices.Values(raw[k]))
		for _, p := range []int{50, 95, 99} {
			exact, _ := analytics.NearestRank(vals, p)
			got, ok := gotH[k].Percentile(p)
			if !ok || math.Abs(float64(got-exact)) > analytics.LatencyResolution*float64(exact) {
				t.Errorf("%v: %s p%d = %d, exact %d: off by more than %.1f%%", f, k, p, got, exact, 100*analytics.LatencyResolution)
			}
		}
	}
	for k := range gotH {
		if wantH[k] == nil {
			t.Errorf("%v: histogram %s of no record: %s", f, k, histString(gotH[k]))
		}
	}
	if !reflect.DeepEqual(gotU, wantU) {
		for k, w := range wantU {
			if gotU[k] != w {
				t.Errorf("%v: usage %+v\n got %+v\nwant %+v", f, k, gotU[k], w)
			}
		}
		for k, g := range gotU {
			if _, ok := wantU[k]; !ok {
				t.Errorf("%v: usage %+v of no record: %+v", f, k, g)
			}
		}
	}
	// Cost per app from the rollups, against each record priced alone.
	gotCost, wantCost := map[string]analytics.Cost{}, map[string]analytics.Cost{}
	for k, u := range gotU {
		c := gotCost[k.App]
		c.Add(analytics.CostOf(k.Model, k.LongPrompt, u))
		gotCost[k.App] = c
	}
	for _, r := range recs {
		if (!f.From.IsZero() && r.Time.Before(f.From)) || (!f.To.IsZero() && !r.Time.Before(f.To)) ||
			(f.App != "" && r.App != f.App) || (f.Model != "" && r.Model != f.Model) {
			continue
		}
		c := wantCost[r.App]
		switch p, ok := analytics.PriceOf(r.Model); {
		case r.CostUSD > 0:
			c.USD += float64(int64(r.CostUSD*1e6+0.5)) / 1e6
		case analytics.TokensOf(r).Total() == 0:
		case !ok:
			c.UnknownN++
		default:
			c.USD += p.RatesFor(p.LongPrompt(r.Usage)).CostUSD(analytics.TokensOf(r))
		}
		wantCost[r.App] = c
	}
	for app, w := range wantCost {
		g := gotCost[app]
		if g.UnknownN != w.UnknownN || math.Abs(g.USD-w.USD) > 1e-9*max(1, w.USD) {
			t.Errorf("%v: cost of %s = %+v, want %+v", f, app, g, w)
		}
	}
}

// testLatencyCost stores records over three days and checks the latency
// and usage figures of many ranges against the records, before and after
// a rebuild, and the bound on users.
func testLatencyCost(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(16, 1))
	var recs []*analytics.Record
	for i := range 1500 {
		recs = append(recs, lcRecord(rng, t0.Add(-36*time.Hour), 72*time.Hour, i))
	}
	for lo := 0; lo < len(recs); lo += 200 {
		insert(t, s, recs[lo:min(len(recs), lo+200)]...)
	}
	filters := []store.Filter{
		{},
		{From: t0, To: t0.Add(24 * time.Hour)},
		{From: t0.Add(-90 * time.Minute), To: t0.Add(7*time.Hour + 17*time.Second)},
		{From: t0.Add(-36*time.Hour + 13*time.Minute), To: t0.Add(30*time.Hour + 41*time.Minute)},
		{From: t0.Add(5 * time.Minute), To: t0.Add(50 * time.Minute)},
		// Edges read as whole hours minus their rest's records.
		{From: t0.Add(-50 * time.Minute), To: t0.Add(5*time.Hour + 50*time.Minute)},
		{From: t0.Add(-23*time.Hour - 50*time.Minute), To: t0.Add(23*time.Hour + 59*time.Minute + 30*time.Second)},
		{From: t0.Add(-12 * time.Hour), App: "chat"},
		{Model: "claude-sonnet-4-5-20250929"},
		{From: t0.Add(time.Hour), To: t0.Add(time.Hour)},
	}
	for _, f := range filters {
		checkLC(t, s, recs, f)
	}
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	for _, f := range filters {
		checkLC(t, s, recs, f)
	}

	for _, f := range []store.Filter{{Kind: analytics.KindMessage}, {Flag: analytics.FlagRefusal}, {From: t0, To: t0.Add(-time.Hour)}} {
		if _, err := s.LatencyBins(ctx(), f); errCode(err) != analytics.EInvalid {
			t.Errorf("LatencyBins(%+v) = %v, want %s", f, err, analytics.EInvalid)
		}
		if _, err := s.Usage(ctx(), f, true); errCode(err) != analytics.EInvalid {
			t.Errorf("Usage(%+v) = %v, want %s", f, err, analytics.EInvalid)
		}
	}
}

// testUsageUsers floods one app with more users in an hour than the
// rollups keep apart, and checks that the first ones keep rows of their
// own, the rest share the "other users" row, and nothing is lost, also
// after a rebuild.
func testUsageUsers(t *testing.T, s store.Store) {
	const extra = 25
	at := t0.Add(30 * time.Hour)
	var recs []*analytics.Record
	for i := range store.MaxUsersPerBucket + extra {
		recs = append(recs, &analytics.Record{Time: at.Add(time.Duration(i) * time.Second), Source: "native", App: "crowd",
			Kind: analytics.KindMessage, Model: "claude-haiku-4-5", StopReason: analytics.StopEndTurn, UserID: fmt.Sprintf("user-%04d", i),
			Usage: analytics.Usage{InputTokens: 100, OutputTokens: 10}})
	}
	for lo := 0; lo < len(recs); lo += 100 {
		insert(t, s, recs[lo:min(len(recs), lo+100)]...)
	}
	check := func(when string) {
		t.Helper()
		// A whole hour: read from the rollups alone.
		rows, err := s.Usage(ctx(), store.Filter{From: at, To: at.Add(time.Hour)}, true)
		if err != nil {
			t.Fatalf("%s: Usage: %v", when, err)
		}
		own, other := map[string]bool{}, int64(0)
		var n int64
		for _, r := range rows {
			n += r.N
			if r.OtherUser {
				other += r.N
				continue
			}
			own[r.UserID] = true
		}
		if n != int64(len(recs)) || len(own) != store.MaxUsersPerBucket || other != extra {
			t.Errorf("%s: %d records, %d users of their own, %d in other users; want %d, %d, %d",
				when, n, len(own), other, len(recs), store.MaxUsersPerBucket, extra)
		}
		if !own["user-0000"] || own[fmt.Sprintf("user-%04d", store.MaxUsersPerBucket)] {
			t.Errorf("%s: the first users are not the ones kept apart", when)
		}
	}
	check("after insert")
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	check("after rebuild")

	// Late in the hour, calls of five users with rows of their own and of
	// the folded ones. A range that stops before them is read as the whole
	// hour minus those records: each must come off the row it was counted
	// in, its user's or "other users".
	var late []*analytics.Record
	for i := store.MaxUsersPerBucket - 5; i < store.MaxUsersPerBucket+extra; i++ {
		late = append(late, &analytics.Record{Time: at.Add(56*time.Minute + time.Duration(i)*time.Millisecond), Source: "native", App: "crowd",
			Kind: analytics.KindMessage, Model: "claude-haiku-4-5", StopReason: analytics.StopEndTurn, UserID: fmt.Sprintf("user-%04d", i),
			Usage: analytics.Usage{InputTokens: 7, OutputTokens: 3}})
	}
	insert(t, s, late...)
	rows, err := s.Usage(ctx(), store.Filter{From: at, To: at.Add(55 * time.Minute)}, true)
	if err != nil {
		t.Fatalf("Usage before the late calls: %v", err)
	}
	var n, other, input int64
	for _, r := range rows {
		n, input = n+r.N, input+r.Tokens.Input
		if r.N <= 0 || r.Tokens.Input != 100*r.N {
			t.Errorf("before the late calls: row %s other=%v counts %d calls, %d input tokens", r.UserID, r.OtherUser, r.N, r.Tokens.Input)
		}
		if r.OtherUser {
			other += r.N
		}
	}
	if n != int64(len(recs)) || other != extra || input != 100*int64(len(recs)) {
		t.Errorf("before the late calls: %d calls (%d in other users), %d input tokens; want %d (%d), %d",
			n, other, input, len(recs), extra, 100*len(recs))
	}
}

// testLatencyCostMerge stores the separate signals of calls, which merge
// into records whose latency and usage move, and checks the rollups
// against the merged records and a rebuild.
func testLatencyCostMerge(t *testing.T, s store.Store) {
	logs, refusal, spans := claudeCodeSignals("merged")
	insert(t, s, logs...)
	insert(t, s, refusal...)
	insert(t, s, spans...)
	merged, err := s.Records(ctx(), store.Filter{App: "merged"}, 100)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	for _, f := range []store.Filter{{}, {From: t0, To: t0.Add(24 * time.Hour)}, {From: t0.Add(3 * time.Hour), To: t0.Add(3*time.Hour + time.Minute)}} {
		checkLC(t, s, merged, f)
	}
	bins, _ := s.LatencyBins(ctx(), store.Filter{})
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	after, _ := s.LatencyBins(ctx(), store.Filter{})
	if !reflect.DeepEqual(bins, after) {
		t.Errorf("latency bins after merges\n got %v\nrebuilt %v", bins, after)
	}
	if bc, ok := s.(store.BulkCopier); ok {
		if err := bc.CopyDays(ctx(), 3); err != nil {
			t.Fatalf("CopyDays: %v", err)
		}
		all, err := s.Records(ctx(), store.Filter{App: "merged"}, 100)
		if err != nil {
			t.Fatalf("Records: %v", err)
		}
		checkLC(t, s, all, store.Filter{})
		checkLC(t, s, all, store.Filter{From: t0.Add(-24 * time.Hour), To: t0})
	}
}

// testLatencyCostLate reads the figures of closed days, which the store
// may keep, then stores late records into those days, hours and the
// ragged edges, and checks that each read still matches the records.
func testLatencyCostLate(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(16, 2))
	var recs []*analytics.Record
	filters := []store.Filter{
		{},
		{From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour)},
		{From: t0.Add(-90 * time.Minute), To: t0.Add(7*time.Hour + 17*time.Second)},
		{From: t0.Add(-36*time.Hour + 13*time.Minute), To: t0.Add(30*time.Hour + 41*time.Minute)},
		{From: t0.Add(-30 * time.Hour), App: "chat"},
	}
	for round := range 3 {
		var batch []*analytics.Record
		for range 300 {
			batch = append(batch, lcRecord(rng, t0.Add(-36*time.Hour), 72*time.Hour, len(recs)+len(batch)))
		}
		recs = append(recs, batch...)
		insert(t, s, batch...)
		for _, f := range filters {
			checkLC(t, s, recs, f)
			// A second read, from what the first left, agrees too.
			checkLC(t, s, recs, f)
		}
		if round == 1 {
			if err := s.RebuildRollups(ctx()); err != nil {
				t.Fatalf("RebuildRollups: %v", err)
			}
		}
	}
}
