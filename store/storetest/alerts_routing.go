package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testAlertSeedsHistoryRouting covers the default rules (created once),
// the bounded history of transitions, per-rule routing and PagerDuty
// channels that share a URL.
func testAlertSeedsHistoryRouting(t *testing.T, s store.Store) {
	as := alertStore(t, s)

	// Seeds: the refusal spike came with the migrations; the rest are
	// created by the first SeedAlertRules and never again, not even after
	// a user deleted one.
	seeds := alert.DefaultRules()
	created, err := as.SeedAlertRules(ctx(), seeds)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != len(seeds)-1 {
		t.Fatalf("first seeding created %d rules, want %d (all but the refusal spike of migration 0002)", len(created), len(seeds)-1)
	}
	rules, _ := as.ListAlertRules(ctx())
	if len(rules) != len(seeds) {
		t.Fatalf("%d rules after seeding, want %d", len(rules), len(seeds))
	}
	for i, sd := range seeds {
		want := sd.Rule
		want.ID = rules[i].ID
		if rules[i] != want {
			t.Errorf("rule %d = %+v, want seed %s %+v", i, rules[i], sd.Key, want)
		}
	}
	burst := rules[1]
	if burst.Scope.ErrorType != "overloaded_error" {
		t.Fatalf("second default rule %+v, want the overloaded burst", burst)
	}
	if err := as.DeleteAlertRule(ctx(), rules[2].ID); err != nil {
		t.Fatal(err)
	}
	edited := rules[3]
	edited.Threshold = 0.2
	if _, err := as.UpdateAlertRule(ctx(), edited); err != nil {
		t.Fatal(err)
	}
	if again, err := as.SeedAlertRules(ctx(), seeds); err != nil || len(again) != 0 {
		t.Fatalf("second seeding created %+v, %v; want nothing", again, err)
	}
	if after, _ := as.ListAlertRules(ctx()); len(after) != len(seeds)-1 || after[2].Threshold != 0.2 {
		t.Errorf("rules after the second seeding: %+v", after)
	}

	// Channels: two PagerDuty services on one URL, one webhook.
	pd := func(name, key string) alert.Channel {
		c, err := as.CreateAlertChannel(ctx(), alert.Channel{Name: name, Kind: alert.ChannelPagerDuty,
			URL: alert.PagerDutyURL, RoutingKey: key, Enabled: true})
		if err != nil {
			t.Fatalf("pagerduty channel %s: %v", name, err)
		}
		return c
	}
	pdA, pdB := pd("team a", "R0UT1NGKEYA"), pd("team b", "R0UT1NGKEYB")
	if pdA.URL != alert.PagerDutyURL {
		t.Errorf("created pagerduty channel URL %q", pdA.URL)
	}
	back, err := as.GetAlertChannel(ctx(), pdB.ID)
	if err != nil || back != pdB {
		t.Errorf("pagerduty channel = %+v, %v; want %+v", back, err, pdB)
	}
	if _, err := as.CreateAlertChannel(ctx(), alert.Channel{Name: "dup", Kind: alert.ChannelPagerDuty,
		URL: alert.PagerDutyURL, RoutingKey: "R0UT1NGKEYA", Enabled: true}); errCode(err) != analytics.EConflict {
		t.Errorf("a second channel on one routing key: %v, want conflict", err)
	}
	got, made, err := as.EnsureAlertChannel(ctx(), alert.Channel{Name: "x", Kind: alert.ChannelPagerDuty,
		URL: alert.PagerDutyURL, RoutingKey: "R0UT1NGKEYA", Enabled: true})
	if err != nil || made || got.ID != pdA.ID {
		t.Errorf("ensure existing pagerduty channel = %+v, %v, %v", got, made, err)
	}
	hook, err := as.CreateAlertChannel(ctx(), alert.Channel{Name: "hook", Kind: alert.ChannelWebhook, URL: "http://127.0.0.1:1/hook", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}

	// Routing: the burst rule goes to team a only; the refusal rule to
	// every channel.
	if chs, routed, err := as.AlertRuleChannels(ctx(), burst.ID); err != nil || routed || len(chs) != 0 {
		t.Errorf("a new rule's routing = %v, %v, %v; want none", chs, routed, err)
	}
	if err := as.SetAlertRuleChannels(ctx(), burst.ID, []int64{pdA.ID, 999999}); errCode(err) != analytics.EInvalid {
		t.Errorf("routing to an unknown channel: %v, want invalid", err)
	}
	if err := as.SetAlertRuleChannels(ctx(), burst.ID, []int64{pdA.ID}); err != nil {
		t.Fatal(err)
	}
	if chs, routed, err := as.AlertRuleChannels(ctx(), burst.ID); err != nil || !routed || !slices.Equal(chs, []int64{pdA.ID}) {
		t.Errorf("routing = %v, %v, %v; want [%d]", chs, routed, err, pdA.ID)
	}
	fire := func(r alert.Rule, at time.Time) int64 {
		t.Helper()
		obs := analytics.NewRate(string(r.Metric), analytics.Tally{K: 10, N: 30})
		ev := &alert.Event{RuleID: r.ID, RuleName: r.Name, Metric: r.Metric, Scope: r.Scope, Condition: r.Condition,
			Threshold: r.Threshold, Window: r.Window, FiredAt: at, Observed: obs, Reason: "burst"}
		st := alert.State{RuleID: r.ID, Status: alert.StatusFiring, Since: at, FiredAt: at, LastEval: at, Observed: obs}
		tr := &alert.Transition{From: alert.StatusOK, To: alert.StatusFiring, At: at, Observed: obs, Reason: "burst"}
		if err := as.ApplyAlertUpdate(ctx(), alert.Update{State: st, Fire: ev, Notify: true, Transition: tr}); err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	resolve := func(r alert.Rule, event int64, at time.Time) {
		t.Helper()
		obs := analytics.NewRate(string(r.Metric), analytics.Tally{K: 0, N: 30})
		st := alert.State{RuleID: r.ID, Status: alert.StatusResolved, Since: at, ResolvedAt: at, LastEval: at, EventID: event, Observed: obs}
		tr := &alert.Transition{From: alert.StatusFiring, To: alert.StatusResolved, At: at, Observed: obs, Reason: "calm"}
		if err := as.ApplyAlertUpdate(ctx(), alert.Update{State: st, Resolve: at, Notify: true, Transition: tr}); err != nil {
			t.Fatal(err)
		}
	}
	channelsOf := func(event int64) []int64 {
		ds, err := as.ListAlertDeliveries(ctx(), event, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, d := range ds {
			out = append(out, d.ChannelID)
		}
		slices.Sort(out)
		return out
	}
	ev1 := fire(burst, t0)
	if got := channelsOf(ev1); !slices.Equal(got, []int64{pdA.ID}) {
		t.Errorf("routed firing went to %v, want [%d]", got, pdA.ID)
	}
	refusal := rules[0]
	ev2 := fire(refusal, t0)
	if got := channelsOf(ev2); !slices.Equal(got, []int64{pdA.ID, pdB.ID, hook.ID}) {
		t.Errorf("unrouted firing went to %v, want every channel", got)
	}
	resolve(burst, ev1, t0.Add(10*time.Minute))
	if got := channelsOf(ev1); !slices.Equal(got, []int64{pdA.ID, pdA.ID}) {
		t.Errorf("routed firing and resolution went to %v", got)
	}

	// History: firing then resolved, newest first, with the values.
	h, err := as.ListAlertHistory(ctx(), burst.ID, 10)
	if err != nil || len(h) != 2 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	if h[0].Status != alert.StatusResolved || h[1].Status != alert.StatusFiring || h[1].From != alert.StatusOK ||
		h[0].EventID != ev1 || !h[1].At.Equal(t0) || h[1].Observed.Num != 10 || h[0].Observed.Num != 0 || h[0].Reason != "calm" {
		t.Errorf("history = %+v", h)
	}
	// Bounded: after many more transitions only the newest HistoryLimit stay.
	at := t0.Add(time.Hour)
	for i := range alert.HistoryLimit/2 + 5 {
		ev := fire(burst, at)
		resolve(burst, ev, at.Add(time.Minute))
		at = at.Add(time.Duration(i+2) * time.Hour)
	}
	h, err = as.ListAlertHistory(ctx(), burst.ID, 0)
	if err != nil || len(h) != alert.HistoryLimit {
		t.Fatalf("history after many transitions: %d entries, %v; want %d", len(h), err, alert.HistoryLimit)
	}
	if h[0].Status != alert.StatusResolved || !h[0].At.Equal(at.Add(-time.Duration(alert.HistoryLimit/2+5+1)*time.Hour).Add(time.Minute)) {
		t.Errorf("newest history entry %+v", h[0])
	}
	if h2, _ := as.ListAlertHistory(ctx(), refusal.ID, 0); len(h2) != 1 {
		t.Errorf("another rule's history: %+v", h2)
	}

	// Deleting the routed channel leaves the rule routed to nothing: it
	// never falls back to paging everyone.
	if err := as.DeleteAlertChannel(ctx(), pdA.ID); err != nil {
		t.Fatal(err)
	}
	if chs, routed, _ := as.AlertRuleChannels(ctx(), burst.ID); !routed || len(chs) != 0 {
		t.Errorf("after deleting its channel the rule is routed=%v to %v", routed, chs)
	}
	ev3 := fire(burst, at.Add(time.Hour))
	if got := channelsOf(ev3); len(got) != 0 {
		t.Errorf("a rule routed to a deleted channel notified %v", got)
	}
	// Unrouting sends to all again; deleting the rule drops history and routing.
	if err := as.SetAlertRuleChannels(ctx(), burst.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, routed, _ := as.AlertRuleChannels(ctx(), burst.ID); routed {
		t.Error("still routed after unrouting")
	}
	if err := as.DeleteAlertRule(ctx(), burst.ID); err != nil {
		t.Fatal(err)
	}
	if h, _ := as.ListAlertHistory(ctx(), burst.ID, 0); len(h) != 0 {
		t.Errorf("history after deleting the rule: %d entries", len(h))
	}
	if _, _, err := as.AlertRuleChannels(ctx(), burst.ID); errCode(err) != analytics.ENotFound {
		t.Errorf("routing of a deleted rule: %v", err)
	}
}
