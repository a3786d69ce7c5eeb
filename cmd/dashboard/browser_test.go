package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/demo"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// newBrowser starts headless Chromium, or skips the test when it is not
// installed, unless STOPSCOPE_TEST_BROWSER=required (as in CI), where a
// missing browser fails the test.
func newBrowser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("STOPSCOPE_TEST_BROWSER") == "required" {
			t.Fatal("STOPSCOPE_TEST_BROWSER=required but no chromium is installed (apt-get install -y chromium)")
		}
		testfixtures.Skip(t, "browser tests (cmd/dashboard)", "chromium is not installed (apt-get install -y chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 180*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })

	// Collect console errors, uncaught exceptions and browser log errors
	// (CSP violations, failed loads) for the whole test.
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for msg, err := range messages {
			if err != nil {
				return
			}
			if msg.Type == chromedp.ConsoleError || msg.Type == chromedp.ConsoleException {
				mu.Lock()
				problems = append(problems, string(msg.Type)+": "+msg.Text+" "+msg.URL)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// TestBrowserFirstPage opens the first page as a user would on a fresh
// store: the empty state tells how to send data; after posting, the counts
// show, and a click on a stop reason's count leads to the list and on to
// one response.
func TestBrowserFirstPage(t *testing.T) {
	ctx, problems := newBrowser(t)
	m := startMain(t)
	b := &browser{t: t, ctx: ctx}

	b.do(chromedp.Navigate(m.URL() + "/"))
	if main := b.text("main"); !strings.Contains(main, "No calls in this range yet") || !strings.Contains(main, "curl") {
		t.Errorf("fresh store: the page does not tell a new user how to send data:\n%s", main)
	}
	screenshot(t, ctx, "empty")

	var batch bytes.Buffer
	for _, name := range []string{"messages/refusal.json", "streams/refusal.sse", "messages/end_turn.json", "errors/529.json"} {
		line, _ := json.Marshal(fixtureRecord(t, name, "browser"))
		batch.Write(line)
		batch.WriteByte('\n')
	}
	if status, body := post(t, m.URL()+"/v1/responses", "application/x-ndjson", batch.Bytes()); status != 200 {
		t.Fatalf("post: %d %s", status, body)
	}

	b.do(chromedp.Navigate(m.URL() + "/"))
	if calls := b.text(`.cards .card[data-metric=calls] .card-value`); calls != "4" {
		t.Errorf("calls card shows %q, want 4", calls)
	}
	b.do(chromedp.Click(chromedp.CSS(`tr:has(a.sr-refusal) a.count-link`)), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	url := b.location()
	if rows := b.count("table.list tbody tr"); !strings.Contains(url, "stop_reason=refusal") || rows != 2 {
		t.Errorf("after clicking refusal: url %s with %d rows, want stop_reason=refusal and 2 rows", url, rows)
	}
	b.do(chromedp.Click(chromedp.CSS(`table.list tbody tr:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	if main := b.text("main"); !strings.Contains(main, "refusal") || !strings.Contains(main, "Claude declined") {
		t.Errorf("record page does not show the refusal and its advice:\n%s", main)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// browser wraps chromedp for a test: every step fails the test on error.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	// Read through script rather than the DOM domain, whose node tracking
	// does not follow a page restored by back.
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[*string](`(e => e && e.innerText)(document.querySelector(`+strconv.Quote(sel)+`))`))
	if err != nil || v == nil {
		b.t.Fatalf("text of %s: %v (not found at %s)", sel, err, b.location())
	}
	return strings.TrimSpace(*v)
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (b *browser) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// waitFor waits until a script is true, across the navigations it may
// take to get there.
func (b *browser) waitFor(js string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited in vain for %s (at %s, last error %v)", js, b.location(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCharts waits until app.js has drawn the page's charts.
func (b *browser) waitCharts() {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`[...document.querySelectorAll("[data-chart]")].every(c => c.dataset.ready === "1")`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		b.t.Fatalf("charts were not drawn: %v", err)
	}
}

// TestBrowserDashboard walks the dashboard over the demo's week of traffic
// as a newcomer would: the overview shows the demo's numbers and its
// spikes, a click on a stop reason drills down to the list and on to one
// response, the filter bar changes the URL and the figures (and back
// undoes it), the CSV export holds exactly the list, and every page loads
// without a console error.
func TestBrowserDashboard(t *testing.T) {
	ctx, problems := newBrowser(t)
	m := startMain(t)
	b := &browser{t: t, ctx: ctx}

	now := time.Now().UTC().Truncate(time.Second)
	recs, err := demo.Records(now, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Insert(context.Background(), m.Store, recs); err != nil {
		t.Fatal(err)
	}
	to := now.Add(time.Second)
	from := to.Add(-24 * time.Hour)
	scope := "from=" + from.Format(time.RFC3339) + "&to=" + to.Format(time.RFC3339)
	// want counts the demo's records of the last 24 hours that match.
	want := func(match func(*analytics.Record) bool) int {
		n := 0
		for _, r := range recs {
			if !r.Time.Before(from) && r.Time.Before(to) && match(r) {
				n++
			}
		}
		return n
	}
	all := func(*analytics.Record) bool { return true }

	// The overview shows the demo's numbers, its charts and its spikes.
	b.do(chromedp.Navigate(m.URL() + "/?" + scope))
	b.waitCharts()
	if got, w := b.text(`.card[data-metric=calls] .card-value`), formatThousands(want(all)); got != w {
		t.Errorf("overview calls card: %q, want %q", got, w)
	}
	refusals := want(func(r *analytics.Record) bool {
		return r.StopReason == analytics.StopRefusal && r.Kind != analytics.KindError
	})
	if got := b.text(`tr:has(a.sr-refusal) a.count-link`); got != formatThousands(refusals) {
		t.Errorf("overview refusal count: %q, want %d", got, refusals)
	}
	if n := b.count(".charts canvas"); n < 2 {
		t.Errorf("overview draws %d chart canvases, want the stacked chart and the errors chart", n)
	}
	// Spikes and patterns arrive in fragments after the page.
	b.do(chromedp.WaitVisible(chromedp.CSS("#h-spikes + ul")), chromedp.WaitVisible(chromedp.CSS("#h-patterns ~ ul.patterns")))
	if sp := b.text("#h-spikes + ul"); !strings.Contains(sp, "Refusal spike in support-bot") || !strings.Contains(sp, "Empty turn spike in ops-copilot") {
		t.Errorf("overview does not list the demo's spikes:\n%s", sp)
	}
	if pat := b.text("#h-patterns ~ ul.patterns"); !strings.Contains(pat, "text placed right after a tool_result") {
		t.Errorf("overview does not show the empty-turn pattern:\n%s", pat)
	}
	screenshot(t, ctx, "overview")

	// A click on the refusal count lists exactly those records.
	b.do(chromedp.Click(chromedp.CSS(`tr:has(a.sr-refusal) a.count-link`)), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	if u := b.location(); !strings.Contains(u, "stop_reason=refusal") || !strings.Contains(u, "from=") {
		t.Errorf("drill-down URL %s does not keep the range and the stop reason", u)
	}
	if n, other := b.count("table.list tbody tr"), b.count("table.list tbody tr:not(:has(.badge.sr-refusal))"); n != min(50, refusals) || other != 0 {
		t.Errorf("refusal list: %d rows (%d not refusals), want %d", n, other, min(50, refusals))
	}
	screenshot(t, ctx, "responses")
	b.eval(`[...document.querySelectorAll("table.list tbody tr")].find(r => r.children[1].textContent.startsWith("support-bot")).querySelector("a").click(); ""`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	if main := b.text("main"); !strings.Contains(main, "What to do") || !strings.Contains(main, "refusal") || !strings.Contains(main, "USER") {
		t.Errorf("record page does not show the request, the response and the advice:\n%s", main)
	}
	screenshot(t, ctx, "response")

	// The filter bar: choosing an app changes the URL and the figures;
	// back undoes it.
	b.do(chromedp.Navigate(m.URL() + "/?" + scope))
	b.waitCharts()
	// Typed keys are a user's gesture, which the browser's history keeps.
	b.do(chromedp.SendKeys(chromedp.CSS(`form.filterbar select[name=app]`), "support-bot"))
	b.waitFor(`location.search.includes("app=support-bot") && document.readyState === "complete" && !!document.querySelector(".card[data-metric=calls]")`)
	support := want(func(r *analytics.Record) bool { return r.App == "support-bot" })
	if got := b.text(`.card[data-metric=calls] .card-value`); got != formatThousands(support) {
		t.Errorf("calls of support-bot: %q, want %d", got, support)
	}
	b.eval(`history.back(); ""`)
	b.waitFor(`!location.search.includes("app=") && document.readyState === "complete" && !!document.querySelector(".card[data-metric=calls]")`)
	if got := b.text(`.card[data-metric=calls] .card-value`); got != formatThousands(want(all)) {
		t.Errorf("after back: calls %q, want %d", got, want(all))
	}

	// The CSV export holds exactly the list.
	b.do(chromedp.Navigate(m.URL() + "/responses?" + scope + "&app=support-bot&flag=refusal&limit=500"))
	ids := b.eval(`[...document.querySelectorAll("table.list tbody tr")].map(r => r.dataset.id).join(",")`)
	href := b.eval(`document.querySelector("a[data-export=csv]").getAttribute("href")`)
	resp, err := http.Get(m.URL() + href)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) < 2 {
		t.Fatalf("CSV export: %v, %d rows", err, len(rows))
	}
	var csvIDs []string
	for _, row := range rows[1:] {
		csvIDs = append(csvIDs, row[0])
	}
	if got := strings.Join(csvIDs, ","); got != ids {
		t.Errorf("CSV export ids differ from the list:\ncsv  %s\nlist %s", got, ids)
	}

	// Every page answers and draws without errors; keep a picture of each.
	for _, p := range []struct{ path, name, want string }{
		{"/stop-reasons/refusal", "stop-reason-refusal", "Share by app"},
		{"/stop-reasons/null", "stop-reason-null", "Share of responses"},
		{"/empty-turns", "empty-turns", "Text right after a tool_result"},
		{"/refusals", "refusals", "support-bot"},
		{"/truncation", "truncation", "continuations"},
		{"/agent-runs", "agent-runs", "error_max_turns"},
		{"/latency-cost", "latency-cost", "Cost of calls"},
		{"/setup", "setup", "Data has arrived"},
	} {
		sep := "?"
		if strings.Contains(p.path, "?") {
			sep = "&"
		}
		b.do(chromedp.Navigate(m.URL() + p.path + sep + scope))
		b.waitCharts()
		if main := b.text("main"); !strings.Contains(main, p.want) {
			t.Errorf("%s does not show %q:\n%s", p.path, p.want, main)
		}
		screenshot(t, ctx, p.name)
	}
	// On a phone, no page scrolls sideways (wide tables scroll inside themselves).
	for _, path := range []string{"/", "/responses", "/refusals", "/empty-turns", "/truncation", "/agent-runs", "/latency-cost", "/stop-reasons/refusal", "/alerts", "/setup"} {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		b.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(m.URL()+path+sep+scope))
		b.waitCharts()
		if path == "/" {
			screenshot(t, ctx, "overview-phone")
		}
		if w, _ := strconv.Atoi(b.eval(`String(document.documentElement.scrollWidth)`)); w > 390 {
			t.Errorf("on a 390 px phone %s is %d px wide: it scrolls sideways", path, w)
		}
	}

	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// formatThousands writes n as the pages do: 1,234.
func formatThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
