package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// A 30-day latency and cost read groups about 30 days of daily rollup
// rows (a row per app, environment, model, metric and bin, or per user),
// which at a million records took most of a second. The rows of a closed
// day seldom change, so the Store keeps them, per filter and day, tagged
// with the day's version: the sum of counters in store_meta, one per day
// and app (lcDayKey), that every write to the day's rollup rows bumps in
// its own transaction (upsertLatencyUsage; counters only grow, so any
// write moves the sum), and an epoch that rebuilds, retention and bulk
// copies bump (lcBumpEpoch). A read fetches the versions of its days in
// one small query and rereads only the days whose version moved, so the
// answer is what reading every row gives, on every instance sharing the
// database. The day that holds now is always read.

// lcEpochKey is the store_meta key of the epoch.
const lcEpochKey = "lc_epoch"

// maxLCDays bounds the cached buckets (over every filter and level): two
// filters' 30 days and the hours of the day before, a few thousand rows
// each.
const maxLCDays = 128

// maxLCSpan is the most buckets of a level a read takes from the cache:
// the page's longest range, 30 days, and the hours around it.
const maxLCSpan = 35

// lcDayKey is the prefix of the store_meta keys of a daily bucket's
// version, ":" and an app following; zero-padded so a range of days is a
// range of keys.
func lcDayKey(bucket int64) string { return fmt.Sprintf("lc_day:%012d", bucket) }

type lcCacheKey struct {
	dims   store.Filter // the filter, its range zeroed
	level  int
	bucket int64
}

type latRow struct {
	k latKey
	n int64
}

type useRow struct {
	k useKey
	c analytics.UsageCounts
}

// lcDay is one cached day: its rows as stored (the daily rollups have one
// row per key, so they need no grouping).
type lcDay struct {
	epoch, version int64
	lat            []latRow
	use            []useRow
	latOK, useOK   bool
	used           uint64
}

type lcDayCache struct {
	mu   sync.Mutex
	days map[lcCacheKey]*lcDay
	tick uint64
}

// lcVersions reads the epoch and the versions of the days [lo, hi)
// (seconds); a day without a counter has version 0.
func (s *Store) lcVersions(ctx context.Context, lo, hi int64) (epoch int64, vers map[int64]int64, err error) {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(
		"SELECT key, value FROM store_meta WHERE (key >= ? AND key < ?) OR key = ?"), lcDayKey(lo), lcDayKey(hi), lcEpochKey)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	vers = map[int64]int64{}
	for rows.Next() {
		var (
			k string
			v int64
		)
		if err := rows.Scan(&k, &v); err != nil {
			return 0, nil, err
		}
		if k == lcEpochKey {
			epoch = v
			continue
		}
		if d, ok := strings.CutPrefix(k, "lc_day:"); ok {
			d, _, _ = strings.Cut(d, ":")
			if b, err := strconv.ParseInt(d, 10, 64); err == nil {
				vers[b] += v
			}
		}
	}
	return epoch, vers, rows.Err()
}

// lcBump adds one to the store_meta counter key in tx.
func (s *Store) lcBump(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, key string) error {
	_, err := tx.ExecContext(ctx, s.d.rebind(
		"INSERT INTO store_meta (key, value) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET value = store_meta.value + 1"), key)
	return err
}

// lcBumpEpoch makes every cached day stale, after writes that change
// daily rollup rows without bumping their days' versions.
func (s *Store) lcBumpEpoch(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	if err := s.lcBump(ctx, tx, lcEpochKey); err != nil {
		return fmt.Errorf("latency and usage epoch: %w", err)
	}
	return nil
}

// lcClosedDays hands the rows of the buckets [lo, hi) (seconds, within
// closed days) of a level that f selects to lat or use (whichever is not
// nil), from the cache where their day's version has not moved. Insert
// writes a record's hourly and daily rows together, so an hour's rows
// change only with its day's version.
func (s *Store) lcClosedDays(ctx context.Context, f *store.Filter, level int, lo, hi int64, lat func(latRow), use func(useRow)) error {
	day := lcLevels[0].width
	epoch, vers, err := s.lcVersions(ctx, floorDiv(lo, day)*day, hi)
	if err != nil {
		return err
	}
	dims := *f
	dims.From, dims.To = store.Filter{}.From, store.Filter{}.To
	c := &s.lcCache
	for b := lo; b < hi; b += lcLevels[level].width {
		k := lcCacheKey{dims, level, b}
		version := vers[floorDiv(b, day)*day]
		c.mu.Lock()
		d := c.days[k]
		if d != nil && (d.epoch != epoch || d.version != version) {
			d = nil
		}
		if d != nil && ((lat != nil && d.latOK) || (use != nil && d.useOK)) {
			c.tick++
			d.used = c.tick
			c.mu.Unlock()
			if lat != nil {
				for _, r := range d.lat {
					lat(r)
				}
			} else {
				for _, r := range d.use {
					use(r)
				}
			}
			continue
		}
		c.mu.Unlock()
		nd := &lcDay{epoch: epoch, version: version}
		if lat != nil {
			nd.lat, err = s.lcDayLatency(ctx, f, level, b)
			nd.latOK = true
		} else {
			nd.use, err = s.lcDayUsage(ctx, f, level, b)
			nd.useOK = true
		}
		if err != nil {
			return err
		}
		for _, r := range nd.lat {
			lat(r)
		}
		for _, r := range nd.use {
			use(r)
		}
		c.put(k, nd)
	}
	return nil
}

// put keeps d for k, merging it with a cached day of the same version
// (one read fills latency, the other usage), and drops the least recently
// used day past maxLCDays.
func (c *lcDayCache) put(k lcCacheKey, d *lcDay) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil {
		c.days = map[lcCacheKey]*lcDay{}
	}
	if old := c.days[k]; old != nil && old.epoch == d.epoch && old.version == d.version {
		if !d.latOK {
			d.lat, d.latOK = old.lat, old.latOK
		}
		if !d.useOK {
			d.use, d.useOK = old.use, old.useOK
		}
	}
	c.tick++
	d.used = c.tick
	c.days[k] = d
	for len(c.days) > maxLCDays {
		var (
			lk    lcCacheKey
			least *lcDay
		)
		for k, v := range c.days {
			if least == nil || v.used < least.used {
				lk, least = k, v
			}
		}
		delete(c.days, lk)
	}
}

// lcDayLatency reads the latency rows of a level's bucket b that f
// selects.
func (s *Store) lcDayLatency(ctx context.Context, f *store.Filter, level int, b int64) ([]latRow, error) {
	w := &where{}
	w.add("bucket = ?", b)
	dimFilter(w, f, trueCols)
	rows, err := s.r.QueryContext(ctx, s.d.rebind("SELECT app, environment, model, metric, bin, n FROM "+lcLevels[level].latency+w.sql()), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latRow
	for rows.Next() {
		var r latRow
		if err := rows.Scan(&r.k.app, &r.k.env, &r.k.model, &r.k.metric, &r.k.bin, &r.n); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// lcDayUsage reads the usage rows of a level's bucket b that f selects.
func (s *Store) lcDayUsage(ctx context.Context, f *store.Filter, level int, b int64) ([]useRow, error) {
	w := &where{}
	w.add("bucket = ?", b)
	dimFilter(w, f, trueCols)
	rows, err := s.r.QueryContext(ctx, s.d.rebind("SELECT app, environment, model, kind, long_prompt, other_user, user_id, n, "+
		"input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, own_n, own_cost_micro_usd, priced_n, "+
		"priced_input_tokens, priced_output_tokens, priced_cache_read_tokens, priced_cache_write_tokens, turns, duration_ms, "+
		"cache_write_1h_tokens, priced_cache_write_1h_tokens FROM "+lcLevels[level].usage+w.sql()), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []useRow
	for rows.Next() {
		var (
			r           useRow
			long, other int64
			c           = &r.c
		)
		if err := rows.Scan(&r.k.app, &r.k.env, &r.k.model, &r.k.kind, &long, &other, &r.k.user,
			&c.N, &c.Tokens.Input, &c.Tokens.Output, &c.Tokens.CacheRead, &c.Tokens.CacheWrite,
			&c.OwnN, &c.OwnCostMicroUSD, &c.PricedN, &c.Priced.Input, &c.Priced.Output, &c.Priced.CacheRead, &c.Priced.CacheWrite,
			&c.Turns, &c.DurationMS, &c.Tokens.CacheWrite1h, &c.Priced.CacheWrite1h); err != nil {
			return nil, err
		}
		r.k.long, r.k.other = long != 0, other != 0
		out = append(out, r)
	}
	return out, rows.Err()
}
