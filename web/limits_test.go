package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// countingStore counts the reads that reach a real store.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *countingStore) Aggregate(ctx context.Context, q store.Query) ([]analytics.Group, error) {
	c.reads.Add(1)
	return c.Store.Aggregate(ctx, q)
}

func (c *countingStore) List(ctx context.Context, f store.Filter, limit int, after store.Cursor) ([]*analytics.Record, store.Cursor, error) {
	c.reads.Add(1)
	return c.Store.List(ctx, f, limit, after)
}

func (c *countingStore) Records(ctx context.Context, f store.Filter, limit int) ([]*analytics.Record, error) {
	c.reads.Add(1)
	return c.Store.Records(ctx, f, limit)
}

func (c *countingStore) RefusalCounts(ctx context.Context, f store.Filter, by store.RecordKey, limit int) ([]analytics.ScopeCount, int, error) {
	c.reads.Add(1)
	return c.Store.RefusalCounts(ctx, f, by, limit)
}

func (c *countingStore) LatencyBins(ctx context.Context, f store.Filter) ([]store.LatencyBin, error) {
	c.reads.Add(1)
	return c.Store.LatencyBins(ctx, f)
}

func (c *countingStore) Usage(ctx context.Context, f store.Filter, byUser bool) ([]store.UsageRow, error) {
	c.reads.Add(1)
	return c.Store.Usage(ctx, f, byUser)
}

// TestAbsurdParameters asks every route that takes a range, a duration or
// a search for absurd ones, and checks that each answers 400 naming the
// parameter without reading the store: a range from year one once read
// every minute since then, gigabytes, in one request.
func TestAbsurdParameters(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	ts := httptest.NewServer((&Server{Store: cs, Now: func() time.Time { return now }}).Handler())
	t.Cleanup(ts.Close)

	routes := []string{
		"/api/v1/summary", "/api/v1/rates", "/api/v1/timeseries", "/api/v1/spikes", "/api/v1/patterns",
		"/api/v1/refusers", "/api/v1/refusers?by=session", "/api/v1/responses", "/responses/export", "/api/v1/latency-cost",
		"/", "/responses", "/stop-reasons/refusal", "/empty-turns", "/refusals", "/truncation", "/agent-runs", "/latency-cost",
		"/ui/headline", "/ui/overview/spikes", "/ui/overview/patterns", "/ui/chart/volume", "/ui/chart/metric?metric=refusal",
	}
	values := []struct {
		query string
		param string
	}{
		{"from=0001-01-01T00:00:00Z", "parameter from"},
		{"from=1999-12-31T23:59:59Z&to=2000-01-01T01:00:00Z", "parameter from"},
		{"to=9999-12-31T00:00:00Z", "parameter to"},
		{"from=2024-01-01T00:00:00Z", "parameter from"}, // over 400 days
		{"q=" + strings.Repeat("a", 50000), "parameter q"},
	}
	for _, route := range routes {
		for _, v := range values {
			sep := "?"
			if strings.Contains(route, "?") {
				sep = "&"
			}
			path := route + sep + v.query
			code, body := get(t, ts, path, nil)
			if code != 400 || !strings.Contains(body, v.param) {
				t.Errorf("GET %s: %d %.200s, want 400 naming %q", shorten(path), code, body, v.param)
			}
		}
	}
	// The spike test's durations.
	for _, tc := range []struct {
		path, param string
	}{
		{"/api/v1/spikes?baseline=106751d", "parameter baseline"},
		{"/api/v1/spikes?baseline=9223372036854775807d", "parameter baseline"},
		{"/api/v1/spikes?baseline=281474976710657d", "parameter baseline"},
		{"/api/v1/spikes?baseline=2562047h", "parameter baseline"},
		{"/api/v1/spikes?baseline=91d", "parameter baseline"},
		{"/api/v1/spikes?window=32d", "parameter window"},
		{"/api/v1/spikes?window=-5m", "parameter window"},
		{"/api/v1/spikes?from=2026-01-01T00:00:00Z", "parameter range"}, // 1m buckets over two months
	} {
		code, body := get(t, ts, tc.path, nil)
		if code != 400 || !strings.Contains(body, tc.param) {
			t.Errorf("GET %s: %d %.200s, want 400 naming %q", tc.path, code, body, tc.param)
		}
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("the store was read %d times, want none", n)
	}
	// Within the limits, the same routes answer.
	for _, path := range []string{"/api/v1/spikes?baseline=90d&bucket=1h&window=1h", "/api/v1/timeseries?from=2025-02-01T00:00:00Z&bucket=1d"} {
		if code, body := get(t, ts, path, nil); code != 200 {
			t.Errorf("GET %s: %d %.200s, want 200", path, code, body)
		}
	}
}

// shorten keeps a long test URL readable in a failure.
func shorten(path string) string {
	u, err := url.Parse(path)
	if err != nil || len(path) < 200 {
		return path
	}
	return u.Path + "?…(" + u.RawQuery[:40] + "…)"
}

// TestHealthzWhileWriting holds SQLite's one write connection in a
// transaction, as a long ingest batch does, and checks that /healthz and
// /readyz still answer 200: they used to ping through the writer and wait
// for it, answering 503 under heavy ingest. The failure mode is the
// request's deadline, not a timing.
func TestHealthzWhileWriting(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	tx, err := st.Writer().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatalf("BeginTx: %v", err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("DELETE FROM records"); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	ts := httptest.NewServer((&Server{Store: st, Now: func() time.Time { return now }}).Handler())
	t.Cleanup(ts.Close)
	for _, path := range []string{"/healthz", "/readyz"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s while a write transaction is open: %d, want 200", path, resp.StatusCode)
		}
	}
}

// TestManyScopes fills a store with 2,000 distinct model names and 300
// apps and checks that the pages list the busiest query.MaxScopeRows of
// each, say how many more there are, and stay small: every name used to
// be listed in each of the filter bar's selects and tables (45.8 MB of
// overview for 20,000 names).
func TestManyScopes(t *testing.T) {
	ts, st := testServer(t)
	var recs []*analytics.Record
	for i := range 2000 {
		r := msg(now.Add(-time.Hour+time.Duration(i)*time.Second), fmt.Sprintf("app-%03d", i%300), analytics.StopEndTurn)
		r.Model = fmt.Sprintf("claude-model-with-a-long-name-%04d", i)
		recs = append(recs, r)
	}
	insertAll(t, st, recs)
	const maxBytes = 100 << 10
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"and 1,950 more models", "and 250 more apps", "<option disabled>and 1,950 more</option>", "<option disabled>and 250 more</option>"}},
		{"/refusals", []string{"and 1,950 more models", "and 250 more apps"}},
		{"/stop-reasons/end_turn", []string{"and 1,950 more models", "and 250 more apps"}},
		{"/responses", []string{"<option disabled>and 1,950 more</option>"}},
	} {
		code, body := getHTML(t, ts.URL+tc.path)
		if code != 200 {
			t.Fatalf("GET %s: %d %.300s", tc.path, code, body)
		}
		if len(body) > maxBytes {
			t.Errorf("GET %s: %d bytes, want at most %d", tc.path, len(body), maxBytes)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", tc.path, w)
			}
		}
	}
}
