package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// TestRefusalCategoriesEveryLayer sends one refusal per refusal category
// (stop_details.category, null included) through the native endpoint and
// checks that each reaches every layer: the list filter (API and page),
// the Refusals page's breakdown, the record page, alert rules and the
// docs. A refusal whose fallback model then answered shows it on its
// page, and both calls count.
func TestRefusalCategoriesEveryLayer(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return now }
	ing := &receiver.Handler{Sink: st, Now: clock}
	s := &Server{Store: st, Now: clock, PostResponses: ing.PostResponses}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	post := func(body string) {
		t.Helper()
		resp, err := http.Post(ts.URL+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/responses = %d for %s", resp.StatusCode, body)
		}
	}
	for i, c := range analytics.RefusalCategories {
		cat := "null"
		if c != analytics.RefusalCategoryNull {
			cat = fmt.Sprintf("%q", c)
		}
		post(fmt.Sprintf(`{"app":"cats","session_id":"s%d","time":%q,"response":{"id":"msg_c%d","type":"message","role":"assistant","model":"claude-opus-5",`+
			`"content":[],"stop_reason":"refusal","stop_sequence":null,"stop_details":{"type":"refusal","category":%s,"explanation":"Explained %d.",`+
			`"recommended_model":"claude-sonnet-4-6"},"usage":{"input_tokens":10,"output_tokens":0}}}`,
			i, ts3339(now.Add(-time.Duration(30-i)*time.Minute)), i, cat, i))
	}
	// The first refusal's session retries on the recommended model, which
	// answers.
	post(fmt.Sprintf(`{"app":"cats","session_id":"s0","time":%q,"response":{"id":"msg_fallback","type":"message","role":"assistant","model":"claude-sonnet-4-6-20260101",`+
		`"content":[{"type":"text","text":"Here you are."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5}}}`,
		ts3339(now.Add(-29*time.Minute+time.Second))))
	rng := "range=1h&app=cats"

	var ids = map[analytics.RefusalCategory]int64{}
	t.Run("api filter", func(t *testing.T) {
		for _, c := range analytics.RefusalCategories {
			var list struct {
				Items []struct {
					ID          int64                  `json:"id"`
					StopDetails *analytics.StopDetails `json:"stop_details"`
				} `json:"items"`
			}
			mustGet(t, ts, "/api/v1/responses?"+rng+"&refusal_category="+url.QueryEscape(c.Key()), &list)
			if len(list.Items) != 1 || list.Items[0].StopDetails == nil || list.Items[0].StopDetails.Category != c {
				t.Errorf("responses?refusal_category=%s: %+v, want the one refusal of that category", c.Key(), list.Items)
				continue
			}
			ids[c] = list.Items[0].ID
		}
		resp, err := http.Get(ts.URL + "/api/v1/responses?refusal_category=weapons")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("an unknown refusal category = %d, want 400", resp.StatusCode)
		}
	})

	t.Run("pages", func(t *testing.T) {
		_, page := getHTML(t, ts.URL+"/refusals?"+rng)
		_, list := getHTML(t, ts.URL+"/responses?"+rng)
		for _, i := range analytics.RefusalCategoryTable {
			link := html.EscapeString(`refusal_category=` + url.QueryEscape(i.Category.Key()))
			if !strings.Contains(page, ">"+html.EscapeString(i.Label)+"<") || !strings.Contains(page, link) {
				t.Errorf("the Refusals page lacks category %s or its link", i.Category.Key())
			}
			if !strings.Contains(list, `<option value="`+i.Category.Key()+`"`) {
				t.Errorf("the responses filter offers no refusal category %s", i.Category.Key())
			}
		}
		if !strings.Contains(page, html.EscapeString(analytics.RefusalCategoryAdvice.Text)) {
			t.Error("the Refusals page does not quote the documentation's fallback")
		}
		for c, id := range ids {
			info, _ := analytics.RefusalCategoryInfoOf(c)
			_, rec := getHTML(t, ts.URL+recordHref(id))
			for _, want := range []string{html.EscapeString(info.Label), "claude-sonnet-4-6", html.EscapeString(analytics.RefusalCategoryAdvice.Text)} {
				if !strings.Contains(rec, want) {
					t.Errorf("the record page of a %s refusal lacks %s", c.Key(), want)
				}
			}
			if recovered := strings.Contains(rec, "Recovered on"); recovered != (c == analytics.RefusalCategories[0]) {
				t.Errorf("the record page of a %s refusal: recovered %v", c.Key(), recovered)
			}
		}
	})

	t.Run("both calls count", func(t *testing.T) {
		var sum analytics.Summary
		mustGet(t, ts, "/api/v1/summary?"+rng, &sum)
		if n := sum.StopReasons["refusal"]; n != int64(len(analytics.RefusalCategories)) {
			t.Errorf("refusals counted %d, want %d", n, len(analytics.RefusalCategories))
		}
		if n := sum.StopReasons["end_turn"]; n != 1 {
			t.Errorf("the fallback's answer counted %d, want 1", n)
		}
	})

	t.Run("alerts", func(t *testing.T) {
		q := query.New(st, clock)
		for _, c := range analytics.RefusalCategories {
			r := alert.DefaultRule()
			r.Metric, r.Scope = analytics.MetricRefusal, analytics.Scope{App: "cats", RefusalCategory: c.Key()}
			if err := r.Validate(); err != nil {
				t.Errorf("a rule scoped to %s: %v", c.Key(), err)
			}
			got, err := q.Tally(context.Background(), store.Filter{From: now.Add(-time.Hour), To: now, App: "cats",
				RefusalCategory: c, HasRefusalCategory: true}, analytics.MetricRefusal)
			if err != nil || got.K != 1 || got.N != int64(len(analytics.RefusalCategories))+1 {
				t.Errorf("tally of %s refusals: %+v, %v", c.Key(), got, err)
			}
		}
	})

	t.Run("docs", func(t *testing.T) {
		md, err := os.ReadFile("../docs/vocabulary.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range analytics.RefusalCategories {
			if !strings.Contains(string(md), "`"+c.Key()+"`") {
				t.Errorf("docs/vocabulary.md does not list `%s`", c.Key())
			}
		}
	})
}
