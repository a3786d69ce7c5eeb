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
// the minute series of whole hours, and on each request reads the hourly
// rollups of the span (a row per hour and group, 60 times fewer) to tell
// which hours changed since: only those hours' minutes are read again,
// the hour being written on every request, an older hour when a late
// record landed in it. An hour whose hourly counts are unchanged has
// unchanged minutes too, since Insert updates both levels in one
// transaction, so the answer is always what reading every minute gives:
// there is no staleness to bound.

const (
	// maxCachedSpan is the longest span of minutes (range plus baseline)
	// kept: the default 24 hours against their 24-hour baseline, and the
	// now strip's hour. Longer ranges read their minutes on each request,
	// as they are seldom asked and would hold much memory.
	maxCachedSpan = 50 * time.Hour
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

// groupKey is a group of the series as read: app, model, kind and stop
// reason.
type groupKey struct {
	app, model string
	kind       analytics.Kind
	stop       analytics.StopReason
}

// seriesHour is one whole hour of a series.
type seriesHour struct {
	// fp is the hour's counts per group as its hourly rollup holds them,
	// the tallied counts only (N and the flags).
	fp map[groupKey]analytics.Counts
	// levels are the hour's minute groups at each of SpikeScopes, summed
	// by scope, kind (and stop reason), in bucket order.
	levels [3][]analytics.Group
	// stale is set when the minutes read did not sum to fp (a record was
	// stored between the two reads): the hour is used as read and read
	// again next time.
	stale bool
}

// seriesEntry is the cached series of one seriesKey. Its lock is held
// while it is brought up to date, so that concurrent requests (every
// page's now strip) share one read.
type seriesEntry struct {
	mu    sync.Mutex
	hours map[int64]*seriesHour
	used  uint64
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

// cachedScopeSeries returns, for each of SpikeScopes, the minute groups
// of f's dims over [lo, hi) (whole hours at least), grouped by that
// scope's dims and kind, and by stop reason when share is set: what
// Spikes reads at each scope, whole minutes only. ok is false when the
// span is too long to cache.
func (s *Service) cachedScopeSeries(ctx context.Context, f store.Filter, share bool, lo, hi time.Time) (levels [3][]analytics.Group, ok bool, err error) {
	h0, h1 := lo.UTC().Truncate(time.Hour), ceilTime(hi.UTC(), time.Hour)
	if h1.Sub(h0) > maxCachedSpan {
		return levels, false, nil
	}
	k := seriesKey{f: f, share: share}
	k.f.From, k.f.To = time.Time{}, time.Time{}
	groupBy := []store.Dim{store.DimApp, store.DimModel, store.DimKind}
	if share {
		groupBy = append(groupBy, store.DimStopReason)
	}
	q := k.f
	q.From, q.To = h0, h1
	hourly, err := s.st.Aggregate(ctx, store.Query{Filter: q, GroupBy: groupBy, Bucket: time.Hour})
	if err != nil {
		return levels, false, err
	}
	fps := map[int64]map[groupKey]analytics.Counts{}
	for _, g := range hourly {
		h := g.Bucket.Unix()
		m := fps[h]
		if m == nil {
			m = map[groupKey]analytics.Counts{}
			fps[h] = m
		}
		c := m[keyOf(g)]
		c.Add(tallied(g.Counts))
		m[keyOf(g)] = c
	}

	e := s.series.entry(k)
	e.mu.Lock()
	defer e.mu.Unlock()
	// Hours left out of the span are dropped: a live range moves on.
	for h := range e.hours {
		if h < h0.Unix() || h >= h1.Unix() {
			delete(e.hours, h)
		}
	}
	// The hours whose counts changed, read again in runs of whole hours.
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
		fp := fps[h.Unix()]
		if c, ok := e.hours[h.Unix()]; ok && !c.stale && sameCounts(c.fp, fp) {
			if err := flush(h); err != nil {
				return levels, false, err
			}
			continue
		}
		if runFrom.IsZero() {
			runFrom = h
		}
	}
	if err := flush(h1); err != nil {
		return levels, false, err
	}
	for h := h0; h.Before(h1); h = h.Add(time.Hour) {
		sh := e.hours[h.Unix()]
		for i := range levels {
			levels[i] = append(levels[i], sh.levels[i]...)
		}
	}
	return levels, true, nil
}

// readHours reads the minutes of [from, to), whole hours, into e. An hour
// is kept only when its minutes sum to its hourly counts fps: otherwise
// (a record stored between the two reads) it is read again next time.
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
		sh := &seriesHour{fp: fps[h.Unix()]}
		sum := map[groupKey]analytics.Counts{}
		for _, g := range gs {
			c := sum[keyOf(g)]
			c.Add(tallied(g.Counts))
			sum[keyOf(g)] = c
		}
		for i, scope := range SpikeScopes {
			sh.levels[i] = sumByScope(gs, scope)
		}
		sh.stale = !sameCounts(sum, sh.fp)
		e.hours[h.Unix()] = sh
	}
	return nil
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
