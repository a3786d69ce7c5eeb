package analytics

import "time"

// SpikeScan is FindSpikes for one scope and metric over its bucket
// tallies, keeping the verdict of every window it tested so that a later
// scan of the same series, where only the buckets from some time on have
// changed (records arriving now), tests again only the windows that see
// them. A window's verdict depends only on the buckets of its baseline
// and itself, so the windows ending before the first changed bucket keep
// theirs: a scan during ingest tests the last hour's windows, not the
// day's. The zero SpikeScan has tested nothing.
type SpikeScan struct {
	cfg SpikeConfig
	// lo and hi bound the window starts tested (Unix seconds, [lo, hi]);
	// sig holds the significant ones' verdicts by start.
	lo, hi int64
	tested bool
	sig    map[int64]SpikeResult
}

// Scan returns the spikes of scope and metric over [from, to), what
// FindSpikes returns for that scope: tallies[i] is the tally of the
// bucket starting at origin + i*cfg.Bucket, and they should cover
// [from - cfg.Baseline, to). from, to and origin should be whole buckets.
// Windows tested by an earlier Scan with the same cfg whose baseline and
// window end at or before same are not tested again: the caller vouches
// that no bucket before same has changed since. A zero same reuses
// nothing. Windows tested before outside this scan's range are kept
// too, while they end by same and join the range, so that scans of
// different ranges of one series (a day and its last hour) do not test
// each other's windows again. FindSpikes scans only the scopes that have a group in the
// span; so should the caller.
func (sc *SpikeScan) Scan(cfg SpikeConfig, scope Scope, metric Metric, origin time.Time, tallies []Tally, from, to, same time.Time) []Spike {
	cfg = cfg.withDurations()
	if sc.tested && sc.cfg != cfg {
		*sc = SpikeScan{}
	}
	if !to.After(from) {
		return nil
	}
	step := int64(cfg.Bucket / time.Second)
	wb := max(int(divCeil(cfg.Window, cfg.Bucket)), 1)
	bb := max(int(divCeil(cfg.Baseline, cfg.Bucket)), 1)
	nb := len(tallies)
	// Prefix sums: pre[i] is the total of buckets [0, i).
	pre := make([]Tally, nb+1)
	for i, t := range tallies {
		pre[i+1] = Tally{K: pre[i].K + t.K, N: pre[i].N + t.N}
	}
	sum := func(a, b int) Tally {
		a, b = min(max(a, 0), nb), min(max(b, 0), nb)
		return Tally{K: pre[b].K - pre[a].K, N: pre[b].N - pre[a].N}
	}
	first := int(from.Sub(origin) / cfg.Bucket)
	if origin.Add(time.Duration(first) * cfg.Bucket).Before(from) {
		first++
	}
	// lastEnd is the end of the last window of the range: a spike whose
	// last window ends there is still going on.
	lastEnd := origin.Add(time.Duration(nb) * cfg.Bucket)
	for lastEnd.After(to) {
		lastEnd = lastEnd.Add(-cfg.Bucket)
	}
	sameUnix := same.Unix()
	reuse := sc.tested && !same.IsZero()
	next := map[int64]SpikeResult{}
	var lo, hi int64
	kept := false
	var out []Spike
	var cur *Spike
	curEnd := -1
	for s := max(first, 0); s+wb <= nb; s++ {
		start := origin.Add(time.Duration(s) * cfg.Bucket)
		end := origin.Add(time.Duration(s+wb) * cfg.Bucket)
		if end.After(to) {
			break
		}
		u := start.Unix()
		var res SpikeResult
		// A window whose baseline is cut short by origin depends on
		// origin: it is neither reused nor kept.
		whole := s-bb >= 0
		if whole {
			if !kept {
				lo, kept = u, true
			}
			hi = u
		}
		if reuse && whole && u >= sc.lo && u <= sc.hi && u+int64(wb)*step <= sameUnix {
			r, ok := sc.sig[u]
			res = r
			res.Significant = ok
		} else {
			res = detectSpike(cfg, sum(s, s+wb), sum(s-bb, s), false)
			res.Observed.Metric, res.Baseline.Metric = string(metric), string(metric)
		}
		if !res.Significant {
			continue
		}
		if whole {
			next[u] = res
		}
		out, cur, curEnd = mergeWindow(out, cur, curEnd, scope, metric, s, wb, start, end, res)
	}
	for i := range out {
		out[i].Ongoing = out[i].WindowEnd.Equal(lastEnd)
	}
	// The windows tested before outside this range stay known while they
	// end by same, and when they join this range (the overview's day and
	// the now strip's hour scan one series).
	if reuse && kept {
		oldHi := min(sc.hi, sameUnix-int64(wb)*step)
		if sc.lo <= oldHi && sc.lo <= hi+step && oldHi+step >= lo {
			for u, r := range sc.sig {
				if u >= sc.lo && u <= oldHi && (u < lo || u > hi) {
					next[u] = r
				}
			}
			lo, hi = min(lo, sc.lo), max(hi, oldHi)
		}
	}
	sc.cfg, sc.lo, sc.hi, sc.sig, sc.tested = cfg, lo, hi, next, kept
	return out
}
