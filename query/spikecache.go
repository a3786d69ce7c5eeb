package query

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Spike detection at SpikeScopes slides a window minute by minute over
// the range and the day of baseline before it: every request of the
// overview, its chart and the now strip on every page would read two days
// of minute rollups three times. Instead the Service keeps, per filter,
// the minute series of whole hours, grouped once by app and model (the
// three scopes are summed from it), and the spikes last found on it:
//
//   - the hours from seriesHotSpan before now on are read from the minute
//     rollups on every request, so records as they arrive show at once;
//   - the closed hours before are checked against their hourly rollups (a
//     row per hour and group, 60 times fewer than minutes) at most every
//     seriesVerifyEvery, and only an hour whose counts changed is read
//     again. Insert updates both levels in one transaction, so an hour
//     whose hourly counts are unchanged has unchanged minutes.
//
// The answer is what reading every minute gives, except that a record
// stored more than seriesHotSpan after its time (a late batch) shows
// within seriesVerifyEvery rather than at once. Requests within a minute
// whose series did not change share one answer.

const (
	// maxCachedSpan is the longest span of minutes (range plus baseline)
	// kept: the default 24 hours against their 24-hour baseline, and the
	// now strip's hour. Longer ranges read their minutes on each request,
	// as they are seldom asked and would hold much memory.
	maxCachedSpan = 50 * time.Hour
	// seriesVerifyEvery is how often the closed hours of a series are
	// checked against their hourly rollups for late records: a record
	// stored more than seriesHotSpan late, in an hour before the one
	// holding now, shows in spikes within this long. Records of the last
	// seriesHotSpan show at once: their hours are read on every request.
	seriesVerifyEvery = 30 * time.Second
	seriesHotSpan     = 15 * time.Minute
	// maxSeriesEntries is how many filters' series are kept; the least
	// recently used goes first.
	maxSeriesEntries = 8
)

// seriesKey names a cached series: the filter's dims (its range zeroed)
// and whether stop reasons are told apart (for share metrics).
type seriesKey struct {
	f     store.Filter
	share bool
}

// spikeKey is a request of scopeSpikesCached: its filter's dims, its
// metrics, settings and whole-minute range.
type spikeKey struct {
	f        store.Filter
	metrics  string
	cfg      analytics.SpikeConfig
	from, to int64
}

// spikeResult is the answer to a spikeKey on a series version.
type spikeResult struct {
	version uint64
	spikes  []analytics.Spike
}

// groupKey is a group of the series as read: app, model, kind and stop
// reason.
type groupKey struct {
	app, model string
	kind       analytics.Kind
	stop       analytics.StopReason
}

// seriesHour is one whole hour of a series.
type seriesHour struct {
	// fp is the hour's counts per group as its minutes sum to, the
	// tallied counts only (N and the flags), to compare with its hourly
	// rollup.
	fp map[groupKey]analytics.Counts
	// levels are the hour's minute groups at each of SpikeScopes, summed
	// by scope, kind (and stop reason), in bucket order.
	levels [3][]analytics.Group
	// stale is set when the minutes read did not sum to the hourly rollup
	// (a record was stored between the two reads): the hour is used as
	// read and checked again on the next request.
	stale bool
	// gen is the series version at which the hour's data last changed;
	// byMetric its tallies by metric, made on first use.
	gen      uint64
	byMetric map[tallyKey]map[analytics.Scope]*hourTally
}

// seriesEntry is the cached series of one seriesKey. Its lock is held
// while it is brought up to date, so that concurrent requests (every
// page's now strip) share one read.
type seriesEntry struct {
	mu    sync.Mutex
	hours map[int64]*seriesHour
	// verifiedAt is when the closed hours were last checked (the
	// Service's clock); version moves on whenever an hour's data changes.
	verifiedAt time.Time
	version    uint64
	// results are the spikes last found on this series, by request.
	results map[spikeKey]spikeResult
	// scans are the window tests of each scope and metric, reused while
	// the hours they saw are unchanged.
	scans map[scanKey]*scanState
	// newest is the end of the latest span asked for, in Unix seconds.
	newest int64
	used   uint64
}

// seriesCache holds the series of recent filters.
type seriesCache struct {
	mu      sync.Mutex
	tick    uint64
	entries map[seriesKey]*seriesEntry
}

// entry returns the entry of k, made when missing, evicting the least
// recently used beyond maxSeriesEntries.
func (c *seriesCache) entry(k seriesKey) *seriesEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[seriesKey]*seriesEntry{}
	}
	c.tick++
	e, ok := c.entries[k]
	if !ok {
		if len(c.entries) >= maxSeriesEntries {
			var old seriesKey
			var oldUsed uint64
			first := true
			for k2, e2 := range c.entries {
				if first || e2.used < oldUsed {
					old, oldUsed, first = k2, e2.used, false
				}
			}
			delete(c.entries, old)
		}
		e = &seriesEntry{hours: map[int64]*seriesHour{}}
		c.entries[k] = e
	}
	e.used = c.tick
	return e
}

// tallied keeps of c what spike detection reads.
func tallied(c analytics.Counts) analytics.Counts {
	return analytics.Counts{N: c.N, Flagged: c.Flagged}
}

// keyOf is the groupKey of g.
func keyOf(g analytics.Group) groupKey {
	return groupKey{app: g.App, model: g.Model, kind: g.Kind, stop: g.StopReason}
}

// cachedScopeSpikes returns the spikes of metrics over [from, to) (whole
// minutes) at each of SpikeScopes from the cached minute series of f's
// dims over [from - cfg.Baseline, to) (whole hours at least), grouped by
// app, model and kind, and by stop reason for share metrics: what Spikes
// finds at each scope. Requests for rk on an unchanged series share one
// answer; otherwise only the windows that see a changed hour are tested
// again (scan). ok is false when the span is too long to cache.
func (s *Service) cachedScopeSpikes(ctx context.Context, f store.Filter, metrics []analytics.Metric, cfg analytics.SpikeConfig, from, to time.Time, rk spikeKey) (found []analytics.Spike, ok bool, err error) {
	lo, hi := from.Add(-cfg.Baseline), to
	share := hasShareMetric(metrics)
	h0, h1 := lo.UTC().Truncate(time.Hour), ceilTime(hi.UTC(), time.Hour)
	if h1.Sub(h0) > maxCachedSpan {
		return nil, false, nil
	}
	k := seriesKey{f: f, share: share}
	k.f.From, k.f.To = time.Time{}, time.Time{}
	groupBy := []store.Dim{store.DimApp, store.DimModel, store.DimKind}
	if share {
		groupBy = append(groupBy, store.DimStopReason)
	}
	e := s.series.entry(k)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := s.now().UTC()
	// cur starts the hours read on every request: the one holding now,
	// and the one before during the first seriesHotSpan of an hour.
	cur := now.Add(-seriesHotSpan).Truncate(time.Hour)
	// Hours further than maxCachedSpan before the newest asked for are
	// dropped: a live range moves on. Shorter spans (the now strip's) share
	// the hours of longer ones (the overview's) instead of evicting them.
	e.newest = max(e.newest, h1.Unix())
	for h := range e.hours {
		if h < e.newest-int64(maxCachedSpan/time.Second) {
			delete(e.hours, h)
		}
	}
	// Closed hours are checked against their hourly rollups at most every
	// seriesVerifyEvery, and whenever one of them is not cached yet.
	verify := e.verifiedAt.IsZero() || now.Sub(e.verifiedAt) >= seriesVerifyEvery || now.Before(e.verifiedAt)
	for h := h0; h.Before(h1) && h.Before(cur) && !verify; h = h.Add(time.Hour) {
		if c, ok := e.hours[h.Unix()]; !ok || c.stale {
			verify = true
		}
	}
	var fps map[int64]map[groupKey]analytics.Counts
	if verify {
		q := k.f
		q.From, q.To = h0, h1
		hourly, err := s.st.Aggregate(ctx, store.Query{Filter: q, GroupBy: groupBy, Bucket: time.Hour})
		if err != nil {
			return nil, false, err
		}
		fps = map[int64]map[groupKey]analytics.Counts{}
		for _, g := range hourly {
			m := fps[g.Bucket.Unix()]
			if m == nil {
				m = map[groupKey]analytics.Counts{}
				fps[g.Bucket.Unix()] = m
			}
			c := m[keyOf(g)]
			c.Add(tallied(g.Counts))
			m[keyOf(g)] = c
		}
		e.verifiedAt = now
	}
	// The hours to read, in runs of whole hours: from cur on always
	// (records arrive there), a closed hour before when it is not cached
	// or its hourly counts changed.
	var runFrom time.Time
	flush := func(to time.Time) error {
		if runFrom.IsZero() {
			return nil
		}
		from := runFrom
		runFrom = time.Time{}
		return s.readHours(ctx, e, k, groupBy, from, to, fps)
	}
	for h := h0; h.Before(h1); h = h.Add(time.Hour) {
		c, ok := e.hours[h.Unix()]
		if h.Before(cur) && ok && !c.stale && (fps == nil || sameCounts(c.fp, fps[h.Unix()])) {
			if err := flush(h); err != nil {
				return nil, false, err
			}
			continue
		}
		if runFrom.IsZero() {
			runFrom = h
		}
	}
	if err := flush(h1); err != nil {
		return nil, false, err
	}
	if r, hit := e.results[rk]; hit && r.version == e.version {
		return slices.Clone(r.spikes), true, nil
	}
	out := e.scan(h0, h1, metrics, cfg, from, to)
	if e.results == nil || len(e.results) >= 16 {
		e.results = map[spikeKey]spikeResult{}
	}
	e.results[rk] = spikeResult{version: e.version, spikes: slices.Clone(out)}
	return out, true, nil
}

// scanKey names the SpikeScan of one scope and metric at one of
// SpikeScopes (by index).
type scanKey struct {
	level  int
	scope  analytics.Scope
	metric analytics.Metric
}

// scanState is a SpikeScan and the series version it last scanned.
type scanState struct {
	scan    analytics.SpikeScan
	version uint64
}

// hourTally is one scope's tallies of a metric over the minutes of an
// hour, with a bit set for each minute that has a group.
type hourTally struct {
	t       [60]analytics.Tally
	present uint64
}

// tallyKey names an hour's tallies of a metric at one of SpikeScopes.
type tallyKey struct {
	level  int
	metric analytics.Metric
}

// tallies returns the hour's tallies of metric by scope at level, made
// from its groups on first use.
func (sh *seriesHour) tallies(level int, metric analytics.Metric, hour time.Time) map[analytics.Scope]*hourTally {
	k := tallyKey{level, metric}
	if m, ok := sh.byMetric[k]; ok {
		return m
	}
	if sh.byMetric == nil {
		sh.byMetric = map[tallyKey]map[analytics.Scope]*hourTally{}
	}
	m := map[analytics.Scope]*hourTally{}
	for _, g := range sh.levels[level] {
		sc := analytics.ScopeOf(g)
		ht := m[sc]
		if ht == nil {
			ht = &hourTally{}
			m[sc] = ht
		}
		i := int(g.Bucket.Sub(hour) / time.Minute)
		ht.t[i].Add(metric.TallyOf(g))
		ht.present |= 1 << i
	}
	sh.byMetric[k] = m
	return m
}

// scan finds the spikes of metrics over [from, to) at each of
// SpikeScopes on the hours [h0, h1) of e, which hold [from -
// cfg.Baseline, to) in whole minutes: what FindSpikes finds on the
// minute groups. Each scope and metric keeps its SpikeScan, so only the
// windows that see an hour changed since its last scan (the hour being
// written, under ingest) are tested again. e.mu is held.
func (e *seriesEntry) scan(h0, h1 time.Time, metrics []analytics.Metric, cfg analytics.SpikeConfig, from, to time.Time) []analytics.Spike {
	origin := from.Add(-cfg.Baseline)
	nb := int(to.Sub(origin) / time.Minute)
	if e.scans == nil || len(e.scans) > 4096 {
		e.scans = map[scanKey]*scanState{}
	}
	out := []analytics.Spike{}
	for level := range SpikeScopes {
		for _, m := range metrics {
			series := map[analytics.Scope][]analytics.Tally{}
			present := map[analytics.Scope]bool{}
			var order []analytics.Scope
			for h := h0; h.Before(h1); h = h.Add(time.Hour) {
				// off is the index in the series of the hour's first minute.
				off := int(h.Sub(origin) / time.Minute)
				for sc, ht := range e.hours[h.Unix()].tallies(level, m, h) {
					ts, ok := series[sc]
					if !ok {
						ts = make([]analytics.Tally, nb)
						series[sc] = ts
						order = append(order, sc)
					}
					for i := range 60 {
						if j := off + i; j >= 0 && j < nb {
							ts[j] = ht.t[i]
							if ht.present&(1<<i) != 0 {
								present[sc] = true
							}
						}
					}
				}
			}
			for _, sc := range order {
				if !present[sc] {
					continue
				}
				k := scanKey{level, sc, m}
				st := e.scans[k]
				if st == nil {
					st = &scanState{}
					e.scans[k] = st
				}
				out = append(out, st.scan.Scan(cfg, sc, m, origin, series[sc], from, to, e.unchangedBefore(st.version, h0, h1))...)
				st.version = e.version
			}
		}
	}
	return out
}

// unchangedBefore is the start of the first cached hour that changed
// after version v (or was read again since): the minutes before it are as
// they were then. Hours before [h0, h1) count too, as windows kept from a
// longer range see them.
func (e *seriesEntry) unchangedBefore(v uint64, h0, h1 time.Time) time.Time {
	first := h1
	for h := h0; h.Before(h1); h = h.Add(time.Hour) {
		if e.hours[h.Unix()] == nil {
			first = h
			break
		}
	}
	for u, sh := range e.hours {
		if sh.gen > v && u < first.Unix() {
			first = time.Unix(u, 0).UTC()
		}
	}
	return first
}

// readHours reads the minutes of [from, to), whole hours, into e,
// moving its version on when they differ from what it held. An hour whose
// minutes do not sum to its hourly counts in fps (a record stored between
// the two reads) is marked stale: used as read, and checked again on the
// next request.
func (s *Service) readHours(ctx context.Context, e *seriesEntry, k seriesKey, groupBy []store.Dim, from, to time.Time, fps map[int64]map[groupKey]analytics.Counts) error {
	q := k.f
	q.From, q.To = from, to
	mins, err := s.st.Aggregate(ctx, store.Query{Filter: q, GroupBy: groupBy, Bucket: time.Minute})
	if err != nil {
		return err
	}
	byHour := map[int64][]analytics.Group{}
	for _, g := range mins {
		h := g.Bucket.Truncate(time.Hour).Unix()
		byHour[h] = append(byHour[h], g)
	}
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		gs := byHour[h.Unix()]
		sh := &seriesHour{fp: map[groupKey]analytics.Counts{}}
		for _, g := range gs {
			c := sh.fp[keyOf(g)]
			c.Add(tallied(g.Counts))
			sh.fp[keyOf(g)] = c
		}
		for i, scope := range SpikeScopes {
			sh.levels[i] = sumByScope(gs, scope)
		}
		if fps != nil {
			sh.stale = !sameCounts(sh.fp, fps[h.Unix()])
		}
		if old, ok := e.hours[h.Unix()]; !ok || !sameLevels(old, sh) {
			e.version++
			sh.gen = e.version
		} else {
			// The same data: keep the tallies made of it.
			sh.gen, sh.byMetric = old.gen, old.byMetric
		}
		e.hours[h.Unix()] = sh
	}
	return nil
}

// sameLevels says whether two reads of an hour hold the same groups.
func sameLevels(a, b *seriesHour) bool {
	for i := range a.levels {
		if len(a.levels[i]) != len(b.levels[i]) {
			return false
		}
		for j := range a.levels[i] {
			x, y := &a.levels[i][j], &b.levels[i][j]
			if !x.Bucket.Equal(y.Bucket) || x.Dims != y.Dims || x.Counts != y.Counts {
				return false
			}
		}
	}
	return true
}

// sameCounts says whether two hours' counts are the same.
func sameCounts(a, b map[groupKey]analytics.Counts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, c := range a {
		if d, ok := b[k]; !ok || d != c {
			return false
		}
	}
	return true
}

// sumByScope sums minute groups (ordered by bucket) by bucket, the dims
// of scope, kind and stop reason, as the store groups them, in bucket
// order then scope order.
func sumByScope(gs []analytics.Group, scope []store.Dim) []analytics.Group {
	type key struct {
		bucket int64
		dims   analytics.Dims
	}
	idx := map[key]int{}
	var out []analytics.Group
	for _, g := range gs {
		d := analytics.Dims{Kind: g.Kind, StopReason: g.StopReason}
		for _, dim := range scope {
			switch dim {
			case store.DimApp:
				d.App = g.App
			case store.DimModel:
				d.Model = g.Model
			}
		}
		k := key{g.Bucket.Unix(), d}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, analytics.Group{Bucket: g.Bucket, Dims: d})
		}
		out[i].Counts.Add(tallied(g.Counts))
	}
	slices.SortStableFunc(out, func(a, b analytics.Group) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.App, b.App), cmp.Compare(a.Model, b.Model),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.StopReason, b.StopReason))
	})
	return out
}
