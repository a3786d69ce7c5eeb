package query_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// releaseTraffic makes perMin calls a minute of app "a" on release rel over
// [start, end), with empty turns at the rate empty and refusals at 1%.
func releaseTraffic(rng *rand.Rand, rel, model string, start, end time.Time, perMin int, empty float64) []*analytics.Record {
	var recs []*analytics.Record
	for m := start; m.Before(end); m = m.Add(time.Minute) {
		for range perMin {
			at := m.Add(time.Duration(rng.Int64N(int64(time.Minute))))
			r := msg(at, "a", analytics.StopEndTurn)
			r.Release, r.Model = rel, model
			switch u := rng.Float64(); {
			case u < empty:
				r.Flags = r.Flags.With(analytics.FlagEmptyTurn)
			case u < empty+0.01:
				r.StopReason, r.Flags = analytics.StopRefusal, r.Flags.With(analytics.FlagRefusal)
			}
			recs = append(recs, r)
		}
	}
	return recs
}

// TestChangesPlanted plants a release that doubles the empty-turn rate: it
// is a change at once, waiting for traffic at first, and a significant
// regression within minutes.
func TestChangesPlanted(t *testing.T) {
	clock := now
	s, st := newService(t, &clock)
	rng := rand.New(rand.NewPCG(42, 1))
	start := now.Add(-3 * time.Hour)
	insertAll(t, st, releaseTraffic(rng, "r41", "claude-x", start, now, 100, 0.04))
	after := releaseTraffic(rng, "r42", "claude-x", now, now.Add(30*time.Minute), 100, 0.08)
	insertAll(t, st, after)

	found := time.Duration(0)
	for _, at := range []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 20 * time.Minute} {
		clock = now.Add(at)
		res, err := s.Changes(context.Background(), store.Filter{}, analytics.ChangeConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) != 1 {
			t.Fatalf("at +%s: %d changes, want 1: %+v", at, len(res.Changes), res.Changes)
		}
		c := res.Changes[0]
		if c.App != "a" || c.Dim != store.DimRelease || c.Value != "r42" || c.Previous != "r41" || !c.Started.Equal(now) {
			t.Fatalf("at +%s: change %+v", at, c)
		}
		if at == time.Minute && c.Status != query.ChangeWaiting {
			t.Errorf("at +1m: status %s, want waiting (%d calls)", c.Status, c.After.Calls)
		}
		if c.Status == query.ChangeRegressed && found == 0 {
			found = at
			f := c.Findings[0]
			if f.Metric != analytics.MetricEmptyTurn || len(c.Findings) != 1 {
				t.Errorf("findings %+v, want the empty-turn rate alone", c.Findings)
			}
			if !strings.Contains(f.Text, "empty_turn rate") || !strings.Contains(f.Text, "since release r42 (started 12:00 UTC)") {
				t.Errorf("text %q", f.Text)
			}
			// The baseline matches the volume after the change.
			if c.Before.Calls < c.After.Calls || c.Before.Calls > c.After.Calls+6000 {
				t.Errorf("baseline of %d calls for %d after", c.Before.Calls, c.After.Calls)
			}
		}
	}
	if found == 0 || found > 15*time.Minute {
		t.Errorf("the regression was found after %s, want within 15 minutes", found)
	}
	// The now strip lists it once it is a regression, and not before.
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{time.Minute, 0}, {20 * time.Minute, 1}} {
		clock = now.Add(tc.at)
		n, err := s.Now(context.Background(), nil, query.NowConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Regressions) != tc.want || (tc.want > 0 && (n.Regressions[0].Value != "r42" || n.Calm)) {
			t.Errorf("at +%s: now lists regressions %+v (calm %v), want %d", tc.at, n.Regressions, n.Calm, tc.want)
		}
	}
}

// TestChangesSameDistribution: a release drawn from the same distribution
// as the one it replaced is a change with no finding, in every seed; a
// model switch alone is found as a model change.
func TestChangesSameDistribution(t *testing.T) {
	for seed := range uint64(3) {
		clock := now.Add(45 * time.Minute)
		s, st := newService(t, &clock)
		rng := rand.New(rand.NewPCG(seed, 7))
		insertAll(t, st, releaseTraffic(rng, "r41", "claude-x", now.Add(-2*time.Hour), now, 60, 0.05))
		insertAll(t, st, releaseTraffic(rng, "r42", "claude-y", now, clock, 60, 0.05))
		res, err := s.Changes(context.Background(), store.Filter{App: "a"}, analytics.ChangeConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changes) != 2 {
			t.Fatalf("seed %d: %d changes, want the model and the release: %+v", seed, len(res.Changes), res.Changes)
		}
		for _, c := range res.Changes {
			if c.Status != query.ChangeOK || len(c.Findings) != 0 || len(c.Tests) != len(query.ChangeMetrics) {
				t.Errorf("seed %d: %s %s: status %s, findings %+v", seed, c.Dim, c.Value, c.Status, c.Findings)
			}
		}
	}
}

// TestChangesNothingNew: values that were there all along, a first value
// and the (other) of capped releases are no change.
func TestChangesNothingNew(t *testing.T) {
	clock := now
	s, st := newService(t, &clock)
	rng := rand.New(rand.NewPCG(1, 1))
	insertAll(t, st, releaseTraffic(rng, "r41", "claude-x", now.Add(-9*24*time.Hour), now.Add(-9*24*time.Hour+time.Hour), 5, 0.05))
	insertAll(t, st, releaseTraffic(rng, "r41", "claude-x", now.Add(-time.Hour), now, 5, 0.05))
	res, err := s.Changes(context.Background(), store.Filter{}, analytics.ChangeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 {
		t.Errorf("changes %+v, want none", res.Changes)
	}
}
