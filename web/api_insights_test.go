package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// now is the fixed clock of these tests: a Monday, 12:00 UTC.
var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// testServer serves the real handlers over a fresh SQLite store with the
// clock fixed at now.
func testServer(t *testing.T) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Server{Store: st, Now: func() time.Time { return now }}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, st
}

func insertAll(t *testing.T, st store.Store, recs []*analytics.Record) {
	t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 2000)
		if err := st.Insert(context.Background(), recs[:n]); err != nil {
			t.Fatalf("Insert: %v", err)
		}
		recs = recs[n:]
	}
}

// get fetches path and decodes a 200 answer into v; it returns the status
// and the raw body.
func get(t *testing.T, ts *httptest.Server, path string, v any) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decoding %s: %v", path, body, err)
		}
	}
	return resp.StatusCode, string(body)
}

func mustGet(t *testing.T, ts *httptest.Server, path string, v any) {
	t.Helper()
	if code, body := get(t, ts, path, v); code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
}

func ts3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// msg makes a message record.
func msg(at time.Time, app string, stop analytics.StopReason, flags ...analytics.Flag) *analytics.Record {
	r := &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: "claude-x", Kind: analytics.KindMessage, StopReason: stop}
	for _, f := range flags {
		r.Flags = r.Flags.With(f)
	}
	return r
}

func errRec(at time.Time, app string) *analytics.Record {
	return &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: "claude-x", Kind: analytics.KindError, HTTPStatus: 529, ErrorType: "overloaded_error"}
}

// fixture is a small known mix in the hour before now: app "a" has 10
// responses (2 refusals, 1 truncation, 1 empty turn) and 2 errors, app "b"
// 4 end_turn responses, one of them 3 hours earlier.
func fixture() []*analytics.Record {
	at := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	recs := []*analytics.Record{
		msg(at(50), "a", analytics.StopRefusal, analytics.FlagRefusal),
		msg(at(40), "a", analytics.StopRefusal, analytics.FlagRefusal),
		msg(at(30), "a", analytics.StopMaxTokens, analytics.FlagTruncated),
		msg(at(20), "a", analytics.StopEndTurn, analytics.FlagEmptyTurn),
		errRec(at(15), "a"),
		errRec(at(5), "a"),
		msg(at(59), "b", analytics.StopEndTurn),
		msg(at(1), "b", analytics.StopEndTurn),
		msg(at(2), "b", analytics.StopEndTurn),
		msg(at(180), "b", analytics.StopEndTurn),
	}
	for i := range 6 {
		recs = append(recs, msg(at(10+i), "a", analytics.StopToolUse))
	}
	return recs
}

// TestInsightsAPI checks that each insight endpoint hands its parameters
// to the read model and answers with the API's field names; what the
// figures are is query's to test.
func TestInsightsAPI(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())
	for _, tc := range []struct {
		path string
		// want are top-level fields and values the answer must have.
		want map[string]any
	}{
		{"/api/v1/summary?range=1h&app=a", map[string]any{"total": 12.0}},
		{"/api/v1/rates?range=1h&app=a", map[string]any{"calls": 12.0, "responses": 10.0, "errors": 2.0}},
		{"/api/v1/rates?range=1h&by=app", map[string]any{"calls": 15.0, "scopes": nil}},
		{"/api/v1/timeseries?bucket=1h&range=6h&metric=stop_reason:end_turn", map[string]any{"bucket": "1h", "metric": "stop_reason:end_turn"}},
		{"/api/v1/timeseries?range=1h", map[string]any{"bucket": "1m", "metric": "refusal"}},
		{"/api/v1/spikes?range=6h&scope=app,model&metric=refusal,error", map[string]any{"scope": []any{"app", "model"}, "metrics": []any{"refusal", "error"}, "spikes": []any{}}},
		{"/api/v1/spikes?range=6h&scope=all", map[string]any{"scope": []any{}}},
		{"/api/v1/patterns?range=1h&limit=2", map[string]any{"records": 2.0, "limit": 2.0, "truncated": true}},
		{"/api/v1/refusers?range=1h", map[string]any{"by": "app", "candidates": 2.0, "refusers": []any{}}},
		{"/api/v1/refusers?range=1h&by=user&limit=100", map[string]any{"by": "user", "limit": 100.0}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var got map[string]any
			mustGet(t, ts, tc.path, &got)
			for k, w := range tc.want {
				g, ok := got[k]
				if !ok {
					t.Errorf("no %q in %v", k, got)
					continue
				}
				if w != nil && fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("%s = %v, want %v", k, g, w)
				}
			}
		})
	}

	// Every spike parameter is settable, and the answer shows them.
	var got struct {
		Config map[string]any `json:"config"`
	}
	mustGet(t, ts, "/api/v1/spikes?range=6h&scope=app&window=10m&baseline=12h&bucket=1m&min_calls=50&min_events=3&min_baseline_calls=10&alpha=0.001&min_increase=0.3", &got)
	want := map[string]any{"window": "10m0s", "baseline": "12h0m0s", "bucket": "1m0s", "min_calls": 50.0, "min_events": 3.0,
		"min_baseline_calls": 10.0, "alpha": 0.001, "min_increase": 0.3}
	if fmt.Sprint(got.Config) != fmt.Sprint(want) {
		t.Errorf("config %v, want %v", got.Config, want)
	}
	// Refusers compare whole ranges: no window settings in the answer.
	got.Config = nil
	mustGet(t, ts, "/api/v1/refusers?range=1h&min_calls=5", &got)
	if _, ok := got.Config["window"]; ok || got.Config["min_calls"] != 5.0 {
		t.Errorf("refusers config %v", got.Config)
	}
}

func TestInsightsBadParameters(t *testing.T) {
	ts, _ := testServer(t)
	tests := []struct {
		path  string
		param string
	}{
		{"/api/v1/rates?from=yesterday", "parameter from"},
		{"/api/v1/rates?by=user", "parameter by"},
		{"/api/v1/rates?flag=refusal", "parameter flag"},
		{"/api/v1/rates?range=2w", "parameter range"},
		{"/api/v1/timeseries?bucket=5m", "parameter bucket"},
		{"/api/v1/timeseries?bucket=1m&range=30d", "parameter bucket"},
		{"/api/v1/timeseries?metric=latency", "parameter metric"},
		{"/api/v1/timeseries?metric=refusal,error", "parameter metric"},
		{"/api/v1/timeseries?session_id=s1", "parameter session_id"},
		{"/api/v1/spikes?scope=user", "parameter scope"},
		{"/api/v1/spikes?metric=stop_reason:", "parameter metric"},
		{"/api/v1/spikes?window=0", "parameter window"},
		{"/api/v1/spikes?window=soon", "parameter window"},
		{"/api/v1/spikes?baseline=-1h", "parameter baseline"},
		{"/api/v1/spikes?window=30s", "parameter window"},
		{"/api/v1/spikes?min_calls=-1", "parameter min_calls"},
		{"/api/v1/spikes?min_events=x", "parameter min_events"},
		{"/api/v1/spikes?min_baseline_calls=1.5", "parameter min_baseline_calls"},
		{"/api/v1/spikes?alpha=0", "parameter alpha"},
		{"/api/v1/spikes?alpha=2", "parameter alpha"},
		{"/api/v1/spikes?min_increase=NaN", "parameter min_increase"},
		{"/api/v1/spikes?range=30d&baseline=30d", "parameter range"},
		{"/api/v1/patterns?limit=0", "parameter limit"},
		{"/api/v1/patterns?limit=1000000", "parameter limit"},
		{"/api/v1/patterns?tool_use_loop=0", "parameter tool_use_loop"},
		{"/api/v1/refusers?by=team", "parameter by"},
		{"/api/v1/refusers?by=session&limit=-5", "parameter limit"},
		{"/api/v1/refusers?window=15m", "parameter window"},
		{"/api/v1/refusers?alpha=1", "parameter alpha"},
		{"/api/v1/refusers?by=app&q=hello", "parameter q"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			code, body := get(t, ts, tc.path, nil)
			var e struct {
				Error string `json:"error"`
			}
			json.Unmarshal([]byte(body), &e)
			if code != http.StatusBadRequest || !strings.HasPrefix(e.Error, tc.param+":") {
				t.Errorf("GET %s = %d %s, want 400 naming %q", tc.path, code, body, tc.param)
			}
		})
	}
}
