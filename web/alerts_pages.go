package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
)

// alertsData is what the Alerts page shows.
type alertsData struct {
	Rules    []ruleRow
	Events   []alert.Event
	Channels []channelRow
	// Event is the event a link (?event=N) points at, 0 for none; Rule
	// the rule (?rule=N).
	Event int64
	Rule  int64
	// ChannelList is every channel, for the rule forms' routing.
	ChannelList []alert.Channel
}

type ruleRow struct {
	Rule  alert.Rule
	State alert.State
	// Routed lists the channels the rule is routed to (nil: all).
	Routed []int64
}

// rulePageData is what a rule's page shows.
type rulePageData struct {
	Rule     alert.Rule
	State    alert.State
	Routed   bool
	RoutedTo []alert.Channel
	History  []alert.HistoryEntry
	Events   []alert.Event
	Event    int64
}

type channelRow struct {
	Channel  alert.Channel
	Attempts []alert.Attempt
}

// metricChoices are offered in the rule forms; any other metric can be set
// through the API.
var metricChoices = []string{"refusal", "empty_turn", "truncation", "error", "stop_reason:max_tokens", "stop_reason:null",
	"count:refusal", "count:empty_turn", "count:truncation", "count:error"}

func (s *Server) pageAlerts(c echo.Context) error {
	ctx := c.Request().Context()
	var d alertsData
	rules, err := s.Alerts.ListAlertRules(ctx)
	if err != nil {
		return err
	}
	states, err := s.Alerts.AlertStates(ctx)
	if err != nil {
		return err
	}
	for _, r := range rules {
		st := states[r.ID]
		if st.Status == "" {
			st.Status = alert.StatusOK
		}
		routed, _, err := s.Alerts.AlertRuleChannels(ctx, r.ID)
		if err != nil {
			return err
		}
		d.Rules = append(d.Rules, ruleRow{r, st, routed})
	}
	if d.Events, err = s.Alerts.ListAlertEvents(ctx, alert.EventFilter{Limit: 50}); err != nil {
		return err
	}
	chs, err := s.Alerts.ListAlertChannels(ctx)
	if err != nil {
		return err
	}
	d.ChannelList = chs
	for _, ch := range chs {
		atts, err := s.Alerts.ListAlertAttempts(ctx, ch.ID, 5)
		if err != nil {
			return err
		}
		d.Channels = append(d.Channels, channelRow{ch, atts})
	}
	d.Event, _ = strconv.ParseInt(c.QueryParam("event"), 10, 64)
	d.Rule, _ = strconv.ParseInt(c.QueryParam("rule"), 10, 64)
	return render(c, http.StatusOK, alertsPage(d))
}

// pageAlertRule shows one rule: its state, routing, history and events.
func (s *Server) pageAlertRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := rulePageData{}
	if d.Rule, err = s.Alerts.GetAlertRule(ctx, id); err != nil {
		return err
	}
	states, err := s.Alerts.AlertStates(ctx)
	if err != nil {
		return err
	}
	if d.State = states[id]; d.State.Status == "" {
		d.State.Status = alert.StatusOK
	}
	ids, routed, err := s.Alerts.AlertRuleChannels(ctx, id)
	if err != nil {
		return err
	}
	d.Routed = routed
	for _, cid := range ids {
		ch, err := s.Alerts.GetAlertChannel(ctx, cid)
		if err != nil {
			return err
		}
		d.RoutedTo = append(d.RoutedTo, ch)
	}
	if d.History, err = s.Alerts.ListAlertHistory(ctx, id, alert.HistoryLimit); err != nil {
		return err
	}
	if d.Events, err = s.Alerts.ListAlertEvents(ctx, alert.EventFilter{RuleID: id, Limit: 50}); err != nil {
		return err
	}
	d.Event, _ = strconv.ParseInt(c.QueryParam("event"), 10, 64)
	return render(c, http.StatusOK, alertRulePage(d))
}

func backToAlerts(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/alerts")
}

// ruleFromForm sets the fields of r a rule form sent; a bad value is an
// EInvalid error naming its field.
func ruleFromForm(c echo.Context, r *alert.Rule) error {
	f, err := c.FormParams()
	if err != nil {
		return analytics.Errorf(analytics.EInvalid, "bad form: %v", err)
	}
	str := func(k string, dst *string) {
		if f.Has(k) {
			*dst = strings.TrimSpace(f.Get(k))
		}
	}
	str("name", &r.Name)
	str("app", &r.Scope.App)
	str("environment", &r.Scope.Environment)
	str("model", &r.Scope.Model)
	str("refusal_category", &r.Scope.RefusalCategory)
	str("error_type", &r.Scope.ErrorType)
	if f.Has("metric") {
		r.Metric = analytics.Metric(f.Get("metric"))
	}
	if f.Has("condition") {
		r.Condition = alert.Condition(f.Get("condition"))
	}
	if f.Has("threshold") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f.Get("threshold")), 64)
		if err != nil {
			return analytics.Errorf(analytics.EInvalid, "field threshold: %q is not a number", f.Get("threshold"))
		}
		r.Threshold = v
	}
	if f.Has("min_volume") {
		v, err := strconv.ParseInt(strings.TrimSpace(f.Get("min_volume")), 10, 64)
		if err != nil {
			return analytics.Errorf(analytics.EInvalid, "field min_volume: %q is not a whole number", f.Get("min_volume"))
		}
		r.MinVolume = v
	}
	if f.Has("min_events") {
		v, err := strconv.ParseInt(strings.TrimSpace(f.Get("min_events")), 10, 64)
		if err != nil {
			return analytics.Errorf(analytics.EInvalid, "field min_events: %q is not a whole number", f.Get("min_events"))
		}
		r.MinEvents = v
	}
	for _, d := range []struct {
		k   string
		dst *int64
	}{{"window", (*int64)(&r.Window)}, {"baseline", (*int64)(&r.Baseline)}, {"for", (*int64)(&r.For)}, {"cooldown", (*int64)(&r.Cooldown)}} {
		if !f.Has(d.k) {
			continue
		}
		v, err := alert.ParseDuration(f.Get(d.k))
		if err != nil {
			return analytics.Errorf(analytics.EInvalid, "field %s: %v", d.k, err)
		}
		*d.dst = int64(v)
	}
	// A checkbox is absent when unticked; the forms send enabled_set.
	if f.Has("enabled_set") {
		r.Enabled = f.Get("enabled") != ""
	}
	return nil
}

// routingFromForm reads the routing checkboxes: set is false when the form
// had none (no channel exists), and no box ticked is every channel.
func routingFromForm(c echo.Context) (chs []int64, set bool, err error) {
	f, err := c.FormParams()
	if err != nil || !f.Has("channels_set") {
		return nil, false, nil
	}
	for _, v := range f["channel"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false, analytics.Errorf(analytics.EInvalid, "field channel: %q is not a channel id", v)
		}
		chs = append(chs, id)
	}
	return chs, true, nil
}

func (s *Server) formCreateRule(c echo.Context) error {
	r := alert.DefaultRule()
	if err := ruleFromForm(c, &r); err != nil {
		return err
	}
	chs, set, err := routingFromForm(c)
	if err != nil {
		return err
	}
	r.Created, r.Updated = s.Now().UTC(), s.Now().UTC()
	ctx := c.Request().Context()
	if r, err = s.Alerts.CreateAlertRule(ctx, r); err != nil {
		return err
	}
	if set {
		if err := s.Alerts.SetAlertRuleChannels(ctx, r.ID, chs); err != nil {
			_ = s.Alerts.DeleteAlertRule(ctx, r.ID)
			return err
		}
	}
	return backToAlerts(c)
}

func (s *Server) formUpdateRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	r, err := s.Alerts.GetAlertRule(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := ruleFromForm(c, &r); err != nil {
		return err
	}
	chs, set, err := routingFromForm(c)
	if err != nil {
		return err
	}
	r.Updated = s.Now().UTC()
	if err := r.Validate(); err != nil {
		return err
	}
	if set {
		if err := s.Alerts.SetAlertRuleChannels(c.Request().Context(), id, chs); err != nil {
			return err
		}
	}
	if _, err := s.Alerts.UpdateAlertRule(c.Request().Context(), r); err != nil {
		return err
	}
	return backToAlerts(c)
}

// formSilenceRule silences a rule for the duration in "for" from now;
// "0" lifts the silence.
func (s *Server) formSilenceRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	d, err := alert.ParseDuration(c.FormValue("for"))
	if err != nil || d < 0 {
		return analytics.Errorf(analytics.EInvalid, "field for: %q is not a duration such as 1h", c.FormValue("for"))
	}
	r, err := s.Alerts.GetAlertRule(c.Request().Context(), id)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	r.SilencedUntil, r.Updated = now.Add(d), now
	if d == 0 {
		r.SilencedUntil = time.Time{}
	}
	if _, err := s.Alerts.UpdateAlertRule(c.Request().Context(), r); err != nil {
		return err
	}
	return backToAlerts(c)
}

func (s *Server) formDeleteRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	if err := s.Alerts.DeleteAlertRule(c.Request().Context(), id); err != nil {
		return err
	}
	return backToAlerts(c)
}

func channelFromForm(c echo.Context) (channelInput, error) {
	f, err := c.FormParams()
	if err != nil {
		return channelInput{}, analytics.Errorf(analytics.EInvalid, "bad form: %v", err)
	}
	var in channelInput
	for _, p := range []struct {
		k   string
		dst **string
	}{{"name", &in.Name}, {"kind", &in.Kind}, {"url", &in.URL}} {
		if f.Has(p.k) {
			v := f.Get(p.k)
			*p.dst = &v
		}
	}
	// An empty secret field leaves the secret as it is; clear_secret
	// removes it.
	if v := f.Get("secret"); v != "" {
		in.Secret = &v
	} else if f.Get("clear_secret") != "" {
		empty := ""
		in.Secret = &empty
	}
	// Like the secret, an empty routing key field keeps the key.
	if v := strings.TrimSpace(f.Get("routing_key")); v != "" {
		in.RoutingKey = &v
	}
	if f.Has("enabled_set") {
		on := f.Get("enabled") != ""
		in.Enabled = &on
	}
	return in, nil
}

func (s *Server) formCreateChannel(c echo.Context) error {
	in, err := channelFromForm(c)
	if err != nil {
		return err
	}
	if in.Kind != nil && *in.Kind == "" {
		in.Kind = nil
	}
	if _, err := s.createChannel(c.Request().Context(), in); err != nil {
		return err
	}
	return backToAlerts(c)
}

func (s *Server) formUpdateChannel(c echo.Context) error {
	id, err := pathID(c, "alert channel")
	if err != nil {
		return err
	}
	in, err := channelFromForm(c)
	if err != nil {
		return err
	}
	if _, err := s.updateChannel(c.Request().Context(), id, in); err != nil {
		return err
	}
	return backToAlerts(c)
}

func (s *Server) formDeleteChannel(c echo.Context) error {
	id, err := pathID(c, "alert channel")
	if err != nil {
		return err
	}
	if err := s.Alerts.DeleteAlertChannel(c.Request().Context(), id); err != nil {
		return err
	}
	return backToAlerts(c)
}

// formTestChannel sends a test notification; its attempt shows in the
// channel's list on the page it redirects to.
func (s *Server) formTestChannel(c echo.Context) error {
	if _, err := s.sendTest(c); err != nil {
		return err
	}
	return backToAlerts(c)
}

// Helpers for the template.

func fmtRate(m analytics.Metric, r analytics.Rate) string {
	if _, ok := m.Counted(); ok {
		return strconv.FormatInt(r.Num, 10)
	}
	if r.Den == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*r.Value, 'f', 1, 64) + "% (" + strconv.FormatInt(r.Num, 10) + "/" + strconv.FormatInt(r.Den, 10) + ")"
}

func fmtThreshold(r alert.Rule) string {
	if r.Condition == alert.ConditionChange {
		return "regression after a change in " + r.Window.String()
	}
	if r.Condition == alert.ConditionSpike {
		return "spike, +" + strconv.FormatFloat(100*r.Threshold, 'f', 1, 64) + " pts over " + r.Baseline.String()
	}
	if _, ok := r.Metric.Counted(); ok {
		return "> " + strconv.FormatFloat(r.Threshold, 'f', -1, 64)
	}
	return "> " + strconv.FormatFloat(100*r.Threshold, 'f', 1, 64) + "%"
}

func eventRecordsLink(ev alert.Event) string { return alert.RecordsLink(ev) }

func idPath(prefix string, id int64, suffix string) string {
	return prefix + strconv.FormatInt(id, 10) + suffix
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func routingKeyHint(ch alert.Channel) string {
	if ch.RoutingKey != "" {
		return "set; leave empty to keep it"
	}
	return "PagerDuty channels only: the integration key"
}

func secretHint(ch alert.Channel) string {
	if ch.Secret != "" {
		return "set; leave empty to keep it"
	}
	return "optional: signs every notification"
}
