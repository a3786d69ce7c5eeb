package alert

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// PagerDutyEvent is an event of PagerDuty's Events API v2
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/):
// a trigger opens an incident (or adds to the open one with the same
// dedup key), a resolve closes it.
type PagerDutyEvent struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	// Payload is sent with a trigger; a resolve needs none.
	Payload   *PagerDutyPayload `json:"payload,omitempty"`
	Client    string            `json:"client,omitempty"`
	ClientURL string            `json:"client_url,omitempty"`
	Links     []PagerDutyLink   `json:"links,omitempty"`
}

// PagerDutyPayload is what a trigger says about the alert.
type PagerDutyPayload struct {
	// Summary is at most 1,024 characters, as PagerDuty requires.
	Summary string `json:"summary"`
	Source  string `json:"source"`
	// Severity is critical, error, warning or info.
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// PagerDutyLink is a link shown on the incident.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DedupKey is the PagerDuty dedup key of a rule's alert in one scope: its
// trigger and its resolve share it, so that the incident closes by itself
// when the alert resolves. The scope is the one the event recorded as it
// fired, so that an edit of the rule in between does not orphan the
// incident.
func DedupKey(ruleID int64, scope analytics.Scope) string {
	return "stopscope/rule-" + strconv.FormatInt(ruleID, 10) + "/" + scope.String()
}

// pagerDutySeverity is critical for failed requests (calls are not
// answered at all) and warning for the rates of answered calls.
func pagerDutySeverity(m analytics.Metric) string {
	if base, _ := m.Counted(); base == analytics.MetricError {
		return "critical"
	}
	return "warning"
}

// PagerDutyEvents returns the events a PagerDuty channel with routingKey is
// sent for p: a trigger on firing, a resolve on resolved, and for a test a
// trigger of severity info followed by its resolve, so that a test opens
// no incident that someone must close. source names the dashboard.
func PagerDutyEvents(p Payload, routingKey string) []PagerDutyEvent {
	key := DedupKey(p.Rule.ID, p.Scope)
	if p.Status != string(StatusFiring) && p.Status != string(StatusResolved) {
		key = "stopscope/test/" + strconv.FormatInt(p.FiredAt.UnixNano(), 10)
	}
	source := "stopscope"
	if u, err := url.Parse(p.Links.Alert); err == nil && u.Host != "" {
		source = "stopscope at " + u.Host
	}
	value := fmtPayloadValue(p, p.Observed)
	summary := fmt.Sprintf("%s: %s on %s over %s is %s", p.Rule.Name, p.Metric, p.Scope, p.Window, value)
	if p.Condition == ConditionSpike {
		summary += " vs " + fmtPayloadValue(p, p.Baseline) + " baseline"
	}
	severity := pagerDutySeverity(p.Metric)
	if p.Status != string(StatusFiring) && p.Status != string(StatusResolved) {
		summary, severity = "Test notification from stopscope: nothing is wrong", "info"
	}
	if len(summary) > 1024 {
		summary = summary[:1021] + "..."
	}
	trigger := PagerDutyEvent{
		RoutingKey: routingKey, EventAction: "trigger", DedupKey: key,
		Payload: &PagerDutyPayload{
			Summary: summary, Source: source, Severity: severity,
			Timestamp: p.FiredAt.UTC().Format(time.RFC3339),
			Component: p.Scope.App, Group: p.Scope.Environment, Class: string(p.Metric),
			CustomDetails: map[string]any{
				"rule": p.Rule.Name, "rule_id": p.Rule.ID, "event_id": p.EventID,
				"metric": p.Metric, "scope": p.Scope.String(), "condition": p.Condition,
				"threshold": p.Threshold, "window": p.Window, "observed": p.Observed,
				"baseline": p.Baseline, "reason": p.Reason,
			},
		},
		Client: "stopscope", ClientURL: p.Links.Alert,
		Links: []PagerDutyLink{{Href: p.Links.Alert, Text: "Alert in stopscope"}, {Href: p.Links.Records, Text: "Records behind the alert"}},
	}
	resolve := PagerDutyEvent{RoutingKey: routingKey, EventAction: "resolve", DedupKey: key}
	switch p.Status {
	case string(StatusFiring):
		return []PagerDutyEvent{trigger}
	case string(StatusResolved):
		return []PagerDutyEvent{resolve}
	default:
		return []PagerDutyEvent{trigger, resolve}
	}
}

// PagerDutyBodies returns the JSON bodies of PagerDutyEvents, sent in
// order.
func PagerDutyBodies(p Payload, routingKey string) ([][]byte, error) {
	var out [][]byte
	for _, ev := range PagerDutyEvents(p, routingKey) {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// fmtPayloadValue writes a rate as "12.5% (10/80)", a count as "10".
func fmtPayloadValue(p Payload, r analytics.Rate) string {
	if _, ok := p.Metric.Counted(); ok {
		return strconv.FormatInt(r.Num, 10)
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*r.Value, r.Num, r.Den)
}
