package query_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// drawCalls draws n calls of model in app over the 24 hours before now:
// a share empty of end_turn responses are empty turns, 2% refuse, 3% fail.
func drawCalls(rng *rand.Rand, n int, app, model string, empty float64) []*analytics.Record {
	recs := make([]*analytics.Record, 0, n)
	for range n {
		at := now.Add(-time.Duration(rng.Int64N(int64(24 * time.Hour))))
		var r *analytics.Record
		switch u := rng.Float64(); {
		case u < 0.03:
			r = errRec(at, app)
		case u < 0.05:
			r = msg(at, app, analytics.StopRefusal, analytics.FlagRefusal)
		case u < 0.25:
			r = msg(at, app, analytics.StopToolUse)
		default:
			r = msg(at, app, analytics.StopEndTurn)
			if rng.Float64() < empty {
				r.Flags = r.Flags.With(analytics.FlagEmptyTurn)
			}
		}
		r.Model = model
		r.LatencyMS = 200 + rng.Int64N(1600)
		recs = append(recs, r)
	}
	return recs
}

func TestCompareThroughTheStore(t *testing.T) {
	svc, st := newService(t, nil)
	rng := rand.New(rand.NewPCG(7, 7))
	const trials = 10
	var recs []*analytics.Record
	for i := range trials {
		app := fmt.Sprintf("same-%d", i)
		recs = append(recs, drawCalls(rng, 600, app, "model-a", 0.05)...)
		recs = append(recs, drawCalls(rng, 600, app, "model-b", 0.05)...)
	}
	planted := drawCalls(rng, 2000, "planted", "model-a", 0.05)
	recs = append(recs, planted...)
	recs = append(recs, drawCalls(rng, 2000, "planted", "model-b", 0.10)...)
	insertAll(t, st, recs)

	day := lastHours(24)
	cohorts := func(app string) (store.Filter, store.Filter) {
		a, b := day, day
		a.App, b.App = app, app
		a.Model, b.Model = "model-a", "model-b"
		return a, b
	}
	noisy := 0
	for i := range trials {
		a, b := cohorts(fmt.Sprintf("same-%d", i))
		c, err := svc.Compare(context.Background(), a, b)
		if err != nil {
			t.Fatal(err)
		}
		if c.A.Calls != 600 || c.B.Calls != 600 {
			t.Fatalf("trial %d: %d and %d calls, want 600 each", i, c.A.Calls, c.B.Calls)
		}
		for _, r := range c.Rows {
			if r.Significant {
				t.Logf("trial %d: %s significant (adjusted p %.3g)", i, r.Key, *r.PAdjusted)
				noisy++
				break
			}
		}
	}
	// At a family-wise 1%, one noisy trial of 10 is already unlikely.
	if noisy > 1 {
		t.Errorf("%d of %d comparisons of one distribution had a significant row", noisy, trials)
	}

	a, b := cohorts("planted")
	c, err := svc.Compare(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	var refusals, latency int64
	for _, r := range planted {
		if r.Flags.Has(analytics.FlagRefusal) {
			refusals++
		}
		latency += r.LatencyMS
	}
	found := false
	for _, r := range c.Rows {
		switch r.Key {
		case "flag:empty_turn":
			found = r.Significant && r.Diff > 0
			if !found {
				t.Errorf("doubled empty turns: %+v, want a significant rise", r)
			}
		case "flag:refusal":
			if r.A.Num != refusals || r.A.Den != c.A.Responses {
				t.Errorf("refusals of A: %d of %d, want %d of %d", r.A.Num, r.A.Den, refusals, c.A.Responses)
			}
		case "latency_ms":
			if want := float64(latency) / float64(len(planted)); r.A.Value != want || r.A.Den != int64(len(planted)) {
				t.Errorf("latency of A: %g over %d, want %g over %d", r.A.Value, r.A.Den, want, len(planted))
			}
		}
	}
	if !found {
		t.Error("no empty turn row")
	}
	if c.Rows[0].Key != "flag:empty_turn" {
		t.Errorf("first row %s, want the planted flag:empty_turn", c.Rows[0].Key)
	}

	// A cohort without records is empty, not an error.
	a.App = "nobody"
	c, err = svc.Compare(context.Background(), a, b)
	if err != nil || c.A.Calls != 0 {
		t.Fatalf("empty cohort: %+v, %v", c.A, err)
	}
	for _, r := range c.Rows {
		if r.Verdict != analytics.VerdictNotEnough {
			t.Errorf("%s: %s with an empty cohort", r.Key, r.Verdict)
		}
	}
}
