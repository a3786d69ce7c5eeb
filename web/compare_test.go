package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// TestCohortParamsCoverFilter checks that every parameter parseFilter
// reads is one a cohort takes or refuses by name, so that a filter field
// added there is not silently ignored by the comparison, and that every
// cohort parameter is one parseFilter reads.
func TestCohortParamsCoverFilter(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "filters.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "filterOf" {
			return true
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && s != "" && s == strings.ToLower(s) && !strings.ContainsAny(s, " %:") {
						read[s] = true
					}
				}
			}
			return true
		})
		return false
	})
	if len(read) < 10 {
		t.Fatalf("found only %v in filterOf: has it moved?", read)
	}
	for p := range read {
		if p == "custom" {
			continue // a value of range, not a parameter
		}
		if !slices.Contains(cohortParams, p) && !slices.Contains(cohortRefused, p) {
			t.Errorf("parseFilter reads %q, which cohortParams neither takes nor cohortRefused refuses", p)
		}
	}
	for _, p := range append(slices.Clone(cohortParams), cohortRefused...) {
		if !read[p] {
			t.Errorf("cohort parameter %q is not one parseFilter reads", p)
		}
	}
}

func TestCompareAPI(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, fixture())
	hour := "&a.from=" + ts3339(now.Add(-time.Hour)) + "&a.to=" + ts3339(now) + "&b.from=" + ts3339(now.Add(-time.Hour)) + "&b.to=" + ts3339(now)

	var c comparison
	mustGet(t, ts, "/api/v1/compare?a.app=a&b.app=b"+hour, &c)
	if c.A.Calls != 12 || c.B.Calls != 3 || c.A.Empty || c.Alpha != analytics.CompareAlpha || c.MinN != analytics.MinCompareN {
		t.Fatalf("cohorts %+v / %+v, alpha %g, min n %d", c.A, c.B, c.Alpha, c.MinN)
	}
	if c.A.Filter["app"] != "a" {
		t.Errorf("a.filter = %v", c.A.Filter)
	}
	byKey := map[string]compareRow{}
	for _, r := range c.Rows {
		byKey[r.Key] = r
	}
	ref := byKey["flag:refusal"]
	if ref.A.Num != 2 || ref.A.Den != 10 || ref.B.Num != 0 || ref.B.Den != 3 || ref.Verdict != analytics.VerdictNotEnough {
		t.Errorf("flag:refusal = %+v", ref.CompareRow)
	}
	// Each row's links list exactly the records it counts, in each cohort.
	for _, k := range []string{"flag:refusal", "stop_reason:tool_use", "error_type:overloaded_error", "error", "cause:text_after_tool_result"} {
		r := byKey[k]
		for side, link := range map[string]string{"a": r.Records.A, "b": r.Records.B} {
			want := r.A.Num
			if side == "b" {
				want = r.B.Num
			}
			path, ok := strings.CutPrefix(link, "/responses?")
			if !ok {
				t.Fatalf("%s: link %q is not the records list", k, link)
			}
			var list struct{ Items []listItem }
			mustGet(t, ts, "/api/v1/responses?limit=1000&"+path, &list)
			if int64(len(list.Items)) != want {
				t.Errorf("%s, cohort %s: the link %s lists %d records, the row counts %d", k, side, link, len(list.Items), want)
			}
		}
	}

	// An empty cohort is an empty state.
	mustGet(t, ts, "/api/v1/compare?a.app=nobody&b.app=b"+hour, &c)
	if !c.A.Empty || c.A.Calls != 0 || len(c.Rows) == 0 {
		t.Errorf("empty cohort: %+v, %d rows", c.A, len(c.Rows))
	}

	// Unprefixed filters are shared, unless a cohort sets its own; the
	// range is inherited whole.
	mustGet(t, ts, "/api/v1/compare?app=a&b.app=b&range=1h&b.range=6h&a.ago=1h", &c)
	if c.A.Filter["app"] != "a" || c.B.Filter["app"] != "b" || c.A.Filter["range"] != "1h" || c.B.Filter["range"] != "6h" ||
		!c.A.To.Equal(now.Add(-time.Hour)) || !c.B.From.Equal(now.Add(-6*time.Hour)) {
		t.Errorf("shared filters: a %v %s–%s, b %v %s–%s", c.A.Filter, c.A.From, c.A.To, c.B.Filter, c.B.From, c.B.To)
	}
	// ago moves a range back.
	mustGet(t, ts, "/api/v1/compare?a.range=1h&a.ago=1h&b.range=1h", &c)
	if !c.A.From.Equal(now.Add(-2*time.Hour)) || !c.A.To.Equal(now.Add(-time.Hour)) || !c.B.To.Equal(now) {
		t.Errorf("a %s–%s, b to %s", c.A.From, c.A.To, c.B.To)
	}

	for _, tc := range []struct{ query, want string }{
		{"flag=refusal", "parameter flag:"},
		{"a.foo=1", "parameter a.foo:"},
		{"c.model=x", "parameter c.model:"},
		{"a.range=2w", "parameter a.range:"},
		{"b.kind=nonsense", "parameter b.kind:"},
		{"a.flag=refusal", "parameter a.flag:"},
		{"b.q=text", "parameter b.q:"},
		{"a.ago=7x", "parameter a.ago:"},
		{"a.ago=100000d", "parameter a.ago:"},
		{"a.ago=30000d", "parameter a.ago:"},
		{"b.from=yesterday", "parameter b.from:"},
	} {
		code, body := get(t, ts, "/api/v1/compare?"+tc.query, nil)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("GET /api/v1/compare?%s = %d %s, want 400 naming %q", tc.query, code, body, tc.want)
		}
	}
}

func TestComparePage(t *testing.T) {
	ts, st := testServer(t)
	recs := fixture()
	for _, r := range recs {
		if r.App == "b" {
			r.Model = "claude-y"
		}
	}
	insertAll(t, st, recs)
	code, body := getHTML(t, ts.URL+"/compare")
	if code != 200 || !strings.Contains(body, "This week vs last week") || !strings.Contains(body, "model claude-x vs claude-y (7 days)") ||
		!strings.Contains(body, "Pick two cohorts") {
		t.Fatalf("GET /compare = %d\n%s", code, body)
	}
	code, body = getHTML(t, ts.URL+"/compare?a.app=a&b.app=b&a.range=1h&b.range=1h")
	for _, w := range []string{`data-key="flag:refusal"`, "not enough calls to tell", `data-records="a"`, `name="url" value="/compare?`, "Save view"} {
		if code != 200 || !strings.Contains(body, w) {
			t.Errorf("GET /compare?… = %d: no %q", code, w)
		}
	}
	code, body = getHTML(t, ts.URL+"/compare?a.app=nobody&b.range=1h")
	if code != 200 || !strings.Contains(body, "Cohort A has no records") {
		t.Errorf("empty cohort page = %d, no empty state", code)
	}
	if code, body = getHTML(t, ts.URL+"/compare?a.foo=1"); code != 400 || !strings.Contains(body, "parameter a.foo") {
		t.Errorf("bad parameter page = %d", code)
	}
}

func TestSavedViewsAPI(t *testing.T) {
	ts, _ := testServer(t)
	post := func(body string) (int, string) {
		resp, err := http.Post(ts.URL+"/api/v1/views", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp.StatusCode, b.String()
	}
	code, body := post(`{"name": "This week vs last", "url": "/compare?a.range=7d&a.ago=7d&b.range=7d"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"slug":"this-week-vs-last"`) || !strings.Contains(body, `"link":"/v/this-week-vs-last"`) {
		t.Fatalf("POST /api/v1/views = %d %s", code, body)
	}
	// A pasted address bar keeps its path and query only.
	if code, body = post(`{"name": "Refusals of app a", "url": "http://127.0.0.1:8080/responses?app=a&flag=refusal&cursor=x"}`); code != http.StatusCreated || !strings.Contains(body, `"url":"/responses?app=a\u0026flag=refusal"`) {
		t.Errorf("absolute URL: %d %s", code, body)
	}
	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{`{"name": "This week vs last!", "url": "/"}`, 409, "already called"},
		{`{"name": "", "url": "/"}`, 400, "parameter name"},
		{`{"name": "x", "url": "//evil.example/compare"}`, 400, "parameter url"},
		{`{"name": "x", "url": "/setup"}`, 400, "not a page a view can show"},
		{`{"name": "x", "url": "/compare?a.foo=1"}`, 400, "parameter a.foo"},
		{`{"name": "x", "url": "/responses?range=2w"}`, 400, "parameter range"},
		{`not json`, 400, "not a JSON object"},
	} {
		if code, body := post(tc.body); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s = %d %s, want %d naming %q", tc.body, code, body, tc.code, tc.want)
		}
	}
	var list struct{ Items []viewJSON }
	mustGet(t, ts, "/api/v1/views", &list)
	if len(list.Items) != 2 || list.Items[0].Slug != "refusals-of-app-a" {
		t.Fatalf("views = %+v", list.Items)
	}
	// The shared link leads to the view.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(ts.URL + "/v/this-week-vs-last")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/compare?a.ago=7d&a.range=7d&b.range=7d" {
		t.Errorf("GET /v/… = %d to %q", resp.StatusCode, loc)
	}
	if code, _ := get(t, ts, "/v/nothing", nil); code != http.StatusNotFound {
		t.Errorf("GET /v/nothing = %d", code)
	}
	// The navigation lists the views on every page.
	if _, body := getHTML(t, ts.URL+"/responses"); !strings.Contains(body, `href="/v/this-week-vs-last"`) || !strings.Contains(body, "Save this view") {
		t.Error("the navigation does not list the saved view, or the page has no save form")
	}
	req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/api/v1/views/"+url.PathEscape("this-week-vs-last"), nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE = %d", resp.StatusCode)
	}
	if code, _ := get(t, ts, "/api/v1/views/this-week-vs-last", nil); code != http.StatusNotFound {
		t.Errorf("a deleted view answers %d", code)
	}
}

func TestSlugOf(t *testing.T) {
	for in, want := range map[string]string{
		"This week vs last": "this-week-vs-last", "  r42 → r41 ": "r42-r41", "¡¿": "view", "Model A/B": "model-a-b",
	} {
		if got := slugOf(in); got != want {
			t.Errorf("slugOf(%q) = %q, want %q", in, got, want)
		}
	}
}
