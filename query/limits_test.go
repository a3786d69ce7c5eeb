package query_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// countingStore counts the reads that reach a real store.
type countingStore struct {
	query.Store
	reads atomic.Int64
}

func (c *countingStore) Aggregate(ctx context.Context, q store.Query) ([]analytics.Group, error) {
	c.reads.Add(1)
	return c.Store.Aggregate(ctx, q)
}

func (c *countingStore) Records(ctx context.Context, f store.Filter, limit int) ([]*analytics.Record, error) {
	c.reads.Add(1)
	return c.Store.Records(ctx, f, limit)
}

// TestCheckFilter checks the limits on ranges and search texts.
func TestCheckFilter(t *testing.T) {
	yearOne := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		f     store.Filter
		param string // "" when the filter is within the limits
	}{
		{"a day", lastHours(24), ""},
		{"400 days", store.Filter{From: now.Add(-query.MaxRange), To: now}, ""},
		{"ends tomorrow", store.Filter{From: now, To: now.Add(query.MaxFuture)}, ""},
		{"year one", store.Filter{From: yearOne, To: now}, "parameter from"},
		{"year one to year one", store.Filter{From: yearOne, To: yearOne.Add(time.Hour)}, "parameter to"},
		{"before 2000", store.Filter{From: query.MinTime.Add(-time.Second), To: query.MinTime.Add(time.Hour)}, "parameter from"},
		{"far future", store.Filter{From: now, To: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}, "parameter to"},
		{"future range", store.Filter{From: now.Add(48 * time.Hour), To: now.Add(49 * time.Hour)}, "parameter to"},
		{"401 days", store.Filter{From: now.Add(-query.MaxRange - 24*time.Hour), To: now}, "parameter from"},
		{"backwards", store.Filter{From: now, To: now.Add(-time.Hour)}, "parameter from"},
		{"empty", store.Filter{From: now, To: now}, "parameter from"},
		{"long search", store.Filter{From: now.Add(-time.Hour), To: now, Text: strings.Repeat("x", 50000)}, "parameter q"},
		{"search at the limit", store.Filter{From: now.Add(-time.Hour), To: now, Text: strings.Repeat("x", query.MaxTextQuery)}, ""},
		{"release", store.Filter{From: now.Add(-time.Hour), To: now, Release: "r42", PromptVersion: "support@3"}, ""},
		{"long release", store.Filter{From: now.Add(-time.Hour), To: now, Release: strings.Repeat("r", query.MaxDimValue+1)}, "parameter release"},
		{"control in prompt version", store.Filter{From: now.Add(-time.Hour), To: now, PromptVersion: "v\x003"}, "parameter prompt_version"},
		{"invalid UTF-8 release", store.Filter{From: now.Add(-time.Hour), To: now, Release: "r\xff"}, "parameter release"},
	}
	for _, tc := range tests {
		err := query.CheckFilter(tc.f, now)
		if tc.param == "" {
			if err != nil {
				t.Errorf("%s: %v, want nil", tc.name, err)
			}
			continue
		}
		if analytics.ErrorCode(err) != analytics.EInvalid || !strings.HasPrefix(analytics.ErrorMessage(err), tc.param+":") {
			t.Errorf("%s: %v, want EInvalid naming %q", tc.name, err, tc.param)
		}
	}
}

// TestAbsurdRanges checks that the figures that count buckets refuse a
// range of centuries, or a baseline of centuries, before they read
// anything: the bucket count used to overflow and let them through to a
// read of every minute since year one.
func TestAbsurdRanges(t *testing.T) {
	_, st := newService(t, nil)
	cs := &countingStore{Store: st}
	s := query.New(cs, func() time.Time { return now })
	ctx := context.Background()
	yearOne := store.Filter{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: now}
	huge := analytics.DefaultSpikeConfig()
	huge.Baseline = 106751 * 24 * time.Hour
	longWindow := analytics.DefaultSpikeConfig()
	longWindow.Window = query.MaxWindow + time.Hour
	tests := []struct {
		name  string
		call  func() error
		param string
	}{
		{"timeseries 1m", func() error { _, err := s.Timeseries(ctx, yearOne, time.Minute, ""); return err }, "parameter bucket"},
		{"timeseries 1h", func() error { _, err := s.Timeseries(ctx, yearOne, time.Hour, ""); return err }, "parameter bucket"},
		{"timeseries auto", func() error { _, err := s.Timeseries(ctx, yearOne, 0, ""); return err }, "parameter bucket"},
		{"chart", func() error { _, err := s.Chart(ctx, yearOne, query.ChartVolume, ""); return err }, "parameter bucket"},
		{"spikes", func() error { _, err := s.Spikes(ctx, yearOne, nil, nil, analytics.DefaultSpikeConfig()); return err }, "parameter range"},
		{"spikes 1d", func() error {
			cfg := analytics.DefaultSpikeConfig()
			cfg.Bucket, cfg.Window = 24*time.Hour, 24*time.Hour
			_, err := s.Spikes(ctx, yearOne, nil, nil, cfg)
			return err
		}, "parameter range"},
		{"spikes baseline", func() error { _, err := s.Spikes(ctx, lastHours(24), nil, nil, huge); return err }, "parameter baseline"},
		{"spikes window", func() error { _, err := s.Spikes(ctx, lastHours(24), nil, nil, longWindow); return err }, "parameter window"},
	}
	for _, tc := range tests {
		err := tc.call()
		if analytics.ErrorCode(err) != analytics.EInvalid || !strings.HasPrefix(analytics.ErrorMessage(err), tc.param+":") {
			t.Errorf("%s: %v, want EInvalid naming %q", tc.name, err, tc.param)
		}
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("the store was read %d times, want none", n)
	}
}
