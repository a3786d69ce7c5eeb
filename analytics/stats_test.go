package analytics

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilson(t *testing.T) {
	// Reference values: Newcombe (1998), method 3, and the usual tables.
	tests := []struct {
		k, n      int64
		low, high float64
	}{
		{0, 10, 0, 0.2775},
		{1, 10, 0.0179, 0.4042},
		{5, 10, 0.2366, 0.7634},
		{10, 10, 0.7225, 1},
		{81, 263, 0.2553, 0.3662},
		{20, 100, 0.1334, 0.2888},
		{3, 5, 0.2307, 0.8824},
		{0, 0, 0, 1},
		{-1, 10, 0, 0.2775}, // clamped
		{12, 10, 0.7225, 1}, // clamped
	}
	for _, tt := range tests {
		lo, hi := Wilson(tt.k, tt.n, Z95)
		if !near(lo, tt.low, 5e-5) || !near(hi, tt.high, 5e-5) {
			t.Errorf("Wilson(%d, %d) = [%.5f, %.5f], want [%.4f, %.4f]", tt.k, tt.n, lo, hi, tt.low, tt.high)
		}
	}
}

func TestWilsonContainsEstimate(t *testing.T) {
	for n := int64(1); n <= 60; n++ {
		for k := int64(0); k <= n; k++ {
			lo, hi := Wilson(k, n, Z95)
			p := float64(k) / float64(n)
			if lo < 0 || hi > 1 || lo > p+1e-12 || hi < p-1e-12 {
				t.Fatalf("Wilson(%d, %d) = [%v, %v] does not hold %v within [0, 1]", k, n, lo, hi, p)
			}
		}
	}
}

func TestNormalSF(t *testing.T) {
	tests := []struct{ z, p float64 }{
		{0, 0.5},
		{Z95, 0.025},
		{3.090232306167813, 0.001},
		{-Z95, 0.975},
	}
	for _, tt := range tests {
		if got := NormalSF(tt.z); !near(got, tt.p, 1e-12) {
			t.Errorf("NormalSF(%v) = %v, want %v", tt.z, got, tt.p)
		}
	}
}

func TestTwoProportionZ(t *testing.T) {
	tests := []struct {
		a, b Tally
		z    float64
	}{
		{Tally{30, 100}, Tally{20, 200}, 4.381780460041329},
		{Tally{20, 200}, Tally{30, 100}, -4.381780460041329},
		{Tally{0, 100}, Tally{0, 200}, 0},
		{Tally{100, 100}, Tally{200, 200}, 0},
		{Tally{1, 0}, Tally{1, 10}, 0},
	}
	for _, tt := range tests {
		if got := TwoProportionZ(tt.a, tt.b); !near(got, tt.z, 1e-9) {
			t.Errorf("TwoProportionZ(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.z)
		}
	}
}

func TestBinomialUpperTail(t *testing.T) {
	// Reference values summed exactly with rational arithmetic.
	tests := []struct {
		k, n int64
		p    float64
		want float64
	}{
		{7, 75, 0.02, 0.0007742480438800912},
		{3, 10, 0.5, 0.9453125},
		{1, 10, 0.1, 0.6513215599},
		{60, 1500, 0.02, 6.806987144116055e-07},
		{0, 10, 0.3, 1},
		{11, 10, 0.3, 0},
		{1, 10, 0, 0},
		{1, 10, 1, 1},
	}
	for _, tt := range tests {
		got := BinomialUpperTail(tt.k, tt.n, tt.p)
		if !near(got, tt.want, 1e-9*math.Max(tt.want, 1e-300)+1e-15) {
			t.Errorf("BinomialUpperTail(%d, %d, %v) = %v, want %v", tt.k, tt.n, tt.p, got, tt.want)
		}
	}
}
