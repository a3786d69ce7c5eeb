package analytics

import "time"

// ChangeConfig sets how a change (a new model, release or prompt version
// taking an app's traffic) is judged against what it replaced. Zero fields
// take DefaultChangeConfig's values.
type ChangeConfig struct {
	// Lookback is how long ago a change may have started to be looked at
	// (default 24 hours): an older one is the new normal.
	Lookback time.Duration `json:"lookback"`
	// Prior is how far before a change its predecessor's traffic is read,
	// at most (default 7 days).
	Prior time.Duration `json:"prior"`
	// MinCalls is the least number of calls (the denominator of each rate)
	// on both sides before anything is said (default 200).
	MinCalls int64 `json:"min_calls"`
	// MinEvents is the least number of events after the change for a rate
	// to have worsened (default 5).
	MinEvents int64 `json:"min_events"`
	// MinIncrease is the least absolute rise of a rate (default 0.01, one
	// percentage point).
	MinIncrease float64 `json:"min_increase"`
	// Alpha is the family-wise one-sided significance level across the
	// rates tested for one change (default 0.001): each rate is tested at
	// Alpha divided by their number (Bonferroni).
	Alpha float64 `json:"alpha"`
}

// DefaultChangeConfig returns the defaults: changes of the last 24 hours
// against up to 7 days before them, at least 200 calls on each side and 5
// events, a rise of one point, alpha 0.001 across the rates.
func DefaultChangeConfig() ChangeConfig {
	return ChangeConfig{
		Lookback: 24 * time.Hour, Prior: 7 * 24 * time.Hour,
		MinCalls: 200, MinEvents: 5, MinIncrease: 0.01, Alpha: 0.001,
	}
}

// WithDefaults fills the zero fields of cfg from DefaultChangeConfig.
func (cfg ChangeConfig) WithDefaults() ChangeConfig {
	d := DefaultChangeConfig()
	if cfg.Lookback <= 0 {
		cfg.Lookback = d.Lookback
	}
	if cfg.Prior <= 0 {
		cfg.Prior = d.Prior
	}
	if cfg.MinCalls <= 0 {
		cfg.MinCalls = d.MinCalls
	}
	if cfg.MinEvents <= 0 {
		cfg.MinEvents = d.MinEvents
	}
	if cfg.MinIncrease <= 0 {
		cfg.MinIncrease = d.MinIncrease
	}
	if cfg.Alpha <= 0 {
		cfg.Alpha = d.Alpha
	}
	return cfg
}

// TestChange tests whether one rate worsened from before a change to after
// it, as one of tests rates tested for that change: the one-sided pooled
// two-proportion z-test of DetectSpike (with its exact binomial tail on
// small counts), at cfg.Alpha/tests, with cfg's least volumes and rise.
// The result's PValue is Bonferroni-adjusted: the raw p-value times tests,
// at most 1, so that it compares with cfg.Alpha directly.
func TestChange(cfg ChangeConfig, after, before Tally, tests int) SpikeResult {
	cfg = cfg.WithDefaults()
	tests = max(tests, 1)
	res := DetectSpike(SpikeConfig{
		MinCalls: cfg.MinCalls, MinEvents: cfg.MinEvents, MinBaselineCalls: cfg.MinCalls,
		MinIncrease: cfg.MinIncrease, Alpha: cfg.Alpha / float64(tests),
	}, after, before)
	res.PValue = min(1, res.PValue*float64(tests))
	return res
}
