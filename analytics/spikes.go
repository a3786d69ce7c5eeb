package analytics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// SpikeConfig sets how a rate's jump is told from noise. Every field is
// settable; DefaultSpikeConfig gives the defaults.
type SpikeConfig struct {
	// Window is the recent window tested (default 15 minutes).
	Window time.Duration `json:"window"`
	// Baseline is the trailing window right before it that the recent window
	// is compared with (default 24 hours).
	Baseline time.Duration `json:"baseline"`
	// Bucket is the width of the series' buckets and the step of the sliding
	// window in FindSpikes (default 1 minute).
	Bucket time.Duration `json:"bucket"`
	// MinCalls is the least denominator in the recent window (default 30):
	// below it nothing is a spike, so 3 refusals out of 5 calls are not.
	MinCalls int64 `json:"min_calls"`
	// MinEvents is the least number of events in the recent window
	// (default 5).
	MinEvents int64 `json:"min_events"`
	// MinBaselineCalls is the least denominator of the baseline (default
	// 100): with less there is nothing to compare with.
	MinBaselineCalls int64 `json:"min_baseline_calls"`
	// Alpha is the one-sided significance level of one window (default
	// 1e-5). It is low because FindSpikes tests a window every bucket: 1,440
	// overlapping tests a day. In simulation at alpha 0.001, stationary
	// traffic of 3 to 30 calls a minute raised 0.1 to 0.5 false spikes a day
	// per scope and metric; at 1e-5, none in 19 days, while a jump from 2%
	// to 20% at 100 calls a minute is still caught after five minutes
	// (what the 15-minute window's average takes to rise by MinIncrease).
	Alpha float64 `json:"alpha"`
	// MinIncrease is the least absolute rise of the rate over the baseline
	// (default 0.05, five percentage points), so that a tiny lift on huge
	// volume, significant as it may be, does not page anyone.
	MinIncrease float64 `json:"min_increase"`
}

// DefaultSpikeConfig returns the default settings: 15 minutes against the
// previous 24 hours in 1-minute buckets, at least 30 calls and 5 events in
// the window and 100 calls in the baseline, alpha 1e-5 one-sided, a rise of
// at least 5 percentage points.
func DefaultSpikeConfig() SpikeConfig {
	return SpikeConfig{
		Window:           15 * time.Minute,
		Baseline:         24 * time.Hour,
		Bucket:           time.Minute,
		MinCalls:         30,
		MinEvents:        5,
		MinBaselineCalls: 100,
		Alpha:            1e-5,
		MinIncrease:      0.05,
	}
}

// withDurations fills the durations that must be positive from the defaults.
func (cfg SpikeConfig) withDurations() SpikeConfig {
	d := DefaultSpikeConfig()
	if cfg.Window <= 0 {
		cfg.Window = d.Window
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = d.Baseline
	}
	if cfg.Bucket <= 0 {
		cfg.Bucket = d.Bucket
	}
	return cfg
}

// SpikeResult is the verdict of DetectSpike.
type SpikeResult struct {
	Observed Rate `json:"observed"`
	Baseline Rate `json:"baseline"`
	// Z is the pooled two-proportion z statistic of the recent window
	// against the baseline; PValue the one-sided p-value, the larger of the
	// z-test's and the exact binomial tail's against the baseline rate.
	Z           float64 `json:"z"`
	PValue      float64 `json:"p_value"`
	Significant bool    `json:"significant"`
	// Reason says in words why the window is or is not a spike.
	Reason string `json:"reason"`
}

// DetectSpike tests whether the recent window's rate stands above the
// baseline's: a one-sided pooled two-proportion z-test, with the minimum
// volumes, events and rise of cfg. Rates are named after nothing; callers
// set Observed.Metric and Baseline.Metric if they want them.
func DetectSpike(cfg SpikeConfig, recent, baseline Tally) SpikeResult {
	return detectSpike(cfg, recent, baseline, true)
}

// detectSpike is DetectSpike; FindSpikes skips the Reason, whose formatting
// would cost more than the test on every window that is not a spike.
func detectSpike(cfg SpikeConfig, recent, baseline Tally, why bool) SpikeResult {
	res := SpikeResult{
		Observed: NewRate("", recent),
		Baseline: NewRate("", baseline),
		Z:        TwoProportionZ(recent, baseline),
		PValue:   1,
	}
	if recent.N > 0 && baseline.N > 0 {
		// The z-test allows for the baseline's own noise but its normal tail
		// is too thin for small or skewed counts; the exact binomial tail
		// (baseline rate taken as known, Laplace-smoothed so a clean baseline
		// does not make one event infinitely surprising) gets the skew right.
		// Keeping the larger p-value keeps both faults out. At or below the
		// expected count both say "not above", and the exact sum would only
		// cost time on large windows.
		p0 := (float64(baseline.K) + 0.5) / (float64(baseline.N) + 1)
		res.PValue = NormalSF(res.Z)
		if float64(recent.K) > float64(recent.N)*p0 {
			res.PValue = max(res.PValue, BinomialUpperTail(recent.K, recent.N, p0))
		}
	}
	obs, base := res.Observed.Value, res.Baseline.Value
	res.Significant = recent.N >= cfg.MinCalls && recent.K >= cfg.MinEvents &&
		baseline.N >= cfg.MinBaselineCalls && obs-base >= cfg.MinIncrease && res.PValue < cfg.Alpha
	if !why {
		return res
	}
	switch {
	case recent.N < cfg.MinCalls:
		res.Reason = fmt.Sprintf("too few calls in the window: %d < %d", recent.N, cfg.MinCalls)
	case recent.K < cfg.MinEvents:
		res.Reason = fmt.Sprintf("too few events in the window: %d < %d", recent.K, cfg.MinEvents)
	case baseline.N < cfg.MinBaselineCalls:
		res.Reason = fmt.Sprintf("too few calls in the baseline: %d < %d", baseline.N, cfg.MinBaselineCalls)
	case obs-base < cfg.MinIncrease:
		res.Reason = fmt.Sprintf("rise too small: %.1f%% vs %.1f%% baseline (need +%.1f points)",
			100*obs, 100*base, 100*cfg.MinIncrease)
	case !(res.PValue < cfg.Alpha):
		res.Reason = fmt.Sprintf("not significant: p=%.2g >= %.2g (%.1f%% vs %.1f%% baseline)",
			res.PValue, cfg.Alpha, 100*obs, 100*base)
	default:
		res.Reason = fmt.Sprintf("%.1f%% (%d/%d) vs %.1f%% baseline (%d/%d), z=%.1f, p=%.2g",
			100*obs, recent.K, recent.N, 100*base, baseline.K, baseline.N, res.Z, res.PValue)
	}
	return res
}

// Scope is what a rate is watched for: an app in an environment on a model.
// Empty fields mean all.
type Scope struct {
	App         string `json:"app,omitempty"`
	Environment string `json:"environment,omitempty"`
	Model       string `json:"model,omitempty"`
	// RefusalCategory narrows an alert rule on refusals to one
	// stop_details category, as its key ("null" for refusals without
	// one); "" is every refusal. Spikes leave it empty.
	RefusalCategory string `json:"refusal_category,omitempty"`
	// ErrorType narrows an alert rule on failed requests to one error
	// type ("overloaded_error"): its events are the failures of that type,
	// out of every call of the scope. "" is every failure. Spikes leave it
	// empty.
	ErrorType string `json:"error_type,omitempty"`
}

// ScopeOf returns the scope of a group.
func ScopeOf(g Group) Scope {
	return Scope{App: g.App, Environment: g.Environment, Model: g.Model}
}

// String returns the scope as app/environment/model, "*" for all.
func (s Scope) String() string {
	f := func(x string) string {
		if x == "" {
			return "*"
		}
		return x
	}
	out := f(s.App) + "/" + f(s.Environment) + "/" + f(s.Model)
	if s.RefusalCategory != "" {
		out += " (refusal category " + s.RefusalCategory + ")"
	}
	if s.ErrorType != "" {
		out += " (error type " + s.ErrorType + ")"
	}
	return out
}

// Spike is a run of significant windows of one scope and metric, merged.
type Spike struct {
	Scope  Scope  `json:"scope"`
	Metric Metric `json:"metric"`
	// WindowStart is the start of the first significant window and
	// WindowEnd the end of the last one.
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// FirstDetected is the end of the first significant window: when an
	// alert evaluated every bucket would have fired.
	FirstDetected time.Time `json:"first_detected"`
	// Observed, Baseline, Z and PValue are those of the most significant
	// window of the run.
	Observed Rate    `json:"observed"`
	Baseline Rate    `json:"baseline"`
	Z        float64 `json:"z"`
	PValue   float64 `json:"p_value"`
	// Windows counts the significant windows merged.
	Windows int `json:"windows"`
	// Ongoing is set when the last window of the scanned range, the one
	// that ends at its end (or at the last bucket boundary before it), is
	// part of the spike: the spike was still going on when the range ended.
	// Otherwise it ended at WindowEnd, when its last significant window did.
	Ongoing bool `json:"ongoing"`
}

// FindSpikes slides cfg.Window over a bucketed series one bucket at a time,
// tests each window of [from, to) against the cfg.Baseline before it, and
// merges overlapping significant windows into one Spike. The series is the
// store's Aggregate answer with Bucket set to cfg.Bucket, grouped by kind
// (and stop reason for share metrics) and by whichever of app, environment
// and model should be watched apart; each scope is scanned on its own. It
// should start cfg.Baseline before from, or the first windows lack a
// baseline. Spikes are ordered by start, then scope.
func FindSpikes(cfg SpikeConfig, series []Group, metric Metric, from, to time.Time) []Spike {
	cfg = cfg.withDurations()
	if !to.After(from) {
		return nil
	}
	origin := from.Add(-cfg.Baseline).Truncate(cfg.Bucket)
	nb := int(to.Sub(origin)/cfg.Bucket) + 1
	wb := max(int(divCeil(cfg.Window, cfg.Bucket)), 1)
	bb := max(int(divCeil(cfg.Baseline, cfg.Bucket)), 1)
	first := int(from.Truncate(cfg.Bucket).Sub(origin) / cfg.Bucket)
	if from.Truncate(cfg.Bucket).Before(from) {
		first++
	}

	scopes := map[Scope][]Tally{}
	var order []Scope
	for i := range series {
		g := &series[i]
		if g.Bucket.Before(origin) || !g.Bucket.Before(to) {
			continue
		}
		sc := ScopeOf(*g)
		b, ok := scopes[sc]
		if !ok {
			b = make([]Tally, nb+1)
			scopes[sc] = b
			order = append(order, sc)
		}
		b[int(g.Bucket.Sub(origin)/cfg.Bucket)+1].Add(metric.TallyOf(*g))
	}
	// lastEnd is the end of the last window of the range: a spike whose
	// last window ends there is still going on.
	lastEnd := origin.Add(time.Duration(nb) * cfg.Bucket)
	for lastEnd.After(to) {
		lastEnd = lastEnd.Add(-cfg.Bucket)
	}
	var out []Spike
	for _, sc := range order {
		// Prefix sums: pre[i] is the total of buckets [0, i).
		pre := scopes[sc]
		for i := 1; i < len(pre); i++ {
			pre[i].Add(pre[i-1])
		}
		sum := func(a, b int) Tally {
			return Tally{K: pre[b].K - pre[a].K, N: pre[b].N - pre[a].N}
		}
		var cur *Spike
		curEnd := -1
		for s := first; s+wb <= nb; s++ {
			if end := origin.Add(time.Duration(s+wb) * cfg.Bucket); end.After(to) {
				break
			}
			res := detectSpike(cfg, sum(s, s+wb), sum(max(s-bb, 0), s), false)
			if !res.Significant {
				continue
			}
			start := origin.Add(time.Duration(s) * cfg.Bucket)
			end := origin.Add(time.Duration(s+wb) * cfg.Bucket)
			res.Observed.Metric, res.Baseline.Metric = string(metric), string(metric)
			out, cur, curEnd = mergeWindow(out, cur, curEnd, sc, metric, s, wb, start, end, res)
		}
	}
	for i := range out {
		out[i].Ongoing = out[i].WindowEnd.Equal(lastEnd)
	}
	slices.SortStableFunc(out, func(a, b Spike) int {
		if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
			return c
		}
		return cmp.Compare(a.Scope.String(), b.Scope.String())
	})
	return out
}

// mergeWindow adds the significant window res of scope and metric, which
// covers buckets [s, s+wb) from start to end, to the spikes out. cur is
// the spike in progress, the last of out, whose last window ends at bucket
// curEnd, or nil when there is none. A window that overlaps or touches it
// extends it and gives it its verdict when its z is higher; any other
// window starts a new spike. It returns out and the spike in progress with
// its end. FindSpikes and SpikeScan both merge here so that they agree.
func mergeWindow(out []Spike, cur *Spike, curEnd int, scope Scope, metric Metric, s, wb int, start, end time.Time, res SpikeResult) ([]Spike, *Spike, int) {
	// Overlapping or touching windows are one incident.
	if cur != nil && s <= curEnd {
		cur.WindowEnd = end
		cur.Windows++
		if res.Z > cur.Z {
			cur.Observed, cur.Baseline, cur.Z, cur.PValue = res.Observed, res.Baseline, res.Z, res.PValue
		}
		return out, cur, s + wb
	}
	out = append(out, Spike{
		Scope: scope, Metric: metric, WindowStart: start, WindowEnd: end, FirstDetected: end,
		Observed: res.Observed, Baseline: res.Baseline, Z: res.Z, PValue: res.PValue, Windows: 1,
	})
	return out, &out[len(out)-1], s + wb
}

func divCeil(a, b time.Duration) time.Duration { return (a + b - 1) / b }

// DefaultRefuserConfig returns the settings FrequentRefusers is meant for:
// each key is tested once (not every minute, as spikes are), so alpha is
// 0.001 before the Bonferroni division, with at least 30 responses and 5
// refusals per key, 100 for the rest, and a rise of 2 percentage points.
func DefaultRefuserConfig() SpikeConfig {
	cfg := DefaultSpikeConfig()
	cfg.Alpha = 0.001
	cfg.MinIncrease = 0.02
	return cfg
}

// ScopeCount is one candidate of FrequentRefusers: an app, model, session or
// user (Key) with its refusals out of N responses.
type ScopeCount struct {
	Key      string `json:"key"`
	Refusals int64  `json:"refusals"`
	N        int64  `json:"n"`
}

// Refuser is a key whose refusal rate stands significantly above the rest.
type Refuser struct {
	Key string `json:"key"`
	// Rate is the key's refusal rate, Rest that of all the other keys.
	Rate Rate `json:"rate"`
	Rest Rate `json:"rest"`
	// Lift is Rate.Value / Rest.Value (+Inf when the rest never refused).
	Lift   float64 `json:"lift"`
	Z      float64 `json:"z"`
	PValue float64 `json:"p_value"`
}

// FrequentRefusers returns the keys whose refusal rate is significantly
// above that of all the other keys together, by DetectSpike with the key as
// the recent window and the rest as the baseline, most significant first
// (then by lift, then key). Since many keys are tested at once, cfg.Alpha is
// divided by their number (Bonferroni) so that a thousand users do not
// yield a false "frequent refuser" by chance. Duplicate keys are summed.
func FrequentRefusers(items []ScopeCount, cfg SpikeConfig) []Refuser {
	merged := map[string]Tally{}
	var keys []string
	var total Tally
	for _, it := range items {
		t, ok := merged[it.Key]
		if !ok {
			keys = append(keys, it.Key)
		}
		t.Add(Tally{K: it.Refusals, N: it.N})
		merged[it.Key] = t
		total.Add(Tally{K: it.Refusals, N: it.N})
	}
	if len(keys) < 2 {
		return nil
	}
	cfg.Alpha /= float64(len(keys))
	var out []Refuser
	for _, k := range keys {
		t := merged[k]
		rest := Tally{K: total.K - t.K, N: total.N - t.N}
		res := DetectSpike(cfg, t, rest)
		if !res.Significant {
			continue
		}
		res.Observed.Metric, res.Baseline.Metric = string(MetricRefusal), string(MetricRefusal)
		lift := math.Inf(1)
		if res.Baseline.Value > 0 {
			lift = res.Observed.Value / res.Baseline.Value
		}
		out = append(out, Refuser{Key: k, Rate: res.Observed, Rest: res.Baseline, Lift: lift, Z: res.Z, PValue: res.PValue})
	}
	slices.SortFunc(out, func(a, b Refuser) int {
		if c := cmp.Compare(a.PValue, b.PValue); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Z, a.Z); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Lift, a.Lift); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}

// RefusalCounts folds groups into one ScopeCount per key(g), counting
// responses only (error groups are skipped), for FrequentRefusers over apps
// or models from the store's Aggregate answer.
func RefusalCounts(groups []Group, key func(Group) string) []ScopeCount {
	idx := map[string]int{}
	var out []ScopeCount
	for i := range groups {
		g := groups[i]
		if g.Kind == KindError {
			continue
		}
		k := key(g)
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, ScopeCount{Key: k})
		}
		out[j].Refusals += g.Flag(FlagRefusal)
		out[j].N += g.N
	}
	return out
}

// RecordRefusalCounts folds records into one ScopeCount per key(r), counting
// responses only, for FrequentRefusers over sessions or users, which the
// rollups do not keep. Records whose key is "" are skipped.
func RecordRefusalCounts(recs []*Record, key func(*Record) string) []ScopeCount {
	idx := map[string]int{}
	var out []ScopeCount
	for _, r := range recs {
		if r.Kind == KindError {
			continue
		}
		k := key(r)
		if k == "" {
			continue
		}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, ScopeCount{Key: k})
		}
		out[j].N++
		if r.Flags.Has(FlagRefusal) || r.StopReason == StopRefusal {
			out[j].Refusals++
		}
	}
	return out
}
