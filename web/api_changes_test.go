package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

func TestAPIChanges(t *testing.T) {
	ts, st := testServer(t)
	var recs []*analytics.Record
	// r41 for two hours with 1% refusals, then r42 with 5% for the last 30
	// minutes before now.
	for i := range 12000 {
		at := now.Add(-2*time.Hour - 30*time.Minute + time.Duration(i)*750*time.Millisecond)
		rel, refuse := "r41", i%100 == 0
		if !at.Before(now.Add(-30 * time.Minute)) {
			rel, refuse = "r42", i%20 == 0
		}
		r := msg(at, "shop", analytics.StopEndTurn)
		if refuse {
			r = msg(at, "shop", analytics.StopRefusal, analytics.FlagRefusal)
		}
		r.Release = rel
		recs = append(recs, r)
	}
	insertAll(t, st, recs)

	var res query.ChangeResult
	mustGet(t, ts, "/api/v1/changes?app=shop", &res)
	if len(res.Changes) != 1 {
		t.Fatalf("changes %+v", res.Changes)
	}
	c := res.Changes[0]
	if c.Value != "r42" || c.Previous != "r41" || c.Status != query.ChangeRegressed || c.Findings[0].Metric != analytics.MetricRefusal {
		t.Fatalf("change %+v", c)
	}
	if want := "refusal rate 1.0% → 5.0% since release r42 (started 11:30 UTC), p < 0.001"; c.Findings[0].Text != want {
		t.Errorf("text %q, want %q", c.Findings[0].Text, want)
	}
	// A record of each cohort, listed by its release.
	var page struct {
		Records []analytics.Record `json:"items"`
	}
	mustGet(t, ts, "/api/v1/responses?release=r42&limit=1", &page)
	if len(page.Records) != 1 || page.Records[0].Release != "r42" {
		t.Errorf("records %+v", page.Records)
	}

	// The list page keeps the filter in its form.
	if code, body := getHTML(t, ts.URL+"/responses?release=r42"); code != 200 || !strings.Contains(body, `name="release" value="r42"`) {
		t.Errorf("list page with release=r42: %d", code)
	}
	mustGet(t, ts, "/api/v1/changes?app=nobody", &res)
	if len(res.Changes) != 0 {
		t.Errorf("an app without traffic: %+v", res.Changes)
	}
	for _, tc := range []struct{ query, param string }{
		{"lookback=soon", "parameter lookback"},
		{"lookback=90d", "parameter lookback"},
		{"prior=-1h", "parameter prior"},
		{"min_calls=0", "parameter min_calls"},
		{"min_calls=x", "parameter min_calls"},
		{"release=" + url.QueryEscape(strings.Repeat("r", query.MaxDimValue+1)), "parameter release"},
		{"prompt_version=" + url.QueryEscape("v\x01"), "parameter prompt_version"},
	} {
		code, body := get(t, ts, "/api/v1/changes?"+tc.query, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.param) {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.query, code, body, tc.param)
		}
	}
	code, body := get(t, ts, "/api/v1/summary?release="+url.QueryEscape(strings.Repeat("r", 600)), nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "parameter release") {
		t.Errorf("summary: %d %s", code, body)
	}
}

// TestChartMarkers: a release that started in the range is marked at its
// first bucket; one that ran before it is not; the cap's (other) is noted.
func TestChartMarkers(t *testing.T) {
	ts, st := testServer(t)
	var recs []*analytics.Record
	for i := range 120 {
		r := msg(now.Add(-2*time.Hour+time.Duration(i)*time.Minute), "shop", analytics.StopEndTurn)
		r.Release = "r41"
		if i >= 90 {
			r.Release = "r42"
		}
		recs = append(recs, r)
	}
	insertAll(t, st, recs)
	var d chartData
	mustGet(t, ts, "/ui/chart/volume?from="+ts3339(now.Add(-time.Hour))+"&to="+ts3339(now), &d)
	if len(d.Markers) != 1 || d.Markers[0].Label != "release r42" || d.Markers[0].At != now.Add(-30*time.Minute).Unix() || d.OtherReleases {
		t.Errorf("markers %+v, other %v", d.Markers, d.OtherReleases)
	}
	// Past the cap: the rest are (other), noted, not marked.
	recs = nil
	for i := range 60 {
		r := msg(now.Add(-10*time.Minute+time.Duration(i)*time.Second), "flood", analytics.StopEndTurn)
		r.Release = fmt.Sprintf("b%d", i)
		recs = append(recs, r)
	}
	insertAll(t, st, recs)
	mustGet(t, ts, "/ui/chart/volume?app=flood&from="+ts3339(now.Add(-time.Hour))+"&to="+ts3339(now), &d)
	if len(d.Markers) != 50 || !d.OtherReleases {
		t.Errorf("%d markers, other %v; want 50 and the note", len(d.Markers), d.OtherReleases)
	}
}
