package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stopscope/stopscope/cmd/dashboard/demo"
)

// TestDemoViewsAreValid posts each of the demo's saved views through the
// API, which checks them: each must be accepted as it is, canonical URL
// and slug included.
func TestDemoViewsAreValid(t *testing.T) {
	m := startMain(t)
	for _, v := range demo.Views {
		body, _ := json.Marshal(map[string]string{"name": v.Name, "url": v.URL})
		status, got := post(t, m.URL()+"/api/v1/views", "application/json", body)
		var out struct{ Slug, URL string }
		_ = json.Unmarshal(got, &out)
		if status != http.StatusCreated || out.Slug != v.Slug || out.URL != v.URL {
			t.Errorf("demo view %q: %d %s, want 201 with slug %s and url %s", v.Name, status, got, v.Slug, v.URL)
		}
	}
}

// TestBrowserCompare uses the compare page and the saved views as a user
// would: the demo's views in the navigation, a comparison that finds the
// demo's model difference, the records behind a row, the quick picks and
// the form, and saving, sharing and deleting a view.
func TestBrowserCompare(t *testing.T) {
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
	if err := demo.SaveViews(context.Background(), m.Store, now); err != nil {
		t.Fatal(err)
	}

	// The navigation lists the demo's views; one click opens a comparison.
	b.do(chromedp.Navigate(m.URL() + "/"))
	b.do(chromedp.Click(chromedp.CSS(`details.views-menu summary`)), chromedp.WaitVisible(chromedp.CSS(`details.views-menu ul`)))
	menu := b.text(`details.views-menu ul`)
	for _, v := range demo.Views {
		if !strings.Contains(menu, v.Name) {
			t.Errorf("the Views menu does not list %q:\n%s", v.Name, menu)
		}
	}
	b.do(chromedp.Click(chromedp.CSS(`details.views-menu a[href="/v/last-24-hours-vs-the-day-before"]`)), chromedp.WaitVisible(chromedp.CSS(`table.compare`)))
	if u := b.location(); !strings.Contains(u, "/compare?") || !strings.Contains(u, "a.ago=24h") {
		t.Errorf("the saved view led to %s", u)
	}
	// The last 24 hours hold the demo's refusal spike and ops-copilot's
	// release that put text after tool results: the comparison with the
	// day before finds both, significant rows first.
	sig := b.eval(`[...document.querySelectorAll("table.compare tbody tr[data-verdict=significant]")].map(r => r.dataset.key).join(" ")`)
	for _, k := range []string{"flag:refusal", "flag:empty_turn", "cause:text_after_tool_result"} {
		if !strings.Contains(" "+sig+" ", " "+k+" ") {
			t.Errorf("last 24 hours vs the day before: %s is not significant (significant: %s)\n%s", k, sig, b.text("table.compare"))
		}
	}
	first := b.eval(`document.querySelector("table.compare tbody tr").dataset.key + " " + document.querySelector("table.compare tbody tr").dataset.verdict`)
	if !strings.HasSuffix(first, " significant") {
		t.Errorf("first row %q is not significant", first)
	}
	screenshot(t, ctx, "compare")

	// A row's link lists the records it counts (in B: the change is new).
	key := strings.Fields(first)[0]
	num := b.eval(`document.querySelector("table.compare tbody tr").children[2].textContent`)
	wantN, _ := strconv.Atoi(strings.ReplaceAll(strings.Fields(strings.TrimPrefix(strings.SplitN(num, "(", 2)[1], ""))[0], ",", ""))
	href := b.eval(`document.querySelector("table.compare tbody tr a[data-records=b]").getAttribute("href")`)
	b.do(chromedp.Click(chromedp.CSS(`table.compare tbody tr:first-child a[data-records=b]`)), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if u := b.location(); !strings.Contains(u, "/responses?") {
		t.Errorf("the records link of %s led to %s", key, u)
	}
	resp, err := http.Get(m.URL() + "/api/v1/responses?limit=1000&" + strings.TrimPrefix(href, "/responses?"))
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []json.RawMessage }
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(raw, &list); err != nil || len(list.Items) != wantN || wantN == 0 {
		t.Errorf("the records behind %s in B: %d listed, the row counts %d (%v)", key, len(list.Items), wantN, err)
	}
	if rows := b.count("table.list tbody tr"); rows != min(50, wantN) {
		t.Errorf("the records page lists %d rows, want %d", rows, min(50, wantN))
	}

	// The quick pick of this week against last: the demo has no last week,
	// an empty state.
	b.do(chromedp.Navigate(m.URL() + "/compare"))
	b.eval(`[...document.querySelectorAll("nav.chips a")].find(a => a.textContent === "This week vs last week").click(); ""`)
	b.waitFor(`!!document.querySelector("[data-compare-empty]")`)
	if e := b.text(`[data-compare-empty]`); !strings.Contains(e, "Cohort A has no records") {
		t.Errorf("this week vs last week on the demo: %q", e)
	}
	// The form: B's model, and submit.
	b.do(chromedp.Navigate(m.URL() + "/compare?a.range=24h&b.range=24h"))
	b.do(chromedp.SetValue(chromedp.CSS(`select[name="b.model"]`), "claude-haiku-4-5"), chromedp.Click(chromedp.CSS(`form.compareform button[type=submit]`)))
	b.waitFor(`location.search.includes("b.model=claude-haiku-4-5") && !!document.querySelector("table.compare")`)
	if u := b.location(); strings.Contains(u, "a.app=") || strings.Contains(u, "a.ago=") {
		t.Errorf("the form kept empty fields in the URL: %s", u)
	}
	if got := b.text(`[data-cohort=b]`); !strings.Contains(got, "model claude-haiku-4-5") {
		t.Errorf("cohort B says %q", got)
	}

	// Save this comparison, find it listed, share its link, delete it.
	b.do(chromedp.SendKeys(chromedp.CSS(`form.saveview input[name=name]`), "Haiku today"), chromedp.Submit(chromedp.CSS(`form.saveview`)))
	b.do(chromedp.WaitVisible(chromedp.CSS(`tr[data-view="haiku-today"]`)))
	if u := b.location(); !strings.Contains(u, "/views") {
		t.Errorf("saving led to %s", u)
	}
	b.do(chromedp.Navigate(m.URL()+"/v/haiku-today"), chromedp.WaitVisible(chromedp.CSS(`table.compare`)))
	if u, _ := url.Parse(b.location()); u.Query().Get("b.model") != "claude-haiku-4-5" {
		t.Errorf("/v/haiku-today led to %s", u)
	}
	// Saving a filter from the filter bar.
	b.do(chromedp.Navigate(m.URL() + "/responses?app=support-bot&flag=refusal"))
	b.do(chromedp.Click(chromedp.CSS(`details.saveview summary`)),
		chromedp.SendKeys(chromedp.CSS(`details.saveview input[name=name]`), "Support refusals"),
		chromedp.Submit(chromedp.CSS(`details.saveview form`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-view="support-refusals"]`)))
	b.do(chromedp.Click(chromedp.CSS(`tr[data-view="haiku-today"] button`)))
	b.waitFor(`!document.querySelector('tr[data-view="haiku-today"]') && !!document.querySelector('tr[data-view="support-refusals"]')`)
	screenshot(t, ctx, "views")
	b.do(chromedp.Navigate(m.URL()+"/v/support-refusals"), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	if u := b.location(); !strings.Contains(u, "flag=refusal") || !strings.Contains(u, "app=support-bot") {
		t.Errorf("/v/support-refusals led to %s", u)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
