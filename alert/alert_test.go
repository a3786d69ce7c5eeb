package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

var ctx = context.Background()

// clock is an injectable clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hook is a local webhook receiver that answers with the statuses of
// answers in turn (the last one from then on) and keeps what it got.
type hook struct {
	mu      sync.Mutex
	answers []int
	got     []received
	srv     *httptest.Server
}

type received struct {
	body   []byte
	header http.Header
}

func newHook(t *testing.T, answers ...int) *hook {
	h := &hook{answers: answers}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		code := 200
		if len(h.answers) > 0 {
			code = h.answers[0]
			if len(h.answers) > 1 {
				h.answers = h.answers[1:]
			}
		}
		if code == 200 {
			h.got = append(h.got, received{body, r.Header.Clone()})
		}
		h.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprint(w, http.StatusText(code))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// payloads returns the generic payloads received so far.
func (h *hook) payloads(t *testing.T) []alert.Payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []alert.Payload
	for _, g := range h.got {
		var p alert.Payload
		if err := json.Unmarshal(g.body, &p); err != nil {
			t.Fatalf("payload %s: %v", g.body, err)
		}
		out = append(out, p)
	}
	return out
}

func openStore(t *testing.T, path string) *sqlstore.Store {
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// service is one stopscope process: an evaluator and a deliverer on a
// store, ticked by hand.
type service struct {
	st  *sqlstore.Store
	ev  *alert.Evaluator
	del *alert.Deliverer
}

func start(t *testing.T, path string, clk *clock) *service {
	st := openStore(t, path)
	return &service{
		st:  st,
		ev:  &alert.Evaluator{Store: st, Now: clk.Now, Interval: 30 * time.Second},
		del: &alert.Deliverer{Store: st, Now: clk.Now, BaseURL: "http://stopscope.test", Backoff: time.Second, Destinations: lab(t)},
	}
}

// tick runs one evaluation and one delivery round.
func (s *service) tick(t *testing.T) {
	t.Helper()
	if err := s.ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.del.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

var msgN int

// traffic returns n responses at t, k of them refusals.
func traffic(at time.Time, n, k int) []*analytics.Record {
	var out []*analytics.Record
	for i := range n {
		msgN++
		r := &analytics.Record{
			Time: at, App: "support", Environment: "prod", Model: "claude-sonnet-4-6",
			Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn, MessageID: fmt.Sprintf("msg_%d", msgN),
		}
		if i < k {
			r.StopReason = analytics.StopRefusal
			r.Flags = r.Flags.With(analytics.FlagRefusal)
		}
		out = append(out, r)
	}
	return out
}

func insert(t *testing.T, s store.Store, recs []*analytics.Record) {
	t.Helper()
	if err := s.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

// baseline plants a day of calm traffic before now: 2 calls a minute, one
// refusal in 50.
func baseline(t *testing.T, s store.Store, now time.Time) {
	var recs []*analytics.Record
	for m := 24 * 60; m > 0; m-- {
		k := 0
		if m%25 == 0 {
			k = 1
		}
		recs = append(recs, traffic(now.Add(-time.Duration(m)*time.Minute), 2, k)...)
	}
	insert(t, s, recs)
}

func addChannel(t *testing.T, s alert.Store, url, secret string) alert.Channel {
	c, err := s.CreateAlertChannel(ctx, alert.Channel{Name: url, Kind: alert.ChannelWebhook, URL: url, Secret: secret, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// The "done when": a planted refusal spike fires exactly one
// notification within two evaluation intervals, a restart while it fires
// sends nothing again, and its resolution sends exactly one more.
func TestSpikeFiresOnceAndResolvesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	clk := &clock{t: t0}
	svc := start(t, path, clk)
	baseline(t, svc.st, t0)
	h := newHook(t)
	addChannel(t, svc.st, h.srv.URL, "")

	// Calm: nothing fires.
	svc.tick(t)
	if n := len(h.payloads(t)); n != 0 {
		t.Fatalf("calm traffic sent %d notifications", n)
	}

	// The spike: 20 calls, half refusals, every 30 seconds.
	spikeStart := clk.Now()
	for i := 0; ; i++ {
		insert(t, svc.st, traffic(clk.Now(), 20, 10))
		clk.Add(30 * time.Second)
		svc.tick(t)
		if len(h.payloads(t)) > 0 {
			break
		}
		if clk.Now().Sub(spikeStart) > 2*svc.ev.Interval {
			t.Fatalf("no notification within two intervals of the spike")
		}
	}
	ps := h.payloads(t)
	if len(ps) != 1 || ps[0].Status != "firing" || ps[0].Version != 1 || ps[0].Metric != "refusal" {
		t.Fatalf("after the spike: %+v", ps)
	}
	if ps[0].Observed.Value <= ps[0].Baseline.Value || ps[0].Baseline.Den == 0 {
		t.Errorf("observed %+v not above baseline %+v", ps[0].Observed, ps[0].Baseline)
	}
	if !strings.HasPrefix(ps[0].Links.Records, "http://stopscope.test/responses?") || !strings.Contains(ps[0].Links.Records, "flag=refusal") {
		t.Errorf("records link %q", ps[0].Links.Records)
	}
	// Still spiking: nothing more.
	insert(t, svc.st, traffic(clk.Now(), 20, 10))
	clk.Add(30 * time.Second)
	svc.tick(t)

	// Restart while firing: a new process on the same database.
	svc.st.Close()
	svc = start(t, path, clk)
	defer svc.st.Close()
	for range 3 {
		insert(t, svc.st, traffic(clk.Now(), 20, 10))
		clk.Add(30 * time.Second)
		svc.tick(t)
	}
	if n := len(h.payloads(t)); n != 1 {
		t.Fatalf("after the restart: %d notifications, want still 1", n)
	}
	states, _ := svc.st.AlertStates(ctx)
	if len(states) != 1 {
		t.Fatalf("states: %+v", states)
	}
	for _, st := range states {
		if st.Status != alert.StatusFiring {
			t.Fatalf("after the restart the rule is %s", st.Status)
		}
	}

	// Calm again: once the spike leaves the window, it resolves, once.
	for range 40 {
		insert(t, svc.st, traffic(clk.Now(), 1, 0))
		clk.Add(30 * time.Second)
		svc.tick(t)
	}
	ps = h.payloads(t)
	if len(ps) != 2 || ps[1].Status != "resolved" || ps[1].ResolvedAt == nil || ps[1].EventID != ps[0].EventID {
		t.Fatalf("after the calm: %+v", ps)
	}
	evs, err := svc.st.ListAlertEvents(ctx, alert.EventFilter{})
	if err != nil || len(evs) != 1 || evs[0].Status != alert.StatusResolved {
		t.Errorf("events = %+v, %v", evs, err)
	}
}

// A channel that answers 500 twice and then 200 gets the message, with the
// three attempts logged, after backing off.
func TestRetries(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	baseline(t, svc.st, t0)
	h := newHook(t, 500, 500, 200)
	ch := addChannel(t, svc.st, h.srv.URL, "")
	insert(t, svc.st, traffic(clk.Now(), 40, 20))
	clk.Add(30 * time.Second)
	svc.tick(t) // fires; first attempt: 500
	atts, _ := svc.st.ListAlertAttempts(ctx, ch.ID, 10)
	if len(atts) != 1 || atts[0].HTTPStatus != 500 {
		t.Fatalf("first attempt: %+v", atts)
	}
	// Not due yet: the backoff is a second.
	if n, _ := svc.del.Tick(ctx); n != 0 {
		t.Errorf("retried before the backoff: %d", n)
	}
	clk.Add(time.Second)
	svc.del.Tick(ctx) // 500, backoff now two seconds
	clk.Add(time.Second)
	if n, _ := svc.del.Tick(ctx); n != 0 {
		t.Errorf("the backoff did not double")
	}
	clk.Add(time.Second)
	svc.del.Tick(ctx) // 200
	atts, _ = svc.st.ListAlertAttempts(ctx, ch.ID, 10)
	if len(atts) != 3 || atts[0].HTTPStatus != 200 || atts[1].HTTPStatus != 500 || atts[2].HTTPStatus != 500 || atts[0].N != 3 {
		t.Fatalf("attempts: %+v", atts)
	}
	if ps := h.payloads(t); len(ps) != 1 || ps[0].Status != "firing" {
		t.Fatalf("received %+v", ps)
	}
	ds, _ := svc.st.ListAlertDeliveries(ctx, 0, 10)
	if len(ds) != 1 || ds[0].State != alert.DeliverySent || ds[0].Attempts != 3 {
		t.Errorf("delivery: %+v", ds)
	}
	// Nothing left to send.
	clk.Add(time.Hour)
	if n, _ := svc.del.Tick(ctx); n != 0 {
		t.Errorf("sent again: %d", n)
	}
}

// A channel that never answers 2xx is given up on after MaxAttempts, and
// never holds up evaluation.
func TestGivesUp(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	svc.del.MaxAttempts = 3
	h := newHook(t, 503)
	ch := addChannel(t, svc.st, h.srv.URL, "")
	if _, err := svc.del.SendTest(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		clk.Add(time.Minute)
		svc.tick(t)
	}
	ds, _ := svc.st.ListAlertDeliveries(ctx, 0, 10)
	if len(ds) != 1 || ds[0].State != alert.DeliveryFailed || ds[0].Attempts != 3 || ds[0].LastError != "HTTP 503" {
		t.Errorf("delivery: %+v", ds)
	}
}

// Stationary traffic, random but with a constant refusal rate, fires
// nothing over half a day of evaluations.
func TestStationaryTrafficFiresNothing(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	h := newHook(t)
	addChannel(t, svc.st, h.srv.URL, "")
	rng := rand.New(rand.NewPCG(8, 30))
	// 36 hours at 2 to 40 calls a minute, each refused with probability 4%.
	var recs []*analytics.Record
	for m := range 36 * 60 {
		at := t0.Add(time.Duration(m) * time.Minute)
		n := 2 + rng.IntN(39)
		k := 0
		for range n {
			if rng.Float64() < 0.04 {
				k++
			}
		}
		recs = append(recs, traffic(at, n, k)...)
	}
	insert(t, svc.st, recs)
	clk.Add(24 * time.Hour)
	for clk.Now().Before(t0.Add(36 * time.Hour)) {
		svc.tick(t)
		clk.Add(2 * time.Minute)
	}
	if ps := h.payloads(t); len(ps) != 0 {
		t.Errorf("stationary traffic sent %+v", ps)
	}
	if evs, _ := svc.st.ListAlertEvents(ctx, alert.EventFilter{}); len(evs) != 0 {
		t.Errorf("stationary traffic fired %+v", evs)
	}
}

// A signed notification verifies with the secret, and not with another one
// or once replayed later.
func TestSignature(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	h := newHook(t)
	ch := addChannel(t, svc.st, h.srv.URL, "s3cret")
	a, err := svc.del.SendTest(ctx, ch.ID)
	if err != nil || a.HTTPStatus != 200 {
		t.Fatalf("test notification: %+v, %v", a, err)
	}
	g := h.got[0]
	ts, sig := g.header.Get(alert.HeaderTimestamp), g.header.Get(alert.HeaderSignature)
	if ts != fmt.Sprint(t0.Unix()) || !strings.HasPrefix(sig, "sha256=") {
		t.Fatalf("headers: %q %q", ts, sig)
	}
	tests := []struct {
		name   string
		secret string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"genuine", "s3cret", g.body, t0.Add(time.Minute), true},
		{"wrong secret", "other", g.body, t0, false},
		{"tampered body", "s3cret", append([]byte(" "), g.body...), t0, false},
		{"replayed later", "s3cret", g.body, t0.Add(time.Hour), false},
	}
	for _, tc := range tests {
		err := alert.Verify(tc.secret, ts, sig, tc.body, tc.now, 5*time.Minute)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	var p alert.Payload
	if err := json.Unmarshal(g.body, &p); err != nil || p.Status != "test" || p.Version != 1 {
		t.Errorf("test payload %s: %v", g.body, err)
	}
	// Without a secret, no signature.
	h2 := newHook(t)
	ch2 := addChannel(t, svc.st, h2.srv.URL, "")
	svc.del.SendTest(ctx, ch2.ID)
	if h2.got[0].header.Get(alert.HeaderSignature) != "" {
		t.Error("unsigned channel got a signature")
	}
}

// A Slack channel gets an incoming-webhook message: text and blocks.
func TestSlackPayload(t *testing.T) {
	ev := alert.Event{
		ID: 7, RuleID: 1, RuleName: "Refusals <prod>", Metric: analytics.MetricRefusal,
		Scope: analytics.Scope{App: "support"}, Condition: alert.ConditionSpike, Window: 15 * time.Minute,
		FiredAt: t0, ResolvedAt: t0.Add(time.Hour), Status: alert.StatusResolved,
		Observed: analytics.NewRate("refusal", analytics.Tally{K: 30, N: 100}),
		Baseline: analytics.NewRate("refusal", analytics.Tally{K: 2, N: 1000}),
	}
	body, err := alert.Body(alert.ChannelSlack, alert.NewPayload(ev, "resolved", "http://x"))
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.Text, "RESOLVED") || len(msg.Blocks) != 2 {
		t.Fatalf("message: %s", body)
	}
	sec, ctxb := msg.Blocks[0], msg.Blocks[1]
	if sec.Type != "section" || sec.Text == nil || sec.Text.Type != "mrkdwn" ||
		!strings.Contains(sec.Text.Text, "30.0% (30/100) vs 0.2% (2/1000) baseline") ||
		!strings.Contains(sec.Text.Text, "Refusals &lt;prod&gt;") {
		t.Errorf("section: %+v", sec.Text)
	}
	if ctxb.Type != "context" || len(ctxb.Elements) != 1 || !strings.Contains(ctxb.Elements[0].Text, "<http://x/responses?") {
		t.Errorf("context: %+v", ctxb)
	}
	if k := alert.ChannelKindOf("https://hooks.slack.com/services/T0/B0/x"); k != alert.ChannelSlack {
		t.Errorf("slack URL kind %q", k)
	}
	if k := alert.ChannelKindOf("https://example.com/hook"); k != alert.ChannelWebhook {
		t.Errorf("generic URL kind %q", k)
	}
}

// A silenced rule records its firing but sends nothing.
func TestSilenced(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	baseline(t, svc.st, t0)
	h := newHook(t)
	addChannel(t, svc.st, h.srv.URL, "")
	rules, _ := svc.st.ListAlertRules(ctx)
	r := rules[0]
	r.SilencedUntil = t0.Add(time.Hour)
	if _, err := svc.st.UpdateAlertRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	insert(t, svc.st, traffic(clk.Now(), 40, 20))
	clk.Add(30 * time.Second)
	svc.tick(t)
	evs, _ := svc.st.ListAlertEvents(ctx, alert.EventFilter{})
	if len(evs) != 1 || !evs[0].Silenced {
		t.Fatalf("events: %+v", evs)
	}
	if n := len(h.payloads(t)); n != 0 {
		t.Errorf("a silenced rule sent %d notifications", n)
	}
}
