package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// SpikeScopes are the scopes the overview and the now strip look for
// spikes at: all traffic (a provider-wide outage shows here even when
// each app alone has too few calls to tell), each model, each app.
var SpikeScopes = [][]store.Dim{{}, {store.DimModel}, {store.DimApp}}

// ScopeSpikes finds the spikes of metrics (HeadlineMetrics when none) in
// f's range at each of SpikeScopes, with cfg (see Spikes), ordered by start, then
// scope, then metric. With live set the range ends now, and its end is
// moved to the end of the bucket that holds it, so that the bucket still
// filling is tested too: no record is newer than now, so the counts are
// the same, and a burst of the current minute shows without waiting for
// the minute to end.
func (s *Service) ScopeSpikes(ctx context.Context, f store.Filter, metrics []analytics.Metric, cfg analytics.SpikeConfig, live bool) ([]analytics.Spike, error) {
	if cfg.Bucket <= 0 {
		cfg.Bucket = analytics.DefaultSpikeConfig().Bucket
	}
	if live {
		f.To = ceilTime(f.To, cfg.Bucket)
	}
	out, ok, err := s.scopeSpikesCached(ctx, f, metrics, cfg)
	if err != nil {
		return nil, err
	}
	if !ok {
		if out, err = s.scopeSpikesDirect(ctx, f, metrics, cfg); err != nil {
			return nil, err
		}
	}
	sortScopeSpikes(out)
	return out, nil
}

// SpikeConfigFor returns cfg as the overview and its charts use it over
// f's range: as given while the range and its baseline span at most
// maxCachedSpan (50 hours, so ranges up to 26 hours at the default
// baseline), read from the cached minute series; for longer ranges with
// minute buckets, at hourly grain from the hourly rollups: one-hour
// buckets, the window rounded up to whole hours (15 minutes become one
// hour), stepped an hour at a time against the same baseline. A long
// range so finds what stands out over an hour, not a burst of a few
// minutes that an hour's traffic dilutes; it costs 60 times fewer buckets
// than minutes over days.
func SpikeConfigFor(f store.Filter, cfg analytics.SpikeConfig) analytics.SpikeConfig {
	def := analytics.DefaultSpikeConfig()
	if cfg.Bucket <= 0 {
		cfg.Bucket = def.Bucket
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = def.Baseline
	}
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.Bucket != time.Minute || f.To.Sub(f.From)+cfg.Baseline <= maxCachedSpan {
		return cfg
	}
	cfg.Bucket = time.Hour
	cfg.Window = max(ceilDuration(cfg.Window, time.Hour), time.Hour)
	cfg.Baseline = max(ceilDuration(cfg.Baseline, time.Hour), time.Hour)
	return cfg
}

// ceilDuration rounds d up to a multiple of unit.
func ceilDuration(d, unit time.Duration) time.Duration {
	return (d + unit - 1) / unit * unit
}

// sortScopeSpikes orders spikes by start, then scope, then metric.
func sortScopeSpikes(out []analytics.Spike) {
	slices.SortStableFunc(out, func(a, b analytics.Spike) int {
		if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Scope.String(), b.Scope.String()); c != 0 {
			return c
		}
		return cmp.Compare(a.Metric, b.Metric)
	})
}

// scopeSpikesDirect is ScopeSpikes by Spikes at each scope, reading every
// minute of the range and its baseline: what scopeSpikesCached must give.
func (s *Service) scopeSpikesDirect(ctx context.Context, f store.Filter, metrics []analytics.Metric, cfg analytics.SpikeConfig) ([]analytics.Spike, error) {
	out := []analytics.Spike{}
	for _, scope := range SpikeScopes {
		res, err := s.Spikes(ctx, f, scope, metrics, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Spikes...)
	}
	return out, nil
}

// scopeSpikesCached is ScopeSpikes from the cached minute series
// (cachedScopeSeries), with the checks of Spikes. It reads whole minutes
// only, where Spikes reads the records of a range's ragged ends too: the
// same spikes, since FindSpikes tests only windows and baselines of whole
// buckets inside [From - Baseline, To). ok is false when the settings or
// the span are not the cache's (buckets other than minutes, durations
// not whole minutes, spans longer than maxCachedSpan).
func (s *Service) scopeSpikesCached(ctx context.Context, f store.Filter, metrics []analytics.Metric, cfg analytics.SpikeConfig) ([]analytics.Spike, bool, error) {
	for _, scope := range SpikeScopes {
		if _, _, err := spikeSetup(f, scope, metrics, cfg); err != nil {
			return nil, false, err
		}
	}
	metrics, cfg, _ = spikeSetup(f, nil, metrics, cfg)
	if cfg.Bucket != time.Minute || cfg.Window%time.Minute != 0 || cfg.Baseline%time.Minute != 0 || !f.To.After(f.From) {
		return nil, false, nil
	}
	// FindSpikes gives the same spikes over [ceil(From), floor(To)) in
	// whole minutes, so requests within a minute share their answer.
	from, to := ceilTime(f.From.UTC(), time.Minute), f.To.UTC().Truncate(time.Minute)
	if !to.After(from) {
		return nil, false, nil
	}
	rk := spikeKey{f: f, metrics: fmt.Sprint(metrics), cfg: cfg, from: from.Unix(), to: to.Unix()}
	rk.f.From, rk.f.To = time.Time{}, time.Time{}
	out, ok, err := s.cachedScopeSpikes(ctx, f, metrics, cfg, from, to, rk)
	if err != nil || !ok {
		return nil, false, err
	}
	return out, true, nil
}

// ceilTime returns t moved up to the next multiple of d (t itself when it
// is one).
func ceilTime(t time.Time, d time.Duration) time.Time {
	if c := t.Truncate(d); !c.Equal(t) {
		return c.Add(d)
	}
	return t
}

// ActiveAlert is an alert rule that is firing or pending, as the now
// strip shows it.
type ActiveAlert struct {
	RuleID int64  `json:"rule_id"`
	Name   string `json:"name"`
	// Status is "firing" or "pending".
	Status string `json:"status"`
	// Since is when the rule entered Status.
	Since time.Time `json:"since,omitzero"`
	// EventID is the alert event of a firing rule (0 while pending).
	EventID  int64            `json:"event_id,omitempty"`
	Metric   analytics.Metric `json:"metric"`
	Scope    analytics.Scope  `json:"scope"`
	Observed analytics.Rate   `json:"observed"`
	Reason   string           `json:"reason,omitempty"`
	// Silenced is set while the rule's notifications are silenced.
	Silenced bool `json:"silenced,omitempty"`
}

// AlertSource lists the alert rules that are firing or pending:
// alert.Active adapts the alert store to it.
type AlertSource interface {
	ActiveAlerts(ctx context.Context) ([]ActiveAlert, error)
}

// SilenceConfig sets when a producer (an app) counts as gone silent: it
// sent steadily, then stopped.
//
// Steadily: over the Baseline right before the Window, cut into Slices
// equal slices, it sent at least one call in every slice, and at least
// MinCalls calls in all. Stopped: it sent no call at all in the Window,
// the span that ends now. MinCalls is the volume guard: at its default,
// 120 calls in 6 hours, an app that keeps its pace would have sent 5 in
// the 15 minutes of the window, so that none there is unlikely by chance
// (below 1% for calls that arrive at random); a quieter app, or one that
// sends in bursts with hours between, is never called silent.
type SilenceConfig struct {
	Window   time.Duration `json:"window"`
	Baseline time.Duration `json:"baseline"`
	Slices   int           `json:"slices"`
	MinCalls int64         `json:"min_calls"`
}

// DefaultSilenceConfig returns the defaults: no call in the last 15
// minutes after a call in each of the 6 hours before them and 120 in all.
func DefaultSilenceConfig() SilenceConfig {
	return SilenceConfig{Window: 15 * time.Minute, Baseline: 6 * time.Hour, Slices: 6, MinCalls: 120}
}

// SilenceSettings is a SilenceConfig with durations written the Go way,
// as answers show it.
type SilenceSettings struct {
	Window   string `json:"window"`
	Baseline string `json:"baseline"`
	Slices   int    `json:"slices"`
	MinCalls int64  `json:"min_calls"`
}

// SilentProducer is an app that sent steadily and stopped.
type SilentProducer struct {
	App string `json:"app"`
	// BaselineCalls counts its calls in the baseline before the window.
	BaselineCalls int64 `json:"baseline_calls"`
	// LastCall is the time of its newest record.
	LastCall time.Time `json:"last_call"`
	// LastID is the ID of that record.
	LastID int64 `json:"last_id"`
}

// NowConfig sets what the now strip looks at; NewNowConfig gives the
// defaults.
type NowConfig struct {
	// Spike is how spikes are told (analytics.DefaultSpikeConfig).
	Spike analytics.SpikeConfig
	// Recent is how long after its end a spike is still listed (1 hour).
	Recent  time.Duration
	Silence SilenceConfig
}

// DefaultNowConfig returns the now strip's defaults.
func DefaultNowConfig() NowConfig {
	return NowConfig{Spike: analytics.DefaultSpikeConfig(), Recent: time.Hour, Silence: DefaultSilenceConfig()}
}

// MaxNowItems is the most spikes or silent producers Now lists; More
// counts the rest.
const MaxNowItems = 20

// NowResult is what is broken right now.
type NowResult struct {
	// At is the time the answer is for: the Service's clock.
	At time.Time `json:"at"`
	// Alerts are the firing rules, then the pending ones, each newest first.
	Alerts []ActiveAlert `json:"alerts"`
	// Spikes are the spikes still going on, then those that ended within
	// Recent, newest end first, at all traffic, per model and per app.
	Spikes []analytics.Spike `json:"spikes"`
	// Silent are the producers that sent steadily and stopped, the busiest
	// first.
	Silent []SilentProducer `json:"silent"`
	// Regressions are the changes (a new model, release or prompt
	// version of an app, see Changes) that made a rate significantly
	// worse, with the default change settings.
	Regressions []Change `json:"regressions"`
	// MoreSpikes and MoreSilent count what MaxNowItems left out.
	MoreSpikes int `json:"more_spikes,omitempty"`
	MoreSilent int `json:"more_silent,omitempty"`
	// Calm is set when there is nothing of the above.
	Calm bool `json:"calm"`
	// Recent is how long an ended spike stays listed; SpikeConfig and
	// Silence are the settings used.
	Recent      string          `json:"recent"`
	SpikeConfig SpikeSettings   `json:"spike_config"`
	Silence     SilenceSettings `json:"silence"`
}

// Now computes what is broken at the Service's clock's now: the alerts
// that fire or are pending (from alerts; none when it is nil), the spikes
// of the headline metrics at all traffic, per model and per app that are
// going on or ended within cfg.Recent, and the producers gone silent.
// Zero fields of cfg take the defaults.
func (s *Service) Now(ctx context.Context, alerts AlertSource, cfg NowConfig) (NowResult, error) {
	def := DefaultNowConfig()
	if cfg.Spike == (analytics.SpikeConfig{}) {
		cfg.Spike = def.Spike
	}
	if cfg.Recent <= 0 {
		cfg.Recent = def.Recent
	}
	if cfg.Silence == (SilenceConfig{}) {
		cfg.Silence = def.Silence
	}
	if cfg.Spike.Bucket <= 0 {
		cfg.Spike.Bucket = def.Spike.Bucket
	}
	if cfg.Silence.Slices <= 0 || cfg.Silence.Window <= 0 || cfg.Silence.Baseline <= 0 {
		return NowResult{}, analytics.Errorf(analytics.EInvalid, "silence: window, baseline and slices must be positive")
	}
	now := s.now().UTC()
	res := NowResult{
		At: now, Alerts: []ActiveAlert{}, Spikes: []analytics.Spike{}, Silent: []SilentProducer{}, Regressions: []Change{},
		Recent: cfg.Recent.String(), SpikeConfig: SettingsOf(cfg.Spike),
		Silence: SilenceSettings{Window: cfg.Silence.Window.String(), Baseline: cfg.Silence.Baseline.String(),
			Slices: cfg.Silence.Slices, MinCalls: cfg.Silence.MinCalls},
	}
	if alerts != nil {
		as, err := alerts.ActiveAlerts(ctx)
		if err != nil {
			return res, err
		}
		res.Alerts = append(res.Alerts, as...)
		slices.SortStableFunc(res.Alerts, func(a, b ActiveAlert) int {
			if a.Status != b.Status {
				if a.Status == "firing" {
					return -1
				}
				return 1
			}
			return b.Since.Compare(a.Since)
		})
	}

	spikes, err := s.ScopeSpikes(ctx, store.Filter{From: now.Add(-cfg.Recent), To: now}, nil, cfg.Spike, true)
	if err != nil {
		return res, err
	}
	// Every spike of the range ended within Recent, or goes on.
	res.Spikes = append(res.Spikes, spikes...)
	slices.SortStableFunc(res.Spikes, func(a, b analytics.Spike) int {
		if a.Ongoing != b.Ongoing {
			if a.Ongoing {
				return -1
			}
			return 1
		}
		return b.WindowEnd.Compare(a.WindowEnd)
	})
	if len(res.Spikes) > MaxNowItems {
		res.MoreSpikes = len(res.Spikes) - MaxNowItems
		res.Spikes = res.Spikes[:MaxNowItems:MaxNowItems]
	}

	sh, err := s.nowShared(ctx, now, cfg.Silence)
	if err != nil {
		return res, err
	}
	res.Silent, res.MoreSilent = slices.Clone(sh.silent), sh.moreSilent
	res.Regressions = slices.Clone(sh.regressions)
	res.Calm = len(res.Alerts) == 0 && len(res.Spikes) == 0 && len(res.Silent) == 0 && len(res.Regressions) == 0
	return res, nil
}

// NowShareAge is how long the now strip's silent producers and
// regressions, computed once for every page and user, are reused: a
// producer that stops or sends again, or a change that regresses, shows
// within this long (by the Service's clock). Alerts and spikes are read
// afresh on every call.
const NowShareAge = 15 * time.Second

// nowParts are the parts of NowResult shared between calls.
type nowParts struct {
	at          time.Time
	cfg         SilenceConfig
	silent      []SilentProducer
	moreSilent  int
	regressions []Change
}

// nowShare holds the last nowParts; its lock is held while they are
// computed, so that concurrent pages wait for one computation.
type nowShare struct {
	mu   sync.Mutex
	last *nowParts
}

// nowShared returns the silent producers and the regressions at now, as
// computed within NowShareAge before it.
func (s *Service) nowShared(ctx context.Context, now time.Time, cfg SilenceConfig) (*nowParts, error) {
	s.share.mu.Lock()
	defer s.share.mu.Unlock()
	if l := s.share.last; l != nil && l.cfg == cfg && !now.Before(l.at) && now.Sub(l.at) < NowShareAge {
		return l, nil
	}
	p := &nowParts{at: now, cfg: cfg, regressions: []Change{}}
	var err error
	if p.silent, p.moreSilent, err = s.silent(ctx, now, cfg); err != nil {
		return nil, err
	}
	changes, err := s.Changes(ctx, store.Filter{}, analytics.ChangeConfig{})
	if err != nil {
		return nil, err
	}
	for _, c := range changes.Changes {
		if c.Status == ChangeRegressed && len(p.regressions) < MaxNowItems {
			p.regressions = append(p.regressions, c)
		}
	}
	s.share.last = p
	return p, nil
}

// silent finds the apps gone silent at now by cfg, from one rollup read
// per slice of the baseline and one of the window, each grouped by app
// alone, so that what is read grows with the number of apps, not with
// time.
func (s *Service) silent(ctx context.Context, now time.Time, cfg SilenceConfig) ([]SilentProducer, int, error) {
	calls := func(from, to time.Time) (map[string]int64, error) {
		groups, err := s.st.Aggregate(ctx, store.Query{Filter: store.Filter{From: from, To: to}, GroupBy: []store.Dim{store.DimApp}})
		if err != nil {
			return nil, err
		}
		m := make(map[string]int64, len(groups))
		for _, g := range groups {
			m[g.App] += g.N
		}
		return m, nil
	}
	windowStart := now.Add(-cfg.Window)
	recent, err := calls(windowStart, now)
	if err != nil {
		return nil, 0, err
	}
	slice := cfg.Baseline / time.Duration(cfg.Slices)
	total := map[string]int64{}
	steady := map[string]int{}
	for i := range cfg.Slices {
		to := windowStart.Add(-time.Duration(i) * slice)
		m, err := calls(to.Add(-slice), to)
		if err != nil {
			return nil, 0, err
		}
		for app, n := range m {
			if n > 0 {
				total[app] += n
				steady[app]++
			}
		}
	}
	var out []SilentProducer
	for app, n := range total {
		// Records without an app have no list of their own to show.
		if app == "" || steady[app] < cfg.Slices || n < cfg.MinCalls || recent[app] > 0 {
			continue
		}
		out = append(out, SilentProducer{App: app, BaselineCalls: n})
	}
	slices.SortFunc(out, func(a, b SilentProducer) int {
		if c := cmp.Compare(b.BaselineCalls, a.BaselineCalls); c != 0 {
			return c
		}
		return cmp.Compare(a.App, b.App)
	})
	more := 0
	if len(out) > MaxNowItems {
		out, more = out[:MaxNowItems:MaxNowItems], len(out)-MaxNowItems
	}
	for i := range out {
		// The newest record says when it stopped; it lies in the baseline.
		recs, _, err := s.st.List(ctx, store.Filter{App: out[i].App, From: windowStart.Add(-cfg.Baseline), To: windowStart}, 1, "")
		if err != nil {
			return nil, 0, err
		}
		if len(recs) > 0 {
			out[i].LastCall, out[i].LastID = recs[0].Time, recs[0].ID
		}
	}
	if out == nil {
		out = []SilentProducer{}
	}
	return out, more, nil
}
