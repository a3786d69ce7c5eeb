package analytics

import "math"

// Z95 is the two-sided 95% quantile of the standard normal distribution: the
// z to pass to Wilson for a 95% confidence interval.
const Z95 = 1.959963984540054

// Tally is a proportion's raw material: K events out of N trials.
type Tally struct {
	K int64 `json:"k"`
	N int64 `json:"n"`
}

// Add adds o to t.
func (t *Tally) Add(o Tally) {
	t.K += o.K
	t.N += o.N
}

// Value returns K/N, or 0 when N is 0.
func (t Tally) Value() float64 {
	if t.N <= 0 {
		return 0
	}
	return float64(t.K) / float64(t.N)
}

// Wilson returns the Wilson score interval of k events out of n trials for
// the normal quantile z (Z95 for 95%). It behaves well at 0 and n events and
// on small n, where the textbook p ± z·se interval leaves [0, 1]. With no
// trials nothing is known and the interval is [0, 1]; k is clamped to [0, n].
func Wilson(k, n int64, z float64) (low, high float64) {
	if n <= 0 {
		return 0, 1
	}
	k = min(max(k, 0), n)
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	low, high = center-half, center+half
	// The exact bounds at 0 and n events are 0 and 1; rounding must not
	// move them.
	if k == 0 {
		low = 0
	}
	if k == n {
		high = 1
	}
	return max(low, 0), min(high, 1)
}

// NormalSF returns the upper tail probability P(Z > z) of the standard
// normal distribution.
func NormalSF(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// TwoProportionZ returns the pooled two-proportion z statistic of a against
// b: positive when a's rate is above b's. It is 0 when either has no trials
// or when the pooled rate is 0 or 1 (both rates are then equal).
func TwoProportionZ(a, b Tally) float64 {
	if a.N <= 0 || b.N <= 0 {
		return 0
	}
	pool := float64(a.K+b.K) / float64(a.N+b.N)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(a.N) + 1/float64(b.N)))
	if se == 0 || math.IsNaN(se) {
		return 0
	}
	return (a.Value() - b.Value()) / se
}

// BinomialUpperTail returns P(X >= k) for X ~ Binomial(n, p), summed exactly
// in log space. It is the small-count fallback of the spike test, where the
// normal approximation of the z-test is far too optimistic.
func BinomialUpperTail(k, n int64, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lgn, _ := math.Lgamma(float64(n) + 1)
	logPMF := func(i int64) float64 {
		a, _ := math.Lgamma(float64(i) + 1)
		b, _ := math.Lgamma(float64(n-i) + 1)
		return lgn - a - b + float64(i)*lp + float64(n-i)*lq
	}
	mean := float64(n) * p
	if float64(k) <= mean {
		// The upper tail is most of the mass: sum the short lower side.
		lower := 0.0
		for i := int64(0); i < k; i++ {
			lower += math.Exp(logPMF(i))
		}
		return min(max(1-lower, 0), 1)
	}
	// Past the mean the terms only shrink, so stop once they no longer count.
	sum := 0.0
	for i := k; i <= n; i++ {
		t := math.Exp(logPMF(i))
		sum += t
		if t < sum*1e-17 {
			break
		}
	}
	return min(sum, 1)
}
