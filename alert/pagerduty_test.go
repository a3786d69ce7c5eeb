package alert_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
)

// pagerDuty is a local receiver that speaks the Events API v2 contract
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/): it
// checks each event as PagerDuty does, answers 400 with the errors for an
// invalid one and 202 {status, message, dedup_key} for a valid one, and
// keeps the valid events.
type pagerDuty struct {
	mu     sync.Mutex
	events []alert.PagerDutyEvent
	bad    []string
	srv    *httptest.Server
}

func newPagerDuty(t *testing.T) *pagerDuty {
	pd := &pagerDuty{}
	pd.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev alert.PagerDutyEvent
		var errs []string
		if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
			errs = append(errs, fmt.Sprintf("%s %s is not POST /v2/enqueue", r.Method, r.URL.Path))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			errs = append(errs, "Content-Type "+ct)
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			errs = append(errs, "body is not JSON: "+err.Error())
		}
		if ev.RoutingKey == "" {
			errs = append(errs, "'routing_key' is missing")
		}
		if len(ev.DedupKey) > 255 {
			errs = append(errs, "'dedup_key' is longer than 255 characters")
		}
		switch ev.EventAction {
		case "trigger":
			p := ev.Payload
			switch {
			case p == nil:
				errs = append(errs, "'payload' is missing")
			case p.Summary == "" || len(p.Summary) > 1024:
				errs = append(errs, "'payload.summary' is missing or longer than 1024")
			case p.Source == "":
				errs = append(errs, "'payload.source' is missing")
			case !slices.Contains([]string{"critical", "error", "warning", "info"}, p.Severity):
				errs = append(errs, "'payload.severity' is invalid")
			}
			if p != nil && p.Timestamp != "" {
				if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
					errs = append(errs, "'payload.timestamp' is not ISO 8601")
				}
			}
			for _, l := range ev.Links {
				if l.Href == "" {
					errs = append(errs, "a link has no href")
				}
			}
		case "acknowledge", "resolve":
			if ev.DedupKey == "" {
				errs = append(errs, "'dedup_key' is required to "+ev.EventAction)
			}
		default:
			errs = append(errs, "'event_action' is invalid")
		}
		w.Header().Set("Content-Type", "application/json")
		pd.mu.Lock()
		defer pd.mu.Unlock()
		if len(errs) > 0 {
			pd.bad = append(pd.bad, errs...)
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
			return
		}
		pd.events = append(pd.events, ev)
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
	}))
	t.Cleanup(pd.srv.Close)
	return pd
}

func (pd *pagerDuty) got() ([]alert.PagerDutyEvent, []string) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return slices.Clone(pd.events), slices.Clone(pd.bad)
}

// failures returns n failed requests of one error type at t, one app each
// in turn among apps.
func failures(at time.Time, n int, errorType string, status int, apps ...string) []*analytics.Record {
	var out []*analytics.Record
	for i := range n {
		msgN++
		out = append(out, &analytics.Record{
			Time: at, App: apps[i%len(apps)], Environment: "prod", Model: "claude-sonnet-4-6",
			Kind: analytics.KindError, ErrorType: errorType, HTTPStatus: status, RequestID: fmt.Sprintf("req_%d", msgN),
		})
	}
	return out
}

// answered returns n end_turn responses at t, one app each in turn.
func answered(at time.Time, n int, apps ...string) []*analytics.Record {
	recs := traffic(at, n, 0)
	for i, r := range recs {
		r.App = apps[i%len(apps)]
	}
	return recs
}

// The "done when": a planted 529 burst across apps pages the
// default failed-request rule exactly once, through the real evaluator on
// a real store, and PagerDuty gets a trigger then a resolve with one dedup
// key; no other default rule fires, and the rule's history holds the
// firing and the resolution with what was measured.
func TestOverloadBurstPagesPagerDutyOnce(t *testing.T) {
	apps := []string{"support", "search", "checkout"}
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	if _, err := svc.st.SeedAlertRules(ctx, alert.DefaultRules()); err != nil {
		t.Fatal(err)
	}
	pd := newPagerDuty(t)
	ch, err := svc.st.CreateAlertChannel(ctx, alert.Channel{Name: "on call", Kind: alert.ChannelPagerDuty,
		URL: pd.srv.URL + "/v2/enqueue", RoutingKey: "0123456789abcdef0123456789abcdef", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}

	// A calm day: 3 calls a minute across the apps, a 529 now and then,
	// a rate limit more often.
	var recs []*analytics.Record
	for m := 24 * 60; m > 0; m-- {
		at := t0.Add(-time.Duration(m) * time.Minute)
		recs = append(recs, answered(at, 3, apps...)...)
		if m%97 == 0 {
			recs = append(recs, failures(at, 1, "overloaded_error", 529, apps...)...)
		}
		if m%31 == 0 {
			recs = append(recs, failures(at, 1, "rate_limit_error", 429, apps...)...)
		}
	}
	insert(t, svc.st, recs)
	svc.tick(t)
	if evs, bad := pd.got(); len(evs) != 0 || len(bad) != 0 {
		t.Fatalf("calm traffic sent %+v (invalid: %v)", evs, bad)
	}

	// The burst: for 15 minutes, every 30 seconds 6 answers and 3 529s,
	// spread over the three apps.
	for range 30 {
		insert(t, svc.st, answered(clk.Now(), 6, apps...))
		insert(t, svc.st, failures(clk.Now(), 3, "overloaded_error", 529, apps...))
		clk.Add(30 * time.Second)
		svc.tick(t)
	}
	// Calm again for 40 minutes.
	for range 80 {
		insert(t, svc.st, answered(clk.Now(), 2, apps...))
		clk.Add(30 * time.Second)
		svc.tick(t)
	}

	evs, bad := pd.got()
	if len(bad) != 0 {
		t.Fatalf("PagerDuty refused events: %v", bad)
	}
	if len(evs) != 2 || evs[0].EventAction != "trigger" || evs[1].EventAction != "resolve" {
		t.Fatalf("PagerDuty got %+v, want a trigger then a resolve", evs)
	}
	if evs[0].DedupKey == "" || evs[0].DedupKey != evs[1].DedupKey {
		t.Errorf("dedup keys %q and %q, want one", evs[0].DedupKey, evs[1].DedupKey)
	}
	if evs[0].RoutingKey != ch.RoutingKey || evs[1].RoutingKey != ch.RoutingKey {
		t.Errorf("routing keys %q, %q", evs[0].RoutingKey, evs[1].RoutingKey)
	}
	p := evs[0].Payload
	if p.Severity != "critical" || p.Class != "error" || p.CustomDetails["scope"] != "*/*/* (error type overloaded_error)" {
		t.Errorf("trigger payload %+v", p)
	}
	if len(evs[0].Links) != 2 || evs[0].ClientURL == "" {
		t.Errorf("trigger links %+v, client_url %q", evs[0].Links, evs[0].ClientURL)
	}

	events, err := svc.st.ListAlertEvents(ctx, alert.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Scope.ErrorType != "overloaded_error" || events[0].Status != alert.StatusResolved {
		t.Fatalf("alert events %+v, want the overloaded burst once, resolved", events)
	}
	if want := alert.DedupKey(events[0].RuleID, events[0].Scope); evs[0].DedupKey != want {
		t.Errorf("dedup key %q, want %q", evs[0].DedupKey, want)
	}
	// It fires once the burst's 529s pass a tenth of the window's calls.
	if o := events[0].Observed; o.Num < 3 || o.Value <= 0.1 || o.Den < 10 {
		t.Errorf("observed at firing %+v", events[0].Observed)
	}
	h, err := svc.st.ListAlertHistory(ctx, events[0].RuleID, 0)
	if err != nil || len(h) != 2 || h[1].Status != alert.StatusFiring || h[0].Status != alert.StatusResolved ||
		h[1].Observed.Value <= 0.1 || h[0].Observed.Value > 0.1 || h[0].EventID != events[0].ID {
		t.Errorf("history %+v, %v", h, err)
	}
	atts, _ := svc.st.ListAlertAttempts(ctx, ch.ID, 10)
	for _, a := range atts {
		if a.HTTPStatus != http.StatusAccepted {
			t.Errorf("attempt %+v, want 202", a)
		}
	}
}

// The default failed-request rule's minimum volume: a quiet app does not
// page on a call or two, nor do other error types.
func TestOverloadRuleMinimumVolume(t *testing.T) {
	var rule alert.Rule
	for _, sd := range alert.DefaultRules() {
		if sd.Key == "overloaded_burst" {
			rule = sd.Rule
		}
	}
	for _, c := range []struct {
		name  string
		k, n  int64
		fires bool
	}{
		{"one call, failed", 1, 1, false},
		{"9 calls, all failed", 9, 9, false},
		{"10 calls, 2 failed", 2, 10, false},
		{"10 calls, 3 failed", 3, 10, true},
		{"30 calls, 3 failed (10%)", 3, 30, false},
		{"30 calls, 4 failed", 4, 30, true},
		{"1000 calls, 100 failed (10%)", 100, 1000, false},
		{"1000 calls, 101 failed", 101, 1000, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			breach, _, _, reason := rule.Evaluate(alert.Observation{Recent: analytics.Tally{K: c.k, N: c.n}})
			if breach != c.fires {
				t.Errorf("breach %v (%s), want %v", breach, reason, c.fires)
			}
		})
	}
}

// A PagerDuty test notification triggers an info event and resolves it at
// once, so that testing a channel leaves no open incident.
func TestPagerDutyTest(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	pd := newPagerDuty(t)
	ch, err := svc.st.CreateAlertChannel(ctx, alert.Channel{Name: "pd", Kind: alert.ChannelPagerDuty,
		URL: pd.srv.URL + "/v2/enqueue", RoutingKey: "testkey", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.del.SendTest(ctx, ch.ID)
	if err != nil || a.Error != "" || a.HTTPStatus != http.StatusAccepted {
		t.Fatalf("test attempt %+v, %v", a, err)
	}
	evs, bad := pd.got()
	if len(bad) != 0 || len(evs) != 2 || evs[0].EventAction != "trigger" || evs[0].Payload.Severity != "info" ||
		evs[1].EventAction != "resolve" || evs[0].DedupKey != evs[1].DedupKey {
		t.Errorf("test events %+v, invalid %v", evs, bad)
	}
}
