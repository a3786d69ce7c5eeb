package web

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/web/vocabgen"
)

// futureReason is a stop reason no table lists: it must come out as
// unknown in every layer.
const futureReason = "some_future_reason"

// TestVocabularyEveryLayer checks that every stop reason, flag, cause and
// kind of the analytics tables reaches every layer: ingest and the store
// (a response with it is stored, filtered on and rolled up), the JSON API
// (listed in the summary, the rates and accepted as a filter), the pages
// (its page, badge and colour class), the stylesheet (its class exists),
// alerts (a rule on it is valid) and the docs (it is documented). Adding a
// stop reason is one line in analytics.StopReasonTable and `go generate
// ./web`; forgetting the latter fails here too.
func TestVocabularyEveryLayer(t *testing.T) {
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

	// One response per stop reason, and one of a reason no table lists,
	// through the native endpoint.
	reasons := append(slices.Clone(analytics.KnownStopReasons), futureReason)
	for i, r := range reasons {
		body := fmt.Sprintf(`{"app":"vocab","time":%q,"response":{"id":"msg_v%d","type":"message","role":"assistant","model":"claude-x",`+
			`"content":[{"type":"text","text":"An answer."}],"stop_reason":%q,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":20}}}`,
			ts3339(now.Add(-time.Duration(10+i)*time.Minute)), i, r)
		resp, err := http.Post(ts.URL+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/responses with stop reason %s = %d", r, resp.StatusCode)
		}
	}
	// A record with every flag and cause, and one of each kind.
	all := msg(now.Add(-5*time.Minute), "vocab", "flags_and_causes")
	all.Flags, all.Causes = analytics.FlagMask, slices.Clone(analytics.AllCauses)
	kinds := []*analytics.Record{all}
	for _, k := range analytics.Kinds {
		r := msg(now.Add(-4*time.Minute), "vocab", "")
		r.Kind = k
		kinds = append(kinds, r)
	}
	insertAll(t, st, kinds)
	rng := "range=1h&app=vocab"

	t.Run("api", func(t *testing.T) {
		var sum analytics.Summary
		mustGet(t, ts, "/api/v1/summary?"+rng, &sum)
		for _, r := range reasons {
			if sum.StopReasons[analytics.StopReason(r).Key()] != 1 {
				t.Errorf("summary: stop reason %s counted %d times, want 1", r, sum.StopReasons[string(r)])
			}
		}
		for _, f := range analytics.AllFlags {
			if _, ok := sum.Flags[string(f)]; !ok {
				t.Errorf("summary lists no flag %s", f)
			}
		}
		for _, c := range analytics.AllCauses {
			if sum.Causes[string(c)] != 1 {
				t.Errorf("summary: cause %s counted %d times, want 1", c, sum.Causes[string(c)])
			}
		}
		for _, k := range analytics.Kinds {
			if _, ok := sum.Kinds[string(k)]; !ok {
				t.Errorf("summary lists no kind %s", k)
			}
		}
		for _, st := range analytics.AgentSubtypes {
			if _, ok := sum.AgentSubtypes[st]; !ok {
				t.Errorf("summary lists no subtype %s", st)
			}
		}
		var rates analytics.RateSet
		mustGet(t, ts, "/api/v1/rates?"+rng, &rates)
		for _, r := range analytics.KnownStopReasons {
			m := string(analytics.StopReasonMetric(r))
			if !slices.ContainsFunc(rates.StopReasons, func(x analytics.Rate) bool { return x.Metric == m && x.Num == 1 }) {
				t.Errorf("rates: no share %s of 1", m)
			}
		}
		for _, r := range reasons {
			info := analytics.StopReasonInfoOf(r)
			var list struct {
				Items []*analytics.Record `json:"items"`
			}
			mustGet(t, ts, "/api/v1/responses?"+rng+"&stop_reason="+url.QueryEscape(r.Key()), &list)
			if len(list.Items) != 1 {
				t.Errorf("responses?stop_reason=%s: %d items, want 1", r.Key(), len(list.Items))
				continue
			}
			if got, want := list.Items[0].Flags.List(), info.Raises; !slices.Equal(got, append([]analytics.Flag{}, want...)) {
				t.Errorf("stop reason %s was flagged %v, want %v", r.Key(), got, want)
			}
		}
		for _, f := range analytics.AllFlags {
			var list struct {
				Items []*analytics.Record `json:"items"`
			}
			mustGet(t, ts, "/api/v1/responses?"+rng+"&flag="+string(f), &list)
			if !slices.ContainsFunc(list.Items, func(r *analytics.Record) bool { return r.ID == all.ID }) {
				t.Errorf("responses?flag=%s does not list the record with every flag", f)
			}
		}
		for _, k := range analytics.Kinds {
			mustGet(t, ts, "/api/v1/responses?"+rng+"&kind="+string(k), nil)
		}
	})

	t.Run("pages", func(t *testing.T) {
		for _, r := range append(slices.Clone(reasons), analytics.StopNull) {
			info := analytics.StopReasonInfoOf(r)
			code, body := getHTML(t, ts.URL+"/stop-reasons/"+url.PathEscape(r.Key())+"?"+rng)
			if code != http.StatusOK {
				t.Errorf("/stop-reasons/%s = %d", r.Key(), code)
				continue
			}
			label := info.Label
			if !r.Known() {
				label = r.Key()
			}
			for _, want := range []string{`class="badge big ` + info.Class() + `"`, ">" + label + "<", html.EscapeString(info.Advice.Text)} {
				if !strings.Contains(body, want) {
					t.Errorf("/stop-reasons/%s lacks %s", r.Key(), want)
				}
			}
		}
		_, overview := getHTML(t, ts.URL+"/?"+rng)
		for _, i := range analytics.StopReasonTable {
			if !strings.Contains(overview, `href="/stop-reasons/`+i.Key()+`?`) || !strings.Contains(overview, i.Class()) {
				t.Errorf("the overview lacks stop reason %s or its class", i.Key())
			}
		}
		_, list := getHTML(t, ts.URL+"/responses?"+rng)
		for _, f := range analytics.AllFlags {
			if !strings.Contains(list, `<option value="`+string(f)+`"`) {
				t.Errorf("the responses filter offers no flag %s", f)
			}
		}
		for _, k := range analytics.Kinds {
			if !strings.Contains(list, `<option value="`+string(k)+`"`) {
				t.Errorf("the responses filter offers no kind %s", k)
			}
		}
		_, rec := getHTML(t, ts.URL+recordHref(all.ID))
		for _, f := range analytics.FlagTable {
			if !strings.Contains(rec, f.Class()) {
				t.Errorf("the record page shows no badge %s", f.Class())
			}
		}
	})

	t.Run("css", func(t *testing.T) {
		css := assetsByHashed[strings.TrimPrefix(assetURL("vocab.css"), "/static/")].body
		if !bytes.Equal(css, vocabgen.CSS()) {
			t.Fatal("web/static/vocab.css is not what the analytics tables give: run go generate ./web")
		}
		classes := []string{analytics.StopNullInfo.Class(), analytics.StopUnknownInfo.Class()}
		for _, i := range analytics.StopReasonTable {
			classes = append(classes, i.Class())
		}
		for _, i := range analytics.FlagTable {
			classes = append(classes, i.Class())
			if i.Metric != "" {
				classes = append(classes, analytics.MetricClass(i.Metric))
			}
		}
		for _, i := range analytics.CauseTable {
			classes = append(classes, i.Class())
		}
		for _, i := range analytics.KindTable {
			if i.Class() != "" {
				classes = append(classes, i.Class())
			}
			if i.Metric != "" {
				classes = append(classes, analytics.MetricClass(i.Metric))
			}
		}
		for _, c := range classes {
			if !bytes.Contains(css, []byte("\n."+c+" {")) {
				t.Errorf("vocab.css has no class %s", c)
			}
		}
		// Every custom property app.css and app.js use is defined.
		defined := map[string]bool{}
		for _, f := range []string{"app.css", "vocab.css"} {
			b, _ := staticFS.ReadFile("static/" + f)
			for _, m := range regexp.MustCompile(`(--[\w-]+):`).FindAllSubmatch(b, -1) {
				defined[string(m[1])] = true
			}
		}
		for _, f := range []string{"app.css", "app.js"} {
			b, _ := staticFS.ReadFile("static/" + f)
			for _, m := range regexp.MustCompile(`var\((--[\w-]+)|cssVar\("(--[\w-]+)"`).FindAllSubmatch(b, -1) {
				name := string(m[1]) + string(m[2])
				if name != "--c" && !defined[name] {
					t.Errorf("%s uses %s, which no stylesheet defines", f, name)
				}
			}
		}
	})

	t.Run("alerts", func(t *testing.T) {
		rule := func(m analytics.Metric, cond alert.Condition) alert.Rule {
			r := alert.DefaultRule()
			r.Metric, r.Condition = m, cond
			return r
		}
		var metrics []analytics.Metric
		for _, r := range append(slices.Clone(reasons), analytics.StopNull) {
			metrics = append(metrics, analytics.StopReasonMetric(r))
		}
		for _, f := range analytics.FlagTable {
			if f.Metric != "" {
				metrics = append(metrics, f.Metric)
			}
		}
		for _, m := range metrics {
			if err := rule(m, alert.ConditionSpike).Validate(); err != nil {
				t.Errorf("a spike rule on %s: %v", m, err)
			}
			if err := rule("count:"+m, alert.ConditionThreshold).Validate(); err != nil {
				t.Errorf("a count rule on %s: %v", m, err)
			}
		}
		// What the evaluator measures a rule on counts the stop reason.
		q := query.New(st, clock)
		for _, r := range reasons {
			got, err := q.Tally(context.Background(), store.Filter{From: now.Add(-time.Hour), To: now, App: "vocab"}, analytics.StopReasonMetric(r))
			if err != nil || got.K != 1 {
				t.Errorf("tally of %s: %+v, %v; want 1 event", analytics.StopReasonMetric(r), got, err)
			}
		}
	})

	t.Run("docs", func(t *testing.T) {
		md, err := os.ReadFile("../docs/vocabulary.md")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(md, vocabgen.Markdown()) {
			t.Fatal("docs/vocabulary.md is not what the analytics tables give: run go generate ./web")
		}
		var docs []byte
		paths, _ := filepath.Glob("../docs/*.md")
		for _, p := range append(paths, "../README.md") {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, b...)
		}
		var keys []string
		for _, i := range analytics.StopReasonTable {
			keys = append(keys, i.Key())
		}
		for _, f := range analytics.AllFlags {
			keys = append(keys, string(f))
		}
		for _, c := range analytics.AllCauses {
			keys = append(keys, string(c))
		}
		for _, k := range analytics.Kinds {
			keys = append(keys, string(k))
		}
		keys = append(keys, analytics.AgentSubtypes...)
		for _, k := range keys {
			if !bytes.Contains(docs, []byte("`"+k+"`")) {
				t.Errorf("no doc mentions `%s`", k)
			}
		}
	})
}
