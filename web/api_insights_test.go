package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
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

func TestRates(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())

	var got ratesAnswer
	mustGet(t, ts, "/api/v1/rates?range=1h&app=a", &got)
	if got.Calls != 12 || got.Responses != 10 || got.Errors != 2 {
		t.Fatalf("calls/responses/errors = %d/%d/%d, want 12/10/2", got.Calls, got.Responses, got.Errors)
	}
	wilson := func(k, n int64) analytics.Rate {
		lo, hi := analytics.Wilson(k, n, analytics.Z95)
		return analytics.Rate{Num: k, Den: n, Value: float64(k) / float64(n), Low: lo, High: hi}
	}
	tests := []struct {
		name string
		got  analytics.Rate
		want analytics.Rate
	}{
		{"refusal", got.Refusal, wilson(2, 10)},
		{"empty_turn", got.EmptyTurn, wilson(1, 10)},
		{"truncation", got.Truncation, wilson(1, 10)},
		{"error", got.Error, wilson(2, 12)},
	}
	for _, tc := range tests {
		tc.want.Metric = tc.name
		if !closeRate(tc.got, tc.want) {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	share := map[string]int64{}
	for _, r := range got.StopReasons {
		share[r.Metric] = r.Num
		if r.Den != 10 {
			t.Errorf("%s over %d, want over the 10 responses", r.Metric, r.Den)
		}
	}
	want := map[string]int64{"stop_reason:end_turn": 1, "stop_reason:max_tokens": 1, "stop_reason:stop_sequence": 0,
		"stop_reason:tool_use": 6, "stop_reason:pause_turn": 0, "stop_reason:refusal": 2,
		"stop_reason:model_context_window_exceeded": 0, "stop_reason:null": 0}
	if fmt.Sprint(share) != fmt.Sprint(want) {
		t.Errorf("stop reason shares = %v, want %v", share, want)
	}

	// By app: a has more calls, so it comes first; b's record of 3 hours
	// ago is out of range.
	got = ratesAnswer{}
	mustGet(t, ts, "/api/v1/rates?range=1h&by=app", &got)
	if len(got.Scopes) != 2 || got.Scopes[0].Scope.App != "a" || got.Scopes[1].Scope.App != "b" ||
		got.Scopes[1].Calls != 3 || got.Calls != 15 {
		t.Errorf("by app = %+v (calls %d)", got.Scopes, got.Calls)
	}
}

func closeRate(a, b analytics.Rate) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	return a.Metric == b.Metric && a.Num == b.Num && a.Den == b.Den && near(a.Value, b.Value) && near(a.Low, b.Low) && near(a.High, b.High)
}

func TestTimeseries(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())

	var got TimeseriesResult
	mustGet(t, ts, "/api/v1/timeseries?bucket=1h&range=6h&metric=refusal", &got)
	if got.Bucket != "1h" || len(got.Points) != 6 || got.Metric != analytics.MetricRefusal {
		t.Fatalf("bucket %s, %d points, metric %s; want 1h, 6, refusal", got.Bucket, len(got.Points), got.Metric)
	}
	// 09:00 holds b's early record, 11:00 the rest; other buckets are empty.
	calls := []int64{}
	for _, p := range got.Points {
		calls = append(calls, p.Calls)
	}
	if fmt.Sprint(calls) != "[0 0 0 1 0 15]" {
		t.Errorf("calls per bucket = %v", calls)
	}
	last := got.Points[5]
	if !last.Bucket.Equal(now.Add(-time.Hour)) || last.Responses != 13 || last.Errors != 2 ||
		last.StopReasons["refusal"] != 2 || last.StopReasons["tool_use"] != 6 || last.StopReasons["end_turn"] != 4 ||
		last.Flags[analytics.FlagRefusal] != 2 || last.Flags[analytics.FlagTruncated] != 1 ||
		last.Flags[analytics.FlagEmptyTurn] != 1 || last.Value.Num != 2 || last.Value.Den != 13 ||
		math.Abs(last.Refusal-2.0/13) > 1e-12 || math.Abs(last.Error-2.0/15) > 1e-12 {
		t.Errorf("last point = %+v", last)
	}
	if got.Total.Calls != 16 || got.Total.Refusal.Num != 2 {
		t.Errorf("total = %+v", got.Total)
	}

	// A share metric, in minutes over an hour, scoped to an app.
	got = TimeseriesResult{}
	mustGet(t, ts, "/api/v1/timeseries?range=1h&app=b&metric=stop_reason:end_turn", &got)
	if got.Bucket != "1m" || len(got.Points) != 60 || got.Total.Calls != 3 {
		t.Fatalf("bucket %s, %d points, %d calls; want 1m, 60, 3", got.Bucket, len(got.Points), got.Total.Calls)
	}
	var ends int64
	for _, p := range got.Points {
		ends += p.Value.Num
	}
	if ends != 3 {
		t.Errorf("end_turn share numerators sum to %d, want 3", ends)
	}
}

func TestAutoBucket(t *testing.T) {
	tests := []struct {
		span time.Duration
		want time.Duration
	}{
		{15 * time.Minute, time.Minute},
		{24 * time.Hour, time.Minute},
		{26 * time.Hour, time.Hour},
		{30 * 24 * time.Hour, time.Hour},
		{90 * 24 * time.Hour, 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := AutoBucket(now.Add(-tc.span), now); got != tc.want {
			t.Errorf("AutoBucket(%s) = %s, want %s", tc.span, got, tc.want)
		}
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

// traffic makes stationary random traffic of one app from start to end:
// perMin calls a minute on average, each an error with probability 2%,
// else a refusal with probability refusal(t), else truncated 3%, empty 1%.
func traffic(rng *rand.Rand, app string, start, end time.Time, perMin int, refusal func(time.Time) float64) []*analytics.Record {
	var recs []*analytics.Record
	for m := start; m.Before(end); m = m.Add(time.Minute) {
		n := perMin/2 + rng.IntN(perMin+1)
		for range n {
			at := m.Add(time.Duration(rng.Int64N(int64(time.Minute))))
			u := rng.Float64()
			switch {
			case u < 0.02:
				recs = append(recs, errRec(at, app))
			case rng.Float64() < refusal(at):
				recs = append(recs, msg(at, app, analytics.StopRefusal, analytics.FlagRefusal))
			case u < 0.05:
				recs = append(recs, msg(at, app, analytics.StopMaxTokens, analytics.FlagTruncated))
			case u < 0.06:
				recs = append(recs, msg(at, app, analytics.StopEndTurn, analytics.FlagEmptyTurn))
			default:
				recs = append(recs, msg(at, app, analytics.StopEndTurn))
			}
		}
	}
	return recs
}

func TestSpikes(t *testing.T) {
	ts, st := testServer(t)
	rng := rand.New(rand.NewPCG(2026, 3))
	// 27 hours of two apps at 2% refusals; app "b" jumps to 25% for the 20
	// minutes from 11:00.
	plantStart, plantEnd := now.Add(-time.Hour), now.Add(-40*time.Minute)
	flat := func(time.Time) float64 { return 0.02 }
	planted := func(at time.Time) float64 {
		if !at.Before(plantStart) && at.Before(plantEnd) {
			return 0.25
		}
		return 0.02
	}
	start := now.Add(-27 * time.Hour)
	insertAll(t, st, traffic(rng, "a", start, now, 10, flat))
	insertAll(t, st, traffic(rng, "b", start, now, 10, planted))

	window := 15 * time.Minute
	var got SpikesResult
	mustGet(t, ts, "/api/v1/spikes?range=6h&scope=app", &got)
	if got.Config != SettingsOf(analytics.DefaultSpikeConfig()) || len(got.Metrics) != 4 {
		t.Errorf("config %+v, metrics %v: want the defaults and the 4 headline metrics", got.Config, got.Metrics)
	}
	if len(got.Spikes) != 1 {
		t.Fatalf("found %d spikes, want 1: %+v", len(got.Spikes), got.Spikes)
	}
	sp := got.Spikes[0]
	if sp.Scope.App != "b" || sp.Metric != analytics.MetricRefusal {
		t.Errorf("spike of %s %s, want b refusal", sp.Scope, sp.Metric)
	}
	// Found within two windows of its start, and over it.
	if sp.FirstDetected.Before(plantStart) || sp.FirstDetected.After(plantStart.Add(2*window)) {
		t.Errorf("first detected at %s, want within two windows after %s", sp.FirstDetected, plantStart)
	}
	if sp.WindowStart.After(plantEnd) || sp.WindowEnd.Before(plantStart) || sp.Observed.Value < 0.1 || sp.Baseline.Value > 0.05 || sp.PValue >= 1e-5 {
		t.Errorf("spike = %+v", sp)
	}

	// Without scopes, the jump is diluted by app a but still found.
	got = SpikesResult{} // json reuses slice elements without zeroing them
	mustGet(t, ts, "/api/v1/spikes?range=6h&metric=refusal", &got)
	if len(got.Spikes) != 1 || got.Spikes[0].Scope != (analytics.Scope{}) {
		t.Errorf("unscoped: %+v, want one spike of all traffic", got.Spikes)
	}

	// Stationary traffic at the default settings: app a alone, over the
	// whole day and every headline metric, raises nothing.
	got = SpikesResult{} // json reuses slice elements without zeroing them
	mustGet(t, ts, "/api/v1/spikes?range=24h&app=a&scope=all", &got)
	if len(got.Spikes) != 0 {
		t.Errorf("stationary traffic raised %+v", got.Spikes)
	}
	// Before the plant, app b is stationary too.
	got = SpikesResult{} // json reuses slice elements without zeroing them
	mustGet(t, ts, "/api/v1/spikes?from="+ts3339(now.Add(-25*time.Hour))+"&to="+ts3339(plantStart)+"&scope=app,environment,model", &got)
	if len(got.Spikes) != 0 {
		t.Errorf("stationary traffic raised %+v", got.Spikes)
	}

	// Every parameter is settable: a rise of 30 points is more than this
	// spike has.
	got = SpikesResult{} // json reuses slice elements without zeroing them
	mustGet(t, ts, "/api/v1/spikes?range=6h&scope=app&window=10m&baseline=12h&bucket=1m&min_calls=50&min_events=3&min_baseline_calls=10&alpha=0.001&min_increase=0.3", &got)
	want := SpikeSettings{Window: "10m0s", Baseline: "12h0m0s", Bucket: "1m0s", MinCalls: 50, MinEvents: 3, MinBaselineCalls: 10, Alpha: 0.001, MinIncrease: 0.3}
	if got.Config != want || len(got.Spikes) != 0 {
		t.Errorf("config %+v, spikes %+v; want %+v and none", got.Config, got.Spikes, want)
	}
}

// conversation returns a two-call tool conversation at t in session sess:
// a tool_use, then the answer to the tool result. With textAfter the
// tool result is followed by a text block and the answer is an empty
// end_turn; without it (the corrected twin) the answer has text.
func conversation(at time.Time, app, sess string, textAfter bool) []*analytics.Record {
	ask := analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "Weather in " + sess + "?"}}}
	call := analytics.Message{Role: "assistant", Blocks: []analytics.Block{{Type: "tool_use", Name: "get_weather"}}}
	result := analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "tool_result", Text: "72F"}}}
	first := msg(at, app, analytics.StopToolUse)
	first.SessionID = sess
	first.Req = &analytics.Request{Model: "claude-x", MaxTokens: 1024, Messages: []analytics.Message{ask}}
	first.Content = call.Blocks
	first.Tools = []string{"get_weather"}
	second := msg(at.Add(2*time.Second), app, analytics.StopEndTurn)
	second.SessionID = sess
	if textAfter {
		result.Blocks = append(result.Blocks, analytics.Block{Type: "text", Text: "Thanks, and?"})
		second.Flags = second.Flags.With(analytics.FlagEmptyTurn)
		second.Causes = []analytics.Cause{analytics.CauseTextAfterToolResult}
	} else {
		second.Content = []analytics.Block{{Type: "text", Text: "It is 72F."}}
	}
	second.Req = &analytics.Request{Model: "claude-x", MaxTokens: 1024, Messages: []analytics.Message{ask, call, result}}
	return []*analytics.Record{first, second}
}

func TestPatterns(t *testing.T) {
	ts, st := testServer(t)
	bad := conversation(now.Add(-30*time.Minute), "a", "s-bad", true)
	good := conversation(now.Add(-20*time.Minute), "a", "s-good", false)
	insertAll(t, st, slices.Concat(bad, good))

	var got PatternsResult
	mustGet(t, ts, "/api/v1/patterns?range=1h", &got)
	if got.Records != 4 || got.Truncated || got.Limit != DefaultRecordLimit {
		t.Errorf("records %d truncated %v limit %d; want 4, false, %d", got.Records, got.Truncated, got.Limit, DefaultRecordLimit)
	}
	var found *analytics.Pattern
	for i, p := range got.Patterns {
		if p.Kind == analytics.PatternEmptyTurnTextAfterToolResult {
			found = &got.Patterns[i]
		}
	}
	if found == nil || found.Count != 1 || !slices.Equal(found.ExampleIDs, []int64{bad[1].ID}) || found.Remediation == "" {
		t.Fatalf("patterns = %+v, want %s once at record %d", got.Patterns, analytics.PatternEmptyTurnTextAfterToolResult, bad[1].ID)
	}

	// The corrected twin alone shows no pattern.
	got = PatternsResult{}
	mustGet(t, ts, "/api/v1/patterns?from="+ts3339(now.Add(-25*time.Minute))+"&to="+ts3339(now), &got)
	if len(got.Patterns) != 0 || got.Records != 2 {
		t.Errorf("corrected twin: %d records, patterns %+v; want 2 and none", got.Records, got.Patterns)
	}

	// The bound: the newest 2 records are the twin's.
	got = PatternsResult{}
	mustGet(t, ts, "/api/v1/patterns?range=1h&limit=2", &got)
	if got.Records != 2 || !got.Truncated || len(got.Patterns) != 0 {
		t.Errorf("limit 2: %d records, truncated %v, patterns %+v", got.Records, got.Truncated, got.Patterns)
	}
}

func TestRefusers(t *testing.T) {
	ts, st := testServer(t)
	rng := rand.New(rand.NewPCG(7, 7))
	var recs []*analytics.Record
	// Apps a and c refuse 2% of 1000 responses, b 20% of 200; within a,
	// session s9 and user u9 refuse half of their 60.
	add := func(app string, n int, p func(int) float64, sess, user func(i int) string) {
		for i := range n {
			at := now.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
			var r *analytics.Record
			if rng.Float64() < p(i) {
				r = msg(at, app, analytics.StopRefusal, analytics.FlagRefusal)
			} else {
				r = msg(at, app, analytics.StopEndTurn)
			}
			r.SessionID, r.UserID = sess(i), user(i)
			recs = append(recs, r)
		}
	}
	key := func(prefix string) func(int) string {
		return func(i int) string { return fmt.Sprintf("%s%d", prefix, i%8) }
	}
	add("a", 1000, func(int) float64 { return 0.02 }, key("s"), key("u"))
	add("a", 60, func(int) float64 { return 0.5 }, func(int) string { return "s9" }, func(int) string { return "u9" })
	add("b", 200, func(int) float64 { return 0.2 }, key("s"), key("u"))
	add("c", 1000, func(int) float64 { return 0.02 }, key("s"), key("u"))
	recs = append(recs, errRec(now.Add(-time.Minute), "c"))
	insertAll(t, st, recs)

	tests := []struct {
		by    string
		want  string
		cands int
	}{
		{"app", "b", 3},
		{"model", "", 1},
		{"session", "s9", 9},
		{"user", "u9", 9},
	}
	for _, tc := range tests {
		t.Run(tc.by, func(t *testing.T) {
			var got RefusersResult
			mustGet(t, ts, "/api/v1/refusers?range=1h&by="+tc.by, &got)
			keys := []string{}
			for _, r := range got.Refusers {
				keys = append(keys, r.Key)
			}
			want := []string{}
			if tc.want != "" {
				want = append(want, tc.want)
			}
			if !slices.Equal(keys, want) || got.Candidates != tc.cands {
				t.Errorf("refusers %v of %d candidates, want %v of %d", keys, got.Candidates, want, tc.cands)
			}
			if len(got.Refusers) > 0 {
				r := got.Refusers[0]
				if r.Lift == nil || *r.Lift < 2 || r.Rate.Value <= r.Rest.Value || r.PValue >= 0.001 {
					t.Errorf("refuser %+v (lift %v)", r, r.Lift)
				}
			}
			bounded := tc.by == "session" || tc.by == "user"
			if bounded != (got.Limit == DefaultRecordLimit) || (bounded && (got.Records != 2260 || got.LimitReached)) {
				t.Errorf("records %d of limit %d (reached %v)", got.Records, got.Limit, got.LimitReached)
			}
		})
	}
	var got RefusersResult
	mustGet(t, ts, "/api/v1/refusers?range=1h&by=user&limit=100", &got)
	if got.Records != 100 || !got.LimitReached {
		t.Errorf("limit 100: %d records, reached %v", got.Records, got.LimitReached)
	}
}
