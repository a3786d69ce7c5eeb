package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store/sqlite"
)

// A PagerDuty channel is made through the API (its URL defaulting to
// PagerDuty's, its routing key never sent back), a rule is routed to it,
// and the link of a notification opens the Alerts page with the rule and
// the alert marked; the rule's page shows its history with the values.
func TestAlertPagesPagerDutyRoutingHistory(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := func() time.Time { return now }
	s := &Server{Store: st, Now: clock, Alerts: st}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	send := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := send("POST", "/api/v1/alert-channels", `{"kind":"pagerduty","name":"on call","routing_key":"R0UTINGKEY0123456789"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"url":"https://events.pagerduty.com/v2/enqueue"`) ||
		!strings.Contains(body, `"has_routing_key":true`) || strings.Contains(body, "R0UTINGKEY") {
		t.Fatalf("create pagerduty channel: %d %s", code, body)
	}
	var ch struct{ ID int64 }
	json.Unmarshal([]byte(body), &ch)
	if code, body := send("POST", "/api/v1/alert-channels", `{"kind":"pagerduty","name":"no key"}`); code != 400 || !strings.Contains(body, "routing_key") {
		t.Errorf("pagerduty channel without a key: %d %s", code, body)
	}

	code, body = send("POST", "/api/v1/alert-rules", `{"name":"529s","metric":"error","scope":{"error_type":"overloaded_error"},
"condition":"threshold","threshold":0.1,"window":"15m","min_volume":10,"min_events":3,"channels":[`+itoa(ch.ID)+`]}`)
	if code != http.StatusCreated || !strings.Contains(body, `"routed":true,"channels":[`+itoa(ch.ID)+`]`) ||
		!strings.Contains(body, `"error_type":"overloaded_error"`) {
		t.Fatalf("create routed rule: %d %s", code, body)
	}
	var rule struct{ ID int64 }
	json.Unmarshal([]byte(body), &rule)
	if code, body := send("POST", "/api/v1/alert-rules", `{"name":"x","metric":"refusal","scope":{"error_type":"overloaded_error"}}`); code != 400 || !strings.Contains(body, "scope.error_type") {
		t.Errorf("error type on a refusal rule: %d %s", code, body)
	}
	if code, body := send("PUT", "/api/v1/alert-rules/"+itoa(rule.ID), `{"channels":[424242]}`); code != 400 || !strings.Contains(body, "channels") {
		t.Errorf("routing to a missing channel: %d %s", code, body)
	}

	// A firing and its resolution, as the evaluator writes them.
	r, _ := st.GetAlertRule(ctx, rule.ID)
	obs := analytics.NewRate("error", analytics.Tally{K: 12, N: 40})
	ev := &alert.Event{RuleID: r.ID, RuleName: r.Name, Metric: r.Metric, Scope: r.Scope, Condition: r.Condition,
		Threshold: r.Threshold, Window: r.Window, FiredAt: now, Observed: obs, Reason: "30.0% (12/40) > 10.0%"}
	fired := alert.State{RuleID: r.ID, Status: alert.StatusFiring, Since: now, FiredAt: now, LastEval: now, Observed: obs}
	if err := st.ApplyAlertUpdate(ctx, alert.Update{State: fired, Fire: ev, Notify: true,
		Transition: &alert.Transition{From: alert.StatusOK, To: alert.StatusFiring, At: now, Observed: obs, Reason: ev.Reason}}); err != nil {
		t.Fatal(err)
	}
	_, page := send("GET", "/alerts?rule="+itoa(rule.ID)+"&event="+itoa(ev.ID), "")
	for _, want := range []string{
		`id="rule-` + itoa(rule.ID) + `" class="highlight"`,
		`id="event-` + itoa(ev.ID) + `" class="highlight"`,
		`class="alert-state alert-firing"`,
		`routing key set`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the Alerts page lacks %s", want)
		}
	}
	link := alert.AlertLink(*ev)
	if !strings.HasPrefix(link, "/alerts?rule="+itoa(rule.ID)+"&event="+itoa(ev.ID)) || !strings.HasSuffix(link, "#event-"+itoa(ev.ID)) {
		t.Errorf("alert link %q", link)
	}

	later := now.Add(20 * time.Minute)
	calm := analytics.NewRate("error", analytics.Tally{K: 0, N: 35})
	resolved := alert.State{RuleID: r.ID, Status: alert.StatusResolved, Since: later, FiredAt: now, ResolvedAt: later,
		LastEval: later, EventID: ev.ID, Observed: calm, Reason: "0.0% (0/35) <= 10.0%"}
	if err := st.ApplyAlertUpdate(ctx, alert.Update{State: resolved, Resolve: later, Notify: true,
		Transition: &alert.Transition{From: alert.StatusFiring, To: alert.StatusResolved, At: later, Observed: calm, Reason: resolved.Reason}}); err != nil {
		t.Fatal(err)
	}
	code, page = send("GET", "/alerts/rules/"+itoa(rule.ID)+"?event="+itoa(ev.ID), "")
	if code != 200 {
		t.Fatalf("rule page: %d", code)
	}
	for _, want := range []string{
		"30.0% (12/40)", "0.0% (0/35)", now.UTC().Format("2006-01-02 15:04:05"), later.UTC().Format("2006-01-02 15:04:05"),
		`class="alert-state alert-resolved"`, "on call (pagerduty)", `id="event-` + itoa(ev.ID) + `" class="highlight"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the rule page lacks %q", want)
		}
	}
	if i, j := strings.Index(page, "0.0% (0/35)"), strings.Index(page, "30.0% (12/40)"); i < 0 || j < 0 || i > j {
		t.Errorf("history not newest first")
	}
	if code, _ := send("GET", "/alerts/rules/999", ""); code != 404 {
		t.Errorf("missing rule page: %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
