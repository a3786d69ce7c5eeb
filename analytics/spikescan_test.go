package analytics

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestSpikeScanMatchesFindSpikes holds SpikeScan to FindSpikes on a
// series with a spike, scanned as a live range moves on and its last
// buckets change: reusing the windows before the change must give what a
// scan of everything gives.
func TestSpikeScanMatchesFindSpikes(t *testing.T) {
	cfg := DefaultSpikeConfig()
	spikeAt := 2*24*60 - 50
	tests := []struct {
		name string
		// shift moves the range on by this many minutes before the second
		// scan; changeAt is the first minute (from the series' start)
		// whose counts change before it, -1 for none.
		shift, changeAt int
	}{
		{"same series", 0, -1},
		{"last hour changed", 0, 2*24*60 - 60},
		{"moved on a minute, last minutes changed", 1, 2*24*60 - 10},
		{"moved on an hour, spike hour changed", 60, spikeAt},
		{"change inside the baseline", 0, 30 * 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tt.shift+tt.changeAt)))
			total := 2*24*60 + 120
			s := series(rng, total, 100, func(i int) float64 {
				if i >= spikeAt && i < spikeAt+40 {
					return 0.25
				}
				return 0.02
			})
			tallies := func(s []Group, origin time.Time, n int) []Tally {
				out := make([]Tally, n)
				for _, g := range s {
					i := int(g.Bucket.Sub(origin) / time.Minute)
					if i >= 0 && i < n {
						out[i].Add(MetricRefusal.TallyOf(g))
					}
				}
				return out
			}
			scope := ScopeOf(s[0])
			from, to := t0.Add(24*time.Hour), t0.Add(2*24*time.Hour)
			var sc SpikeScan
			origin := from.Add(-cfg.Baseline)
			got := sc.Scan(cfg, scope, MetricRefusal, origin, tallies(s, origin, int(to.Sub(origin)/time.Minute)), from, to, time.Time{})
			if want := FindSpikes(cfg, s, MetricRefusal, from, to); !reflect.DeepEqual(got, want) || len(want) == 0 {
				t.Fatalf("first scan = %+v, want %+v (and a spike)", got, want)
			}
			same := time.Unix(1<<40, 0)
			if tt.changeAt >= 0 {
				same = t0.Add(time.Duration(tt.changeAt) * time.Minute)
				for i := tt.changeAt; i < total; i++ {
					// Many more refusals from the change on.
					s[i].Counts = Counts{N: 100}.WithFlag(FlagRefusal, 10+int64(i%7))
				}
			}
			from, to = from.Add(time.Duration(tt.shift)*time.Minute), to.Add(time.Duration(tt.shift)*time.Minute)
			origin = from.Add(-cfg.Baseline)
			got = sc.Scan(cfg, scope, MetricRefusal, origin, tallies(s, origin, int(to.Sub(origin)/time.Minute)), from, to, same)
			if want := FindSpikes(cfg, s, MetricRefusal, from, to); !reflect.DeepEqual(got, want) {
				t.Errorf("second scan = %+v, want %+v", got, want)
			}
		})
	}
}

// TestSpikeScanRanges scans a day, then its last hour after a change
// inside the day, then the day again with nothing changed since: the
// windows of the day kept from the first scan that see the change must
// not be reused.
func TestSpikeScanRanges(t *testing.T) {
	cfg := DefaultSpikeConfig()
	rng := rand.New(rand.NewPCG(11, 3))
	total := 2 * 24 * 60
	s := series(rng, total, 100, func(i int) float64 { return 0.02 })
	tallies := func(origin time.Time, n int) []Tally {
		out := make([]Tally, n)
		for _, g := range s {
			if i := int(g.Bucket.Sub(origin) / time.Minute); i >= 0 && i < n {
				out[i].Add(MetricRefusal.TallyOf(g))
			}
		}
		return out
	}
	scope := ScopeOf(s[0])
	to := t0.Add(2 * 24 * time.Hour)
	day, hour := to.Add(-24*time.Hour), to.Add(-time.Hour)
	never := time.Unix(1<<40, 0)
	var sc SpikeScan
	scan := func(from, same time.Time) []Spike {
		origin := from.Add(-cfg.Baseline)
		return sc.Scan(cfg, scope, MetricRefusal, origin, tallies(origin, int(to.Sub(origin)/time.Minute)), from, to, same)
	}
	if got := scan(day, never); len(got) != 0 {
		t.Fatalf("stationary day has spikes: %+v", got)
	}
	// A burst 6 hours before the end.
	changeAt := total - 6*60
	for i := changeAt; i < changeAt+30; i++ {
		s[i].Counts = Counts{N: 100}.WithFlag(FlagRefusal, 30)
	}
	scan(hour, t0.Add(time.Duration(changeAt)*time.Minute))
	got, want := scan(day, never), FindSpikes(cfg, s, MetricRefusal, day, to)
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("day after the hour = %+v, want %+v (and a spike)", got, want)
	}
}
