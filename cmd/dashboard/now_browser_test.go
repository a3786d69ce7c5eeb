package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stopscope/stopscope/analytics"
)

// crossAppTraffic is a day of calm calls up to end from three apps, each
// on its own model, one every 5 minutes; with burst, a provider-wide 529
// burst instead: 30 calls in the last 10 minutes, 10 of them failed,
// too few per app or model to tell, enough across them.
func crossAppTraffic(end time.Time, burst bool) []*analytics.Record {
	apps := []struct{ app, model string }{{"shop", "m-1"}, {"search", "m-2"}, {"mail", "m-3"}}
	rec := func(at time.Time, app, model string, failed bool) *analytics.Record {
		r := &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: model,
			Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn}
		if failed {
			r.Kind, r.StopReason, r.HTTPStatus, r.ErrorType = analytics.KindError, analytics.StopNull, 529, "overloaded_error"
		}
		return r
	}
	var recs []*analytics.Record
	if !burst {
		for m := 24 * 60; m > 0; m -= 5 {
			for _, x := range apps {
				recs = append(recs, rec(end.Add(-time.Duration(m)*time.Minute), x.app, x.model, false))
			}
		}
		return recs
	}
	for i := range 10 {
		at := end.Add(-time.Duration(10-i) * time.Minute).Add(30 * time.Second)
		for j, x := range apps {
			recs = append(recs, rec(at, x.app, x.model, (i+j)%3 == 0))
		}
	}
	return recs
}

// TestBrowserNowStripLive opens the overview on calm data, where the now
// strip says, small, that nothing is broken; then a provider-wide 529
// burst comes in, and without a reload the live page shows it: in the now
// strip (ongoing, at all traffic), in the spikes, in the failed requests
// table and in the cards. One click on the strip's spike lists its
// failed calls.
func TestBrowserNowStripLive(t *testing.T) {
	ctx, problems := newBrowser(t)
	m := startMainWith(t, func(m *Main) { m.liveEvery = time.Second })
	b := &browser{t: t, ctx: ctx}
	end := time.Now().UTC()
	if err := m.Store.Insert(context.Background(), crossAppTraffic(end, false)); err != nil {
		t.Fatal(err)
	}

	b.do(chromedp.Navigate(m.URL() + "/"))
	b.waitFor(`!!document.querySelector("#now.now-calm")`)
	if now := b.text("#now"); !strings.Contains(now, "Nothing is broken right now") {
		t.Errorf("calm data: the now strip says %q", now)
	}
	// Calm is one small line, not a panel.
	if h := b.count(`#now .now-item`); h != 0 {
		t.Errorf("calm data: the now strip lists %d items", h)
	}
	calls := b.text(`.card[data-metric=calls] .card-value`)
	if errs := b.text("#h-err + *"); !strings.Contains(errs, "No failed requests") {
		t.Errorf("calm data: failed requests table says %q", errs)
	}

	if err := m.Store.Insert(context.Background(), crossAppTraffic(time.Now().UTC(), true)); err != nil {
		t.Fatal(err)
	}
	// No navigation: the live page refreshes its parts by itself.
	b.waitFor(`(document.querySelector("#now") || {}).innerText?.includes("Error spike in all traffic")`)
	if now := b.text("#now"); !strings.Contains(now, "ONGOING") && !strings.Contains(strings.ToLower(now), "ongoing") {
		t.Errorf("the burst's spike is not ongoing in the now strip: %q", now)
	}
	b.waitFor(`(document.querySelector("#overview-spikes") || {}).innerText?.includes("Error spike in all traffic")`)
	b.waitFor(`(document.querySelector("#overview-tables") || {}).innerText?.includes("overloaded_error")`)
	b.waitFor(`document.querySelector(".card[data-metric=calls] .card-value").innerText !== ` + "`" + calls + "`")
	screenshot(t, ctx, "now-strip-burst")

	// Follow the link by its address: the live strip may be swapped for a
	// fresh copy between finding the link and clicking it.
	href := b.eval(`document.querySelector("#now .now-spike a").href`)
	b.do(chromedp.Navigate(href), chromedp.WaitVisible(chromedp.CSS(`table.list`)))
	if u := b.location(); !strings.Contains(u, "kind=error") {
		t.Errorf("the spike's link leads to %s, not its failed requests", u)
	}
	if n, other := b.count("table.list tbody tr"), b.count(`table.list tbody tr:not(:has(.badge.kind-error))`); n != 10 || other != 0 {
		t.Errorf("the spike's records: %d rows (%d not failed requests), want the 10 failures", n, other)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(p, "\n"))
	}
}
