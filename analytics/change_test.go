package analytics

import (
	"math/rand/v2"
	"testing"
)

func TestTestChange(t *testing.T) {
	cfg := DefaultChangeConfig()
	tests := []struct {
		name          string
		after, before Tally
		significant   bool
	}{
		{"doubled on volume", Tally{K: 80, N: 1000}, Tally{K: 40, N: 1000}, true},
		{"refusals 0.8% to 3.1%", Tally{K: 31, N: 1000}, Tally{K: 8, N: 1000}, true},
		{"too few calls after", Tally{K: 20, N: 100}, Tally{K: 40, N: 1000}, false},
		{"too few calls before", Tally{K: 80, N: 1000}, Tally{K: 4, N: 100}, false},
		{"better is no finding", Tally{K: 20, N: 1000}, Tally{K: 40, N: 1000}, false},
		{"same rate", Tally{K: 40, N: 1000}, Tally{K: 40, N: 1000}, false},
		{"rise below a point", Tally{K: 1500, N: 100000}, Tally{K: 1000, N: 100000}, false},
	}
	for _, tc := range tests {
		res := TestChange(cfg, tc.after, tc.before, 6)
		if res.Significant != tc.significant {
			t.Errorf("%s: significant %v (%s), want %v", tc.name, res.Significant, res.Reason, tc.significant)
		}
		if res.PValue < 0 || res.PValue > 1 {
			t.Errorf("%s: p %g", tc.name, res.PValue)
		}
	}
	// The adjusted p-value is the raw one times the tests, at most 1.
	one, six := TestChange(cfg, Tally{K: 60, N: 1000}, Tally{K: 40, N: 1000}, 1), TestChange(cfg, Tally{K: 60, N: 1000}, Tally{K: 40, N: 1000}, 6)
	if d := six.PValue - min(1, 6*one.PValue); d > 1e-12 || d < -1e-12 {
		t.Errorf("adjusted p %g, raw %g", six.PValue, one.PValue)
	}
}

// TestChangeSameDistribution draws both sides from one distribution: at
// the family-wise level of 0.001 across six rates, at most a handful of
// 1,000 seeded trials may find a change.
func TestChangeSameDistribution(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	rates := []float64{0.01, 0.03, 0.05, 0.02, 0.004, 0.2}
	found := 0
	for range 1000 {
		n := int64(200 + rng.IntN(2000))
		hit := false
		for _, p := range rates {
			var a, b Tally
			a.N, b.N = n, n+int64(rng.IntN(500))
			for range a.N {
				if rng.Float64() < p {
					a.K++
				}
			}
			for range b.N {
				if rng.Float64() < p {
					b.K++
				}
			}
			if TestChange(DefaultChangeConfig(), a, b, len(rates)).Significant {
				hit = true
			}
		}
		if hit {
			found++
		}
	}
	if found > 5 {
		t.Errorf("%d of 1000 trials from one distribution found a change", found)
	}
}
