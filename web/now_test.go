package web

import (
	"context"
	"html"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

// nowAt is the clock of the now strip's tests: 30 seconds into a minute,
// so that the minute still filling holds records too.
var nowAt = now.Add(30 * time.Second)

// nowServer serves the real handlers, alerts included, over a fresh SQLite
// store with the clock at *clock.
func nowServer(t *testing.T, clock *time.Time) (*httptest.Server, *sqlstore.Store) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Server{Store: st, Now: func() time.Time { return *clock }, Alerts: st}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, st
}

// crossApp is a day of calm calls from three apps, each on its own model,
// one every 5 minutes; with burst, 30 more calls in the last 10 minutes,
// 10 of them 529s, some in the minute still filling.
func crossApp(burst bool) []*analytics.Record {
	apps := []struct{ app, model string }{{"a", "m-a"}, {"b", "m-b"}, {"c", "m-c"}}
	rec := func(at time.Time, app, model string, failed bool) *analytics.Record {
		r := &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: model,
			Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn}
		if failed {
			r.Kind, r.StopReason, r.HTTPStatus, r.ErrorType = analytics.KindError, analytics.StopNull, 529, "overloaded_error"
		}
		return r
	}
	var recs []*analytics.Record
	for m := 24 * 60; m > 0; m -= 5 {
		for _, x := range apps {
			recs = append(recs, rec(nowAt.Add(-time.Duration(m)*time.Minute), x.app, x.model, false))
		}
	}
	if burst {
		for i := range 10 {
			at := nowAt.Add(-time.Duration(10-i) * time.Minute).Add(40 * time.Second)
			for j, x := range apps {
				recs = append(recs, rec(at, x.app, x.model, (i+j)%3 == 0))
			}
		}
	}
	return recs
}

var hrefRe = regexp.MustCompile(`<a href="([^"]+)">Error spike in all traffic</a>`)

func TestNowStripAndAPI(t *testing.T) {
	clock := nowAt
	ts, st := nowServer(t, &clock)
	insertAll(t, st, crossApp(false))

	// Calm data: one small calm line, and calm in the API.
	if code, body := getHTML(t, ts.URL+"/ui/now"); code != 200 || !strings.Contains(body, "Nothing is broken right now") || strings.Contains(body, "now-item") {
		t.Errorf("calm: GET /ui/now = %d\n%s", code, body)
	}
	var calm query.NowResult
	mustGet(t, ts, "/api/v1/now", &calm)
	if !calm.Calm || len(calm.Spikes)+len(calm.Alerts)+len(calm.Silent) != 0 || !calm.At.Equal(clock) {
		t.Errorf("calm: GET /api/v1/now = %+v", calm)
	}

	// A provider-wide 529 burst, and a rule on failed requests that fires.
	insertAll(t, st, crossApp(true)[len(crossApp(false)):])
	as := st
	rule, err := as.CreateAlertRule(context.Background(), alert.Rule{
		Name: "Failed-request burst", Metric: analytics.MetricError, Condition: alert.ConditionSpike,
		Threshold: 0.05, Window: 15 * time.Minute, Baseline: 24 * time.Hour, MinVolume: 30, Enabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := &alert.Evaluator{Store: st, Now: func() time.Time { return clock }}
	if err := ev.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}

	var got query.NowResult
	mustGet(t, ts, "/api/v1/now", &got)
	if got.Calm || len(got.Spikes) != 1 || got.Spikes[0].Scope != (analytics.Scope{}) || !got.Spikes[0].Ongoing ||
		got.Spikes[0].Metric != analytics.MetricError {
		t.Fatalf("burst: want one ongoing all-traffic error spike, got %+v", got)
	}
	// Other rules (defaults) may fire too; this one must.
	i := slices.IndexFunc(got.Alerts, func(a query.ActiveAlert) bool { return a.RuleID == rule.ID })
	if i < 0 || got.Alerts[i].Status != "firing" || got.Alerts[i].EventID == 0 {
		t.Fatalf("burst: want the rule firing, got %+v", got.Alerts)
	}

	code, body := getHTML(t, ts.URL+"/ui/now")
	if code != 200 {
		t.Fatalf("GET /ui/now = %d", code)
	}
	for _, want := range []string{"now-firing", "Failed-request burst", `href="/alerts?event=`, "ongoing", "Error spike in all traffic", "10 of 36"} {
		if !strings.Contains(body, want) {
			t.Errorf("burst: no %q in the now strip:\n%s", want, body)
		}
	}
	// The spike's link is one click from its records: the 10 failed calls.
	m := hrefRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link to the spike's records:\n%s", body)
	}
	href := html.UnescapeString(m[1])
	if !strings.Contains(href, "kind=error") {
		t.Errorf("spike link %s does not list failed requests", href)
	}
	_, list := getHTML(t, ts.URL+href)
	if n := strings.Count(list, "<tr data-id="); n != 10 {
		t.Errorf("the spike's records list (%s) has %d rows, want the 10 failures", href, n)
	}

	// The overview lists the same spike at all-traffic scope, ongoing.
	_, spikes := getHTML(t, ts.URL+"/ui/overview/spikes")
	if !strings.Contains(spikes, "Error spike in all traffic") || !strings.Contains(spikes, "ongoing") {
		t.Errorf("overview spikes miss the all-traffic spike:\n%s", spikes)
	}
	// 40 minutes later it has ended, and says since when.
	clock = nowAt.Add(40 * time.Minute)
	_, later := getHTML(t, ts.URL+"/ui/now")
	if !strings.Contains(later, "Error spike in all traffic") || !regexp.MustCompile(`ended 3\d min ago`).MatchString(later) {
		t.Errorf("40 minutes later: want the spike ended some 35 minutes ago:\n%s", later)
	}
}

func TestNowSlotOnEveryPage(t *testing.T) {
	clock := nowAt
	ts, st := nowServer(t, &clock)
	insertAll(t, st, crossApp(false))
	slot := `hx-get="/ui/now"`
	for _, p := range []string{"/", "/responses", "/refusals", "/empty-turns", "/truncation", "/agent-runs", "/stop-reasons/end_turn", "/alerts", "/setup"} {
		code, body := getHTML(t, ts.URL+p)
		if code != 200 || !strings.Contains(body, slot) || !strings.Contains(body, `data-live-every="30"`) {
			t.Errorf("GET %s = %d: no now strip slot", p, code)
		}
	}
	// The login page shows nothing of it.
	env := newAuthEnv(t, false, func(a *Auth) { a.RequireLogin = true })
	if _, body := env.do(t, req{path: "/login"}); strings.Contains(body, slot) {
		t.Error("the login page loads the now strip")
	}
}

// TestLiveParts checks which parts of a page refresh themselves: on a
// range that ends now the cards, spikes, patterns and tables (and the
// lists of the focused pages) do; on a range that ended, only the now
// strip.
func TestLiveParts(t *testing.T) {
	clock := nowAt
	ts, st := nowServer(t, &clock)
	insertAll(t, st, crossApp(true))
	past := "from=" + ts3339(now.Add(-2*time.Hour)) + "&to=" + ts3339(now.Add(-time.Hour))
	for _, tc := range []struct {
		path string
		live []string
	}{
		{"/", []string{`hx-select="#overview-tables"`, `id="headline"`}},
		{"/ui/overview/spikes", []string{`id="overview-spikes"`}},
		{"/ui/overview/patterns", []string{`id="overview-patterns"`}},
		{"/refusals", []string{`hx-select="#focus-body"`, `hx-select-oob="#focus-cards"`}},
		{"/stop-reasons/end_turn", []string{`hx-select="#focus-body"`}},
		{"/responses", []string{`hx-select="#list-body"`, `hx-select-oob="#list-total"`}},
	} {
		_, live := getHTML(t, ts.URL+tc.path)
		_, ended := getHTML(t, ts.URL+tc.path+"?"+past)
		for _, w := range tc.live {
			if !strings.Contains(live, w) {
				t.Errorf("GET %s (live): no %q", tc.path, w)
			}
			if strings.Contains(ended, w) && strings.HasPrefix(w, "hx-select") {
				t.Errorf("GET %s (ended range): %q", tc.path, w)
			}
		}
		// Every live part listens for the "live" event; an ended range
		// has none but the now strip's.
		if n := strings.Count(live, "data-live-fragment"); n < 1 || (tc.path == "/" && n < 3) {
			t.Errorf("GET %s (live): %d live parts", tc.path, n)
		}
		if n := strings.Count(ended, "data-live-fragment"); n != strings.Count(ended, `hx-get="/ui/now"`) {
			t.Errorf("GET %s (ended range): %d live parts, want only the now strip", tc.path, n)
		}
	}
	// An empty live overview waits for the first calls.
	empty, _ := nowServer(t, &clock)
	if _, body := getHTML(t, empty.URL+"/"); !strings.Contains(body, `hx-select="#overview-body"`) {
		t.Error("the empty live overview does not refresh itself")
	}
}

// TestSpikeLinks checks that a spike's links narrow to its scope and keep
// the view's own where the spike names none.
func TestSpikeLinks(t *testing.T) {
	v := filterView{query: map[string][]string{"app": {"a"}, "range": {"24h"}}}
	start := now.Add(-15 * time.Minute)
	for _, tc := range []struct {
		name       string
		sp         analytics.Spike
		want, lose []string
	}{
		{"all traffic in app a", analytics.Spike{Metric: analytics.MetricError, WindowStart: start, WindowEnd: now},
			[]string{"app=a", "kind=error", "from=", "to="}, []string{"range=", "model="}},
		{"model spike", analytics.Spike{Scope: analytics.Scope{Model: "m"}, Metric: analytics.MetricRefusal, WindowStart: start, WindowEnd: now},
			[]string{"app=a", "model=m", "flag=refusal"}, []string{"range="}},
		{"stop reason share", analytics.Spike{Metric: analytics.StopReasonMetric(analytics.StopMaxTokens), WindowStart: start, WindowEnd: now},
			[]string{"stop_reason=max_tokens"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			href := spikeRecordsLink(v, tc.sp)
			if !strings.HasPrefix(href, "/responses?") {
				t.Errorf("records link %s is not the list", href)
			}
			for _, w := range tc.want {
				if !strings.Contains(href, w) {
					t.Errorf("records link %s: no %s", href, w)
				}
			}
			for _, l := range tc.lose {
				if strings.Contains(href, l) {
					t.Errorf("records link %s: has %s", href, l)
				}
			}
			if closer := spikeHref(v, tc.sp); !strings.Contains(closer, "app=a") ||
				(tc.sp.Scope.Model != "") != strings.Contains(closer, "model="+tc.sp.Scope.Model) {
				t.Errorf("look-closer link %s does not narrow to the spike's scope within the view's", closer)
			}
		})
	}
}

// TestSpanText: the strip writes its spans as people say them.
func TestSpanText(t *testing.T) {
	for in, want := range map[string]string{
		"1h0m0s": "1 hour", "6h0m0s": "6 hours", "15m0s": "15 minutes", "1m0s": "1 minute", "90s": "90s", "x": "x",
	} {
		if got := spanText(in); got != want {
			t.Errorf("spanText(%q) = %q, want %q", in, got, want)
		}
	}
}
