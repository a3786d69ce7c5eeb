package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// PayloadVersion is the version of the generic JSON payload. It changes
// only when a field changes meaning or goes away; new fields may appear
// within a version.
const PayloadVersion = 1

// The signature headers, sent when a channel has a secret.
const (
	// HeaderTimestamp carries the unix time (seconds) of the attempt.
	HeaderTimestamp = "X-Stopscope-Timestamp"
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256, keyed by
	// the channel's secret, of the timestamp, a ".", and the body.
	HeaderSignature = "X-Stopscope-Signature"
)

// Payload is the generic JSON notification.
type Payload struct {
	Version int `json:"version"`
	// Status is firing, resolved, or test.
	Status     string           `json:"status"`
	Rule       PayloadRule      `json:"rule"`
	Scope      analytics.Scope  `json:"scope"`
	Metric     analytics.Metric `json:"metric"`
	Condition  Condition        `json:"condition"`
	Threshold  float64          `json:"threshold"`
	Observed   analytics.Rate   `json:"observed"`
	Baseline   analytics.Rate   `json:"baseline"`
	Window     string           `json:"window"`
	FiredAt    time.Time        `json:"fired_at"`
	ResolvedAt *time.Time       `json:"resolved_at"`
	Reason     string           `json:"reason"`
	EventID    int64            `json:"event_id,omitempty"`
	Links      PayloadLinks     `json:"links"`
}

// PayloadRule names the rule that fired.
type PayloadRule struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// PayloadLinks point into the dashboard.
type PayloadLinks struct {
	// Alert is the Alerts page, Records the responses behind the alert:
	// its scope and window, filtered to the metric's flag or stop reason.
	Alert   string `json:"alert"`
	Records string `json:"records"`
}

// NewPayload builds the generic payload of an event's transition (status
// firing or resolved), with links under baseURL.
func NewPayload(ev Event, status, baseURL string) Payload {
	p := Payload{
		Version: PayloadVersion, Status: status,
		Rule:  PayloadRule{ID: ev.RuleID, Name: ev.RuleName},
		Scope: ev.Scope, Metric: ev.Metric, Condition: ev.Condition, Threshold: ev.Threshold,
		Observed: ev.Observed, Baseline: ev.Baseline, Window: ev.Window.String(),
		FiredAt: ev.FiredAt.UTC(), Reason: ev.Reason, EventID: ev.ID,
		Links: PayloadLinks{
			Alert:   strings.TrimRight(baseURL, "/") + AlertLink(ev),
			Records: strings.TrimRight(baseURL, "/") + RecordsLink(ev),
		},
	}
	if status == string(StatusResolved) && !ev.ResolvedAt.IsZero() {
		t := ev.ResolvedAt.UTC()
		p.ResolvedAt = &t
	}
	return p
}

// AlertLink returns the path of the Alerts page with an event's rule and
// the event itself marked: the page highlights the rule's row (#rule-N)
// and the event's (#event-N), and scrolls to the event.
func AlertLink(ev Event) string {
	if ev.ID == 0 {
		return "/alerts"
	}
	return "/alerts?rule=" + strconv.FormatInt(ev.RuleID, 10) + "&event=" + strconv.FormatInt(ev.ID, 10) +
		"#event-" + strconv.FormatInt(ev.ID, 10)
}

// TestEvent is the made-up event a test notification describes.
func TestEvent(now time.Time) Event {
	r := DefaultRule()
	return Event{
		RuleName: "Test notification from stopscope", Metric: r.Metric, Condition: r.Condition,
		Threshold: r.Threshold, Window: r.Window, FiredAt: now, Status: StatusFiring,
		Reason: "this is a test: nothing is wrong",
	}
}

// RecordsLink returns the path and query of the responses behind an
// event: its scope, its window (from a window before it fired to when it
// resolved, or now if it has not), and the metric's flag, kind or stop
// reason.
func RecordsLink(ev Event) string {
	q := url.Values{}
	end := ev.ResolvedAt
	if end.IsZero() {
		end = ev.FiredAt
	}
	q.Set("from", ev.FiredAt.Add(-ev.Window).UTC().Format(time.RFC3339))
	if !ev.ResolvedAt.IsZero() {
		q.Set("to", end.UTC().Format(time.RFC3339))
	}
	for k, v := range map[string]string{"app": ev.Scope.App, "environment": ev.Scope.Environment, "model": ev.Scope.Model,
		"refusal_category": ev.Scope.RefusalCategory, "error_type": ev.Scope.ErrorType} {
		if v != "" {
			q.Set(k, v)
		}
	}
	m := ev.Metric
	if base, ok := m.Counted(); ok {
		m = base
	}
	switch m {
	case analytics.MetricRefusal:
		q.Set("flag", string(analytics.FlagRefusal))
	case analytics.MetricEmptyTurn:
		q.Set("flag", string(analytics.FlagEmptyTurn))
	case analytics.MetricTruncation:
		q.Set("flag", string(analytics.FlagTruncated))
	case analytics.MetricError:
		q.Set("kind", string(analytics.KindError))
	default:
		if r, ok := m.StopReason(); ok {
			q.Set("stop_reason", r.Key())
		}
	}
	return "/responses?" + q.Encode()
}

// slackMessage is a Slack incoming-webhook message.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn treats as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SlackPayload renders p as a Slack incoming-webhook message: a text
// fallback and blocks with the values and links.
func SlackPayload(p Payload) ([]byte, error) {
	var head string
	switch p.Status {
	case string(StatusFiring):
		head = ":rotating_light: FIRING"
	case string(StatusResolved):
		head = ":white_check_mark: RESOLVED"
	default:
		head = ":bell: TEST"
	}
	value := func(r analytics.Rate) string {
		if _, ok := p.Metric.Counted(); ok {
			return fmt.Sprintf("%d", r.Num)
		}
		return fmt.Sprintf("%.1f%% (%d/%d)", 100*r.Value, r.Num, r.Den)
	}
	text := fmt.Sprintf("%s: %s, %s on %s", head, p.Rule.Name, p.Metric, p.Scope)
	detail := fmt.Sprintf("*%s* %s\n*%s* on `%s` over %s: %s", head, slackEscape(p.Rule.Name),
		slackEscape(string(p.Metric)), slackEscape(p.Scope.String()), p.Window, value(p.Observed))
	if p.Condition == ConditionSpike {
		detail += fmt.Sprintf(" vs %s baseline", value(p.Baseline))
	}
	if p.Reason != "" {
		detail += "\n" + slackEscape(p.Reason)
	}
	ctx := fmt.Sprintf("fired %s", p.FiredAt.Format(time.RFC3339))
	if p.ResolvedAt != nil {
		ctx += fmt.Sprintf(", resolved %s", p.ResolvedAt.Format(time.RFC3339))
	}
	ctx += fmt.Sprintf(" · <%s|records> · <%s|alerts>", p.Links.Records, p.Links.Alert)
	return json.Marshal(slackMessage{
		Text: text,
		Blocks: []slackBlock{
			{Type: "section", Text: &slackText{Type: "mrkdwn", Text: detail}},
			{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: ctx}}},
		},
	})
}

// Body returns what a channel of kind is sent for p.
func Body(kind ChannelKind, p Payload) ([]byte, error) {
	if kind == ChannelSlack {
		return SlackPayload(p)
	}
	return json.Marshal(p)
}

// Sign returns the HeaderSignature value of body sent at timestamp ts
// (unix seconds) with secret.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received notification: the signature must match and the
// timestamp be within tolerance of now, so that a captured request cannot
// be replayed later. Receivers in Go can call it as it is.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s %q", HeaderTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s is %s away from now", HeaderTimestamp, d)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return fmt.Errorf("%s does not match", HeaderSignature)
	}
	return nil
}
