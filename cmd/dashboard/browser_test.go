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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
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
	ctx, cancelT := context.WithTimeout(ctx, 300*time.Second)
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

// TestBrowserChartsShowNow posts calls into an empty store, all in the
// current minute, and checks that every time chart draws them: the last
// bucket (the one still filling) has a box of non-zero width and height
// with its colour in it, is marked partial, and count axes tick at whole
// numbers. It looks at the live 24-hour range (hourly buckets) and at the
// last hour (minute buckets), in light and dark.
func TestBrowserChartsShowNow(t *testing.T) {
	ctx, problems := newBrowser(t)
	m := startMain(t)
	b := &browser{t: t, ctx: ctx}

	// Leave the rest of the minute for the minute-level charts: the calls
	// must still be in the range's last minute when they are drawn.
	if s := time.Now().UTC().Second(); s > 40 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	var batch bytes.Buffer
	for _, name := range []string{"messages/refusal.json", "messages/end_turn.json", "messages/max_tokens.json", "errors/529.json"} {
		line, _ := json.Marshal(fixtureRecord(t, name, "now"))
		batch.Write(line)
		batch.WriteByte('\n')
	}
	if status, body := post(t, m.URL()+"/v1/responses", "application/x-ndjson", batch.Bytes()); status != 200 {
		t.Fatalf("post: %d %s", status, body)
	}
	to := time.Now().UTC().Add(time.Second)
	lastHour := "from=" + to.Add(-time.Hour).Format(time.RFC3339) + "&to=" + to.Format(time.RFC3339)

	paths := []string{"/", "/refusals", "/empty-turns", "/truncation", "/stop-reasons/null"}
	for _, r := range analytics.StopReasonTable {
		paths = append(paths, "/stop-reasons/"+r.Reason.Key())
	}
	for _, scheme := range []string{"light", "dark"} {
		b.do(colorScheme(scheme))
		if scheme == "dark" {
			paths = []string{"/", "/refusals"}
		}
		for _, scope := range []string{"range=24h", lastHour} {
			for _, path := range paths {
				b.do(chromedp.Navigate(m.URL() + path + "?" + scope))
				b.waitCharts()
				if n := b.count("[data-part]"); n == 0 {
					t.Errorf("%s?%s has no time chart", path, scope)
				}
				if bad := b.eval(lastBucketJS); bad != "" {
					t.Errorf("%s (%s, %s):\n%s", path, scope, scheme, bad)
				}
				if path == "/" || path == "/refusals" {
					name := "now-overview-" + scheme
					if path != "/" {
						name = "now" + strings.ReplaceAll(path, "/", "-") + "-" + scheme
					}
					if scope != "range=24h" {
						name += "-minutes"
					}
					screenshot(t, ctx, name)
				}
			}
		}
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// lastBucketJS checks every chart of a page: the box app.js says it drew
// for the last bucket (data-last-bucket) is at least 1 px each way, marked
// partial, and holds pixels of the chart's colour (unless that colour is a
// grey, which the hatching of a partial bucket also is); count axes have
// whole-number ticks. It answers what is wrong, or "".
const lastBucketJS = `(() => {
	const out = [], root = getComputedStyle(document.documentElement);
	const sat = hex => { const m = /^#([0-9a-f]{6})$/i.exec(hex.trim()); if (!m) return 0; const n = parseInt(m[1], 16), c = [n >> 16, (n >> 8) & 255, n & 255]; return Math.max(...c) - Math.min(...c); };
	document.querySelectorAll("[data-chart]").forEach(box => {
		box.querySelectorAll("[data-part]").forEach((el, i) => {
			const name = el.dataset.part + (el.dataset.key ? " " + el.dataset.key : "");
			if (!el.dataset.lastBucket) { out.push(name + ": the last bucket is not drawn (" + el.innerText.trim() + ")"); return; }
			const b = JSON.parse(el.dataset.lastBucket);
			if (!(b.w >= 1 && b.h >= 1)) { out.push(name + ": the last bucket is drawn " + b.w + " × " + b.h + " px"); return; }
			if (!b.partial) out.push(name + ": the last bucket is not marked partial");
			const p = (box._plots || [])[i], r = devicePixelRatio;
			// A bar spans its whole bucket (less a 1 px gap), however little of it has passed.
			const bucket = p.bbox.width / r / p.data[0].length;
			if (el.dataset.part !== "metric" && b.w < bucket - 1.5) out.push(name + ": the last bucket is " + b.w + " px wide, not its bucket's " + bucket);
			if (!el.querySelector(".chart-legend .key-partial")) out.push(name + ": no legend entry for the partial bucket");
			const key = (el.dataset.key || "").replace("stop_reason:", "");
			const color = el.dataset.part === "errors" ? root.getPropertyValue("--kind-error") : key ? (root.getPropertyValue("--metric-" + key) || root.getPropertyValue("--sr-" + key)) : "#0072B2";
			const cv = el.querySelector("canvas");
			const px = cv.getContext("2d").getImageData(Math.floor(b.x * r), Math.floor(b.y * r), Math.max(1, Math.ceil(b.w * r)), Math.max(1, Math.ceil(b.h * r))).data;
			let colored = 0;
			for (let j = 0; j < px.length; j += 4) if (px[j + 3] >= 100 && Math.max(px[j], px[j + 1], px[j + 2]) - Math.min(px[j], px[j + 1], px[j + 2]) >= 50) colored++;
			if (sat(color) >= 50 && !colored) out.push(name + ": no pixel of its colour " + color.trim() + " in the last bucket's box " + JSON.stringify(b));
			const ticks = p && p.axes[1]._values || [];
			if (el.dataset.part !== "metric" && ticks.some(v => /[.,]\d/.test(v) && !/^\d{1,3}(,\d{3})+$/.test(v))) out.push(name + ": count ticks that are not whole numbers: " + ticks.join(" "));
		});
	});
	return out.join("\n");
})()`

// colorScheme makes the page prefer a light or dark colour scheme.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
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
	if sp := b.text("#h-spikes + ul"); !strings.Contains(sp, "Refusal spike in app support-bot") || !strings.Contains(sp, "Empty turn spike in app ops-copilot") {
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
	b.eval(`[...document.querySelectorAll("table.list tbody tr")].find(r => r.querySelector("td.app").textContent.startsWith("support-bot")).querySelector("a").click(); ""`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	if main := b.text("main"); !strings.Contains(main, "What to do") || !strings.Contains(main, "refusal") || !strings.Contains(main, "USER") {
		t.Errorf("record page does not show the request, the response and the advice:\n%s", main)
	}
	screenshot(t, ctx, "response")
	recordPath := strings.TrimPrefix(b.location(), m.URL())

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
	// On a phone and on a wide screen, no page scrolls sideways: not the
	// page, and no table or code inside it either.
	paths := []string{"/", "/responses", "/refusals", "/empty-turns", "/truncation", "/agent-runs", "/latency-cost", "/alerts", "/setup", recordPath,
		"/stop-reasons/null", "/stop-reasons/future_stop_reason_example"}
	for _, r := range analytics.StopReasonTable {
		paths = append(paths, "/stop-reasons/"+r.Reason.Key())
	}
	for _, path := range paths {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		// Each page loads once, on a phone, then widens to a desktop.
		for i, width := range []int64{390, 1440} {
			if i == 0 {
				b.do(chromedp.EmulateViewport(width, 900), chromedp.Navigate(m.URL()+path+sep+scope))
				b.waitCharts()
				b.waitFor(`!document.querySelector("[aria-busy=true]")`)
			} else {
				b.do(chromedp.EmulateViewport(width, 900), chromedp.Sleep(300*time.Millisecond))
			}
			if path == "/" {
				screenshot(t, ctx, "overview-"+strconv.FormatInt(width, 10))
			} else if path == "/responses" {
				screenshot(t, ctx, "responses-"+strconv.FormatInt(width, 10))
			}
			if wide := b.eval(sidewaysJS(width)); wide != "" {
				t.Errorf("at %d px %s scrolls sideways:\n%s", width, path, wide)
			}
		}
	}
	b.do(chromedp.EmulateViewport(1280, 900))

	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// sidewaysJS is a script that says what scrolls sideways in a window
// width px wide: the page itself, or any element that scrolls inside it.
func sidewaysJS(width int64) string {
	return `(() => {
		const out = [];
		const w = document.documentElement.scrollWidth;
		if (w > ` + strconv.FormatInt(width, 10) + `) out.push("the page is " + w + " px wide");
		document.querySelectorAll("body *").forEach(e => {
			const s = getComputedStyle(e);
			if ((s.overflowX === "auto" || s.overflowX === "scroll") && e.scrollWidth > e.clientWidth + 1)
				out.push(e.tagName.toLowerCase() + "." + e.className + " is " + e.scrollWidth + " px wide in " + e.clientWidth);
		});
		return out.join("\n");
	})()`
}

// formatThousands writes n as the pages do: 1,234.
func formatThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestBrowserReleaseMarkers: a release that starts taking traffic in the
// range is drawn as a labelled line on every time chart of the overview,
// and the charts of another app draw none.
func TestBrowserReleaseMarkers(t *testing.T) {
	ctx, problems := newBrowser(t)
	m := startMain(t)
	b := &browser{t: t, ctx: ctx}
	rec := fixtureRecord(t, "messages/end_turn.json", "shop")
	rec["release"] = "r42"
	line, _ := json.Marshal(rec)
	if status, body := post(t, m.URL()+"/v1/responses", "application/json", line); status != 200 {
		t.Fatalf("post: %d %s", status, body)
	}
	// Charts with nothing to draw (no failed requests) say so instead.
	const markersJS = `JSON.stringify([...document.querySelectorAll("[data-chart] [data-part][data-last-bucket]")].map(el => el.dataset.part + "=" + (el.dataset.markers || "none")))`
	b.do(chromedp.Navigate(m.URL() + "/?range=24h"))
	b.waitCharts()
	got := b.eval(markersJS)
	if !strings.Contains(got, `release r42`) || strings.Contains(got, "=none") || strings.Contains(got, "=[]") {
		t.Errorf("overview charts drew markers %s, want r42 on each", got)
	}
	// Another app's charts have no marker of shop's release.
	other := fixtureRecord(t, "messages/max_tokens.json", "search")
	line, _ = json.Marshal(other)
	if status, body := post(t, m.URL()+"/v1/responses", "application/json", line); status != 200 {
		t.Fatalf("post: %d %s", status, body)
	}
	b.do(chromedp.Navigate(m.URL() + "/?range=24h&app=search"))
	b.waitCharts()
	if got := b.eval(markersJS); strings.Contains(got, "r42") || !strings.Contains(got, "=[]") {
		t.Errorf("charts of app search drew markers %s, want none", got)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
