package analytics

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// series simulates per-minute traffic of one scope: perMin calls a minute,
// each refused with probability rate(minute index).
func series(rng *rand.Rand, minutes, perMin int, rate func(i int) float64) []Group {
	out := make([]Group, 0, minutes)
	for i := range minutes {
		p := rate(i)
		var k int64
		for range perMin {
			if rng.Float64() < p {
				k++
			}
		}
		out = append(out, Group{
			Bucket: t0.Add(time.Duration(i) * time.Minute),
			Dims:   Dims{App: "chat", Environment: "prod", Model: "claude-x", Kind: KindMessage},
			Counts: Counts{N: int64(perMin)}.WithFlag(FlagRefusal, k),
		})
	}
	return out
}

func TestDetectSpike(t *testing.T) {
	cfg := DefaultSpikeConfig()
	base := Tally{K: 30, N: 1500}
	tests := []struct {
		name       string
		recent     Tally
		baseline   Tally
		want       bool
		reasonPart string
	}{
		{"three of five at 3 a.m.", Tally{3, 5}, base, false, "too few calls"},
		{"few events", Tally{4, 40}, base, false, "too few events"},
		{"no baseline", Tally{20, 100}, Tally{0, 20}, false, "baseline"},
		{"tiny lift on huge volume", Tally{25000, 1000000}, Tally{2000000, 100000000}, false, "rise too small"},
		{"noise", Tally{4, 100}, base, false, "too few events"},
		{"within noise at small counts", Tally{6, 75}, base, false, "not significant"},
		{"real jump", Tally{300, 1500}, base, true, "vs 2.0% baseline"},
		{"jump from a clean baseline", Tally{10, 40}, Tally{0, 5000}, true, "z="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := DetectSpike(cfg, tt.recent, tt.baseline)
			if res.Significant != tt.want || !strings.Contains(res.Reason, tt.reasonPart) {
				t.Errorf("DetectSpike(%v, %v) = %v %q (z=%.2f p=%.3g), want %v with %q",
					tt.recent, tt.baseline, res.Significant, res.Reason, res.Z, res.PValue, tt.want, tt.reasonPart)
			}
			if res.Observed.Num != tt.recent.K || res.Baseline.Den != tt.baseline.N {
				t.Errorf("rates = %+v / %+v", res.Observed, res.Baseline)
			}
		})
	}
}

func TestDetectSpikeSmallCountsUseExactTail(t *testing.T) {
	// 6 of 75 against 2%: the z-test's normal tail says p≈1e-4, the exact
	// binomial tail about 0.004, which is what an alert should believe.
	res := DetectSpike(DefaultSpikeConfig(), Tally{6, 75}, Tally{200, 10000})
	if z := NormalSF(res.Z); z > 2e-4 {
		t.Fatalf("normal p = %v, expected it to look significant", z)
	}
	if res.PValue < 0.001 || res.Significant {
		t.Errorf("p = %v significant=%v, want the exact tail (≈0.004) and no spike", res.PValue, res.Significant)
	}
}

func TestFindSpikesPlanted(t *testing.T) {
	cfg := DefaultSpikeConfig()
	rng := rand.New(rand.NewPCG(20260302, 1))
	start := 2 * 24 * 60 // the spike starts after two days
	s := series(rng, start+4*60, 100, func(i int) float64 {
		if i >= start && i < start+30 {
			return 0.20
		}
		return 0.02
	})
	spikeAt := t0.Add(time.Duration(start) * time.Minute)
	from, to := t0.Add(24*time.Hour), t0.Add(time.Duration(start+4*60)*time.Minute)
	spikes := FindSpikes(cfg, s, MetricRefusal, from, to)
	if len(spikes) != 1 {
		t.Fatalf("got %d spikes, want 1: %+v", len(spikes), spikes)
	}
	sp := spikes[0]
	if lag := sp.FirstDetected.Sub(spikeAt); lag <= 0 || lag > 2*cfg.Window {
		t.Errorf("detected %v after the start, want within (0, %v]", lag, 2*cfg.Window)
	}
	if sp.WindowStart.After(spikeAt) || sp.WindowEnd.Before(spikeAt.Add(30*time.Minute)) {
		t.Errorf("spike spans [%v, %v], want it to cover [%v, +30m]", sp.WindowStart, sp.WindowEnd, spikeAt)
	}
	if sp.Scope != (Scope{App: "chat", Environment: "prod", Model: "claude-x"}) || sp.Metric != MetricRefusal {
		t.Errorf("scope/metric = %v/%v", sp.Scope, sp.Metric)
	}
	if sp.Observed.Value < 0.15 || sp.Baseline.Value > 0.03 || sp.PValue >= cfg.Alpha || sp.Windows < 2 {
		t.Errorf("spike = %+v", sp)
	}
	t.Logf("detected %v after start; spike %v..%v, peak %.1f%% vs %.1f%%, z=%.1f",
		sp.FirstDetected.Sub(spikeAt), sp.WindowStart.Format("15:04"), sp.WindowEnd.Format("15:04"),
		100*sp.Observed.Value, 100*sp.Baseline.Value, sp.Z)
}

func TestFindSpikesStationary(t *testing.T) {
	// Days of traffic at a constant rate: at the default settings nothing
	// may page, at high or at low volume.
	tests := []struct {
		name   string
		perMin int
		rate   float64
	}{
		{"100/min at 2%", 100, 0.02},
		{"10/min at 2%", 10, 0.02},
		{"3/min at 10%", 3, 0.10},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(42, uint64(i)))
			days := 4
			s := series(rng, days*24*60, tt.perMin, func(int) float64 { return tt.rate })
			got := FindSpikes(DefaultSpikeConfig(), s, MetricRefusal, t0.Add(24*time.Hour), t0.Add(time.Duration(days)*24*time.Hour))
			if len(got) != 0 {
				t.Errorf("stationary traffic raised %d spikes, first %+v", len(got), got[0])
			}
		})
	}
}

func TestFindSpikesMergesAndSeparatesScopes(t *testing.T) {
	cfg := DefaultSpikeConfig()
	cfg.Baseline = time.Hour
	cfg.MinBaselineCalls = 10
	var s []Group
	for i := range 300 {
		for _, app := range []string{"a", "b"} {
			k := int64(1)
			// App a has two bursts far apart; app b none.
			if app == "a" && ((i >= 100 && i < 110) || (i >= 200 && i < 205)) {
				k = 30
			}
			s = append(s, Group{
				Bucket: t0.Add(time.Duration(i) * time.Minute),
				Dims:   Dims{App: app, Kind: KindMessage},
				Counts: Counts{N: 50}.WithFlag(FlagRefusal, k),
			}, Group{
				Bucket: t0.Add(time.Duration(i) * time.Minute),
				Dims:   Dims{App: app, Kind: KindError},
				Counts: Counts{N: 5},
			})
		}
	}
	got := FindSpikes(cfg, s, MetricRefusal, t0.Add(time.Hour), t0.Add(300*time.Minute))
	if len(got) != 2 {
		t.Fatalf("got %d spikes, want 2: %+v", len(got), got)
	}
	for i, sp := range got {
		if sp.Scope.App != "a" {
			t.Errorf("spike %d on %v", i, sp.Scope)
		}
	}
	if !got[0].WindowStart.Before(got[1].WindowStart) {
		t.Error("spikes not in order")
	}
	// After one burst minute the window's rate is 5.9% against 2%, under
	// the 5-point MinIncrease; after two it is 9.7%.
	if got[0].FirstDetected != t0.Add(102*time.Minute) {
		t.Errorf("first burst detected at %v, want 01:42", got[0].FirstDetected.Format("15:04"))
	}
	// Both bursts ended well before the range did.
	for i, sp := range got {
		if sp.Ongoing {
			t.Errorf("spike %d ending %v is ongoing in a range ending %v", i, sp.WindowEnd.Format("15:04"), t0.Add(300*time.Minute).Format("15:04"))
		}
	}
	// A range that ends inside the second burst (or within a window after
	// it) finds it still going on, whether the range ends on a bucket
	// boundary or within a bucket.
	for _, end := range []time.Duration{207 * time.Minute, 207*time.Minute + 30*time.Second} {
		cut := FindSpikes(cfg, s, MetricRefusal, t0.Add(time.Hour), t0.Add(end))
		if len(cut) != 2 || cut[0].Ongoing || !cut[1].Ongoing {
			t.Errorf("range ending %v: want the first spike ended and the second ongoing, got %+v", end, cut)
		}
	}
	// Outside the range nothing is scanned.
	if got := FindSpikes(cfg, s, MetricRefusal, t0.Add(4*time.Hour), t0.Add(4*time.Hour)); got != nil {
		t.Errorf("empty range found %v", got)
	}
}

func TestFrequentRefusers(t *testing.T) {
	cfg := DefaultRefuserConfig()
	items := []ScopeCount{
		{Key: "user-ok-1", Refusals: 2, N: 1000},
		{Key: "user-ok-2", Refusals: 1, N: 800},
		{Key: "user-bad", Refusals: 40, N: 200},
		{Key: "user-worse", Refusals: 30, N: 60},
		{Key: "user-3-of-5", Refusals: 3, N: 5},
		{Key: "user-ok-1", Refusals: 0, N: 200}, // duplicates are summed
	}
	got := FrequentRefusers(items, cfg)
	if len(got) != 2 {
		t.Fatalf("got %d refusers, want 2: %+v", len(got), got)
	}
	// user-worse (50%) is both more significant and of higher lift than
	// user-bad (20%).
	if got[0].Key != "user-worse" || got[1].Key != "user-bad" || got[0].PValue > got[1].PValue {
		t.Errorf("order = %s (p=%g), %s (p=%g)", got[0].Key, got[0].PValue, got[1].Key, got[1].PValue)
	}
	r := got[1]
	if r.Rate.Num != 40 || r.Rate.Den != 200 || r.Rest.Num != 36 || r.Rest.Den != 2065 || r.Lift <= 5 {
		t.Errorf("user-bad = %+v", r)
	}
	if r.Rate.Low <= r.Rest.High {
		t.Errorf("intervals overlap: %+v vs %+v", r.Rate, r.Rest)
	}
	if FrequentRefusers(items[:1], cfg) != nil {
		t.Error("a single key has no rest to compare with")
	}
}

func TestRefusalCounts(t *testing.T) {
	groups := []Group{
		{Dims: Dims{Model: "m1", Kind: KindMessage}, Counts: Counts{N: 10}.WithFlag(FlagRefusal, 2)},
		{Dims: Dims{Model: "m1", Kind: KindAgentResult}, Counts: Counts{N: 5}.WithFlag(FlagRefusal, 1)},
		{Dims: Dims{Model: "m1", Kind: KindError}, Counts: Counts{N: 50}},
		{Dims: Dims{Model: "m2", Kind: KindMessage}, Counts: Counts{N: 7}},
	}
	got := RefusalCounts(groups, func(g Group) string { return g.Model })
	want := []ScopeCount{{"m1", 3, 15}, {"m2", 0, 7}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("RefusalCounts = %+v, want %+v", got, want)
	}
	recs := []*Record{
		{Kind: KindMessage, UserID: "u1", StopReason: StopRefusal},
		{Kind: KindMessage, UserID: "u1", StopReason: StopEndTurn},
		{Kind: KindError, UserID: "u1"},
		{Kind: KindMessage, UserID: ""},
	}
	got = RecordRefusalCounts(recs, func(r *Record) string { return r.UserID })
	if len(got) != 1 || got[0] != (ScopeCount{"u1", 1, 2}) {
		t.Errorf("RecordRefusalCounts = %+v", got)
	}
}

func TestFrequentRefusersBonferroni(t *testing.T) {
	// A key at 4% on 1,000 responses against the rest at 2%: p≈1e-5. Tested
	// against one other key it stands out (alpha 0.001/2); among 10,000
	// keys (alpha 1e-7) it does not, while one at 6% still does.
	tests := []struct {
		name     string
		refusals int64
		others   []ScopeCount
		want     bool
	}{
		{"4% against one big key", 40, []ScopeCount{{Key: "big", Refusals: 20_000, N: 1_000_000}}, true},
		{"4% among 10,000 keys", 40, manyKeys(9999), false},
		{"6% among 10,000 keys", 60, manyKeys(9999), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := append([]ScopeCount{{Key: "suspect", Refusals: tt.refusals, N: 1000}}, tt.others...)
			got := FrequentRefusers(items, DefaultRefuserConfig())
			found := len(got) == 1 && got[0].Key == "suspect"
			if found != tt.want || len(got) > 1 {
				t.Errorf("got %+v, want suspect found=%v and no other", got, tt.want)
			}
		})
	}
}

// manyKeys returns n keys each refusing 20 of 1,000 responses.
func manyKeys(n int) []ScopeCount {
	out := make([]ScopeCount, n)
	for i := range out {
		out[i] = ScopeCount{Key: fmt.Sprint("user-", i), Refusals: 20, N: 1000}
	}
	return out
}

func BenchmarkFindSpikesDay(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	s := series(rng, 2*24*60, 100, func(int) float64 { return 0.02 })
	cfg := DefaultSpikeConfig()
	b.ReportAllocs()
	for b.Loop() {
		_ = FindSpikes(cfg, s, MetricRefusal, t0.Add(24*time.Hour), t0.Add(48*time.Hour))
	}
}
