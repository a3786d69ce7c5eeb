package storetest

import (
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

func alertStore(t *testing.T, s store.Store) alert.Store {
	t.Helper()
	as, ok := s.(alert.Store)
	if !ok {
		t.Fatalf("%T does not implement alert.Store", s)
	}
	return as
}

// testAlertRules covers the default rule and rule CRUD.
func testAlertRules(t *testing.T, s store.Store) {
	as := alertStore(t, s)
	rules, err := as.ListAlertRules(ctx())
	if err != nil {
		t.Fatal(err)
	}
	def := alert.DefaultRule()
	if len(rules) != 1 {
		t.Fatalf("a new store has %d rules, want the default one", len(rules))
	}
	got := rules[0]
	def.ID = got.ID
	if got != def {
		t.Errorf("default rule = %+v, want %+v", got, def)
	}

	bad := alert.DefaultRule()
	bad.Metric = "nonsense"
	if _, err := as.CreateAlertRule(ctx(), bad); errCode(err) != analytics.EInvalid {
		t.Errorf("invalid rule: err %v, want invalid", err)
	}
	r := alert.Rule{
		Name: "truncation in checkout", Metric: analytics.MetricTruncation,
		Scope: analytics.Scope{App: "checkout", Environment: "prod", Model: "m"}, Condition: alert.ConditionThreshold,
		Threshold: 0.2, Window: 5 * time.Minute, MinVolume: 10, For: 2 * time.Minute, Cooldown: time.Hour,
		SilencedUntil: t0.Add(time.Hour), Enabled: true, Created: t0, Updated: t0,
	}
	r, err = as.CreateAlertRule(ctx(), r)
	if err != nil || r.ID == 0 {
		t.Fatalf("create: %v, id %d", err, r.ID)
	}
	back, err := as.GetAlertRule(ctx(), r.ID)
	if err != nil || back != r {
		t.Errorf("get = %+v, %v; want %+v", back, err, r)
	}
	r.Threshold, r.Enabled, r.SilencedUntil, r.Updated = 0.3, false, time.Time{}, t0.Add(time.Minute)
	if back, err = as.UpdateAlertRule(ctx(), r); err != nil || back != r {
		t.Errorf("update = %+v, %v; want %+v", back, err, r)
	}
	// A rule scoped to a refusal category keeps it.
	r.Metric, r.Scope.RefusalCategory, r.Updated = analytics.MetricRefusal, "cyber", t0.Add(2*time.Minute)
	if back, err = as.UpdateAlertRule(ctx(), r); err != nil || back != r {
		t.Errorf("update with a refusal category = %+v, %v; want %+v", back, err, r)
	}
	if back, err = as.GetAlertRule(ctx(), r.ID); err != nil || back != r {
		t.Errorf("get with a refusal category = %+v, %v; want %+v", back, err, r)
	}
	missing := r
	missing.ID = 1 << 40
	if _, err := as.UpdateAlertRule(ctx(), missing); errCode(err) != analytics.ENotFound {
		t.Errorf("update missing: %v", err)
	}
	if err := as.DeleteAlertRule(ctx(), def.ID); err != nil {
		t.Fatal(err)
	}
	if err := as.DeleteAlertRule(ctx(), def.ID); errCode(err) != analytics.ENotFound {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := as.GetAlertRule(ctx(), def.ID); errCode(err) != analytics.ENotFound {
		t.Errorf("get deleted: %v", err)
	}
	rules, _ = as.ListAlertRules(ctx())
	if len(rules) != 1 || rules[0].ID != r.ID {
		t.Errorf("rules after delete: %+v", rules)
	}
}

// testAlertChannels covers channel CRUD and EnsureAlertChannel.
func testAlertChannels(t *testing.T, s store.Store) {
	as := alertStore(t, s)
	for _, c := range []alert.Channel{
		{Name: "", Kind: alert.ChannelWebhook, URL: "http://x"},
		{Name: "a", Kind: "email", URL: "http://x"},
		{Name: "a", Kind: alert.ChannelWebhook, URL: "ftp://x"},
	} {
		if _, err := as.CreateAlertChannel(ctx(), c); errCode(err) != analytics.EInvalid {
			t.Errorf("create %+v: %v, want invalid", c, err)
		}
	}
	c := alert.Channel{Name: "ops", Kind: alert.ChannelWebhook, URL: "https://example.com/hook", Secret: "s3", Enabled: true, Created: t0, Updated: t0}
	c, err := as.CreateAlertChannel(ctx(), c)
	if err != nil || c.ID == 0 {
		t.Fatalf("create: %v", err)
	}
	if _, err := as.CreateAlertChannel(ctx(), c); errCode(err) != analytics.EConflict {
		t.Errorf("same URL again: %v, want conflict", err)
	}
	got, created, err := as.EnsureAlertChannel(ctx(), alert.Channel{Name: "other", Kind: alert.ChannelSlack, URL: c.URL, Enabled: true})
	if err != nil || created || got != c {
		t.Errorf("ensure existing = %+v, %v, %v; want %+v", got, created, err, c)
	}
	slack, created, err := as.EnsureAlertChannel(ctx(), alert.Channel{Name: "slack", Kind: alert.ChannelSlack, URL: "https://hooks.slack.com/services/T/B/X", Enabled: true})
	if err != nil || !created || slack.ID == 0 {
		t.Errorf("ensure new = %+v, %v, %v", slack, created, err)
	}
	c.Name, c.Enabled, c.Updated = "ops2", false, t0.Add(time.Minute)
	if got, err = as.UpdateAlertChannel(ctx(), c); err != nil || got != c {
		t.Errorf("update = %+v, %v; want %+v", got, err, c)
	}
	dup := c
	dup.URL = slack.URL
	if _, err := as.UpdateAlertChannel(ctx(), dup); errCode(err) != analytics.EConflict {
		t.Errorf("update onto a used URL: %v", err)
	}
	list, err := as.ListAlertChannels(ctx())
	if err != nil || len(list) != 2 || list[0] != c || list[1] != slack {
		t.Errorf("list = %+v, %v", list, err)
	}
	if err := as.DeleteAlertChannel(ctx(), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := as.GetAlertChannel(ctx(), c.ID); errCode(err) != analytics.ENotFound {
		t.Errorf("get deleted: %v", err)
	}
}

// testAlertFlow covers state, events and the outbox through one firing
// and its resolution.
func testAlertFlow(t *testing.T, s store.Store) {
	as := alertStore(t, s)
	rules, _ := as.ListAlertRules(ctx())
	rule := rules[0]
	on, err := as.CreateAlertChannel(ctx(), alert.Channel{Name: "on", Kind: alert.ChannelWebhook, URL: "http://127.0.0.1:1/on", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.CreateAlertChannel(ctx(), alert.Channel{Name: "off", Kind: alert.ChannelWebhook, URL: "http://127.0.0.1:1/off"}); err != nil {
		t.Fatal(err)
	}
	obs := analytics.NewRate("refusal", analytics.Tally{K: 20, N: 100})
	scope := rule.Scope
	scope.RefusalCategory = "bio" // an event keeps the scope it fired on
	fire := &alert.Event{
		RuleID: rule.ID, RuleName: rule.Name, Metric: rule.Metric, Scope: scope, Condition: rule.Condition,
		Threshold: rule.Threshold, Window: rule.Window, FiredAt: t0, Observed: obs, Reason: "spike",
	}
	st := alert.State{RuleID: rule.ID, Status: alert.StatusFiring, Since: t0, FiredAt: t0, LastEval: t0, Observed: obs, Reason: "spike"}
	if err := as.ApplyAlertUpdate(ctx(), alert.Update{State: st, Fire: fire, Notify: true}); err != nil {
		t.Fatal(err)
	}
	if fire.ID == 0 {
		t.Fatal("ApplyAlertUpdate did not set the event ID")
	}
	states, err := as.AlertStates(ctx())
	st.EventID = fire.ID
	if err != nil || states[rule.ID] != st {
		t.Errorf("state = %+v, %v; want %+v", states[rule.ID], err, st)
	}
	ev, err := as.GetAlertEvent(ctx(), fire.ID)
	fire.Status = alert.StatusFiring
	if err != nil || ev != *fire {
		t.Errorf("event = %+v, %v; want %+v", ev, err, *fire)
	}

	// One delivery, to the enabled channel only; leased once claimed.
	ds, err := as.ClaimAlertDeliveries(ctx(), t0, time.Minute, 10)
	if err != nil || len(ds) != 1 || ds[0].ChannelID != on.ID || ds[0].EventID != fire.ID || ds[0].Status != "firing" {
		t.Fatalf("claim = %+v, %v", ds, err)
	}
	if again, _ := as.ClaimAlertDeliveries(ctx(), t0.Add(time.Second), time.Minute, 10); len(again) != 0 {
		t.Errorf("a leased delivery was claimed again: %+v", again)
	}
	a := alert.Attempt{DeliveryID: ds[0].ID, ChannelID: on.ID, N: 1, At: t0, Duration: time.Millisecond, HTTPStatus: 500}
	if _, err := as.RecordAlertAttempt(ctx(), a, alert.DeliveryPending, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if due, _ := as.ClaimAlertDeliveries(ctx(), t0.Add(time.Second), time.Minute, 10); len(due) != 0 {
		t.Errorf("claimed before its retry time: %+v", due)
	}
	ds, _ = as.ClaimAlertDeliveries(ctx(), t0.Add(2*time.Second), time.Minute, 10)
	if len(ds) != 1 || ds[0].Attempts != 1 || ds[0].LastError != "HTTP 500" {
		t.Fatalf("retry claim = %+v", ds)
	}
	a.N, a.At, a.HTTPStatus = 2, t0.Add(2*time.Second), 200
	if _, err := as.RecordAlertAttempt(ctx(), a, alert.DeliverySent, time.Time{}); err != nil {
		t.Fatal(err)
	}
	atts, err := as.ListAlertAttempts(ctx(), on.ID, 10)
	if err != nil || len(atts) != 2 || atts[0].N != 2 || atts[0].HTTPStatus != 200 || atts[1].HTTPStatus != 500 || atts[0].Status != "firing" {
		t.Errorf("attempts = %+v, %v", atts, err)
	}

	// Resolution: the event closes, one more delivery.
	st.Status, st.Since, st.ResolvedAt, st.LastEval = alert.StatusResolved, t0.Add(time.Hour), t0.Add(time.Hour), t0.Add(time.Hour)
	if err := as.ApplyAlertUpdate(ctx(), alert.Update{State: st, Resolve: t0.Add(time.Hour), Notify: true}); err != nil {
		t.Fatal(err)
	}
	// Applying it twice enqueues nothing more.
	if err := as.ApplyAlertUpdate(ctx(), alert.Update{State: st, Resolve: t0.Add(time.Hour), Notify: true}); err != nil {
		t.Fatal(err)
	}
	ev, _ = as.GetAlertEvent(ctx(), fire.ID)
	if ev.Status != alert.StatusResolved || !ev.ResolvedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("resolved event = %+v", ev)
	}
	ds, _ = as.ClaimAlertDeliveries(ctx(), t0.Add(time.Hour), time.Minute, 10)
	if len(ds) != 1 || ds[0].Status != "resolved" {
		t.Errorf("resolved deliveries = %+v", ds)
	}
	all, _ := as.ListAlertDeliveries(ctx(), fire.ID, 10)
	if len(all) != 2 || all[1].State != alert.DeliverySent {
		t.Errorf("deliveries of the event = %+v", all)
	}
	if evs, _ := as.ListAlertEvents(ctx(), alert.EventFilter{Status: alert.StatusFiring}); len(evs) != 0 {
		t.Errorf("firing events after resolution: %+v", evs)
	}
	if evs, _ := as.ListAlertEvents(ctx(), alert.EventFilter{RuleID: rule.ID}); len(evs) != 1 {
		t.Errorf("events of the rule: %+v", evs)
	}

	// A test delivery has no event.
	d, err := as.EnqueueAlertDelivery(ctx(), alert.Delivery{ChannelID: on.ID, Status: "test", Created: t0})
	if err != nil || d.ID == 0 {
		t.Fatalf("enqueue test: %v", err)
	}

	// Deleting the rule drops its state but keeps its events.
	if err := as.DeleteAlertRule(ctx(), rule.ID); err != nil {
		t.Fatal(err)
	}
	if states, _ := as.AlertStates(ctx()); len(states) != 0 {
		t.Errorf("states after deleting the rule: %+v", states)
	}
	if _, err := as.GetAlertEvent(ctx(), fire.ID); err != nil {
		t.Errorf("event after deleting the rule: %v", err)
	}
	// Deleting a channel drops its deliveries and attempts.
	if err := as.DeleteAlertChannel(ctx(), on.ID); err != nil {
		t.Fatal(err)
	}
	if atts, _ := as.ListAlertAttempts(ctx(), 0, 10); len(atts) != 0 {
		t.Errorf("attempts after deleting the channel: %+v", atts)
	}
}

// testEvaluatorLock checks that the lock can be taken, released and taken
// again. Whether a second holder is refused depends on the engine: the
// postgres tests check it.
func testEvaluatorLock(t *testing.T, s store.Store) {
	as := alertStore(t, s)
	release, ok, err := as.TryEvaluatorLock(ctx())
	if err != nil || !ok {
		t.Fatalf("first lock: %v, %v", ok, err)
	}
	release()
	release, ok, err = as.TryEvaluatorLock(ctx())
	if err != nil || !ok {
		t.Fatalf("lock after release: %v, %v", ok, err)
	}
	release()
}
