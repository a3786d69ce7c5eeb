package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
)

// maxAlertBody bounds the JSON body of a rule or channel.
const maxAlertBody = 64 << 10

// registerAlerts adds the alerting API and the Alerts page when the server
// has an alert store.
func (s *Server) registerAlerts(e *echo.Echo, api *echo.Group) {
	if s.Alerts == nil {
		return
	}
	api.GET("/alert-rules", s.apiAlertRules)
	api.POST("/alert-rules", s.apiCreateAlertRule)
	api.GET("/alert-rules/:id", s.apiAlertRule)
	api.PUT("/alert-rules/:id", s.apiUpdateAlertRule)
	api.DELETE("/alert-rules/:id", s.apiDeleteAlertRule)
	api.GET("/alert-channels", s.apiAlertChannels)
	api.POST("/alert-channels", s.apiCreateAlertChannel)
	api.GET("/alert-channels/:id", s.apiAlertChannel)
	api.PUT("/alert-channels/:id", s.apiUpdateAlertChannel)
	api.DELETE("/alert-channels/:id", s.apiDeleteAlertChannel)
	api.POST("/alert-channels/:id/test", s.apiTestAlertChannel)
	api.GET("/alerts", s.apiAlerts)

	e.GET("/alerts", s.pageAlerts)
	e.GET("/alerts/rules/:id", s.pageAlertRule)
	e.POST("/alerts/rules", s.formCreateRule)
	e.POST("/alerts/rules/:id", s.formUpdateRule)
	e.POST("/alerts/rules/:id/silence", s.formSilenceRule)
	e.POST("/alerts/rules/:id/delete", s.formDeleteRule)
	e.POST("/alerts/channels", s.formCreateChannel)
	e.POST("/alerts/channels/:id", s.formUpdateChannel)
	e.POST("/alerts/channels/:id/delete", s.formDeleteChannel)
	e.POST("/alerts/channels/:id/test", s.formTestChannel)
}

func pathID(c echo.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, analytics.Errorf(analytics.ENotFound, "no %s with id %q", what, c.Param("id"))
	}
	return id, nil
}

func readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxAlertBody+1))
	if err != nil {
		return nil, analytics.Errorf(analytics.EInvalid, "reading the body: %v", err)
	}
	if len(b) > maxAlertBody {
		return nil, analytics.Errorf(analytics.ETooLarge, "the body is larger than %d bytes", maxAlertBody)
	}
	return b, nil
}

// routing is where a rule's notifications go: Channels when Routed,
// every enabled channel otherwise.
type routing struct {
	Routed   bool    `json:"routed"`
	Channels []int64 `json:"channels"`
}

// ruleJSON writes a rule with its state under "state" and its routing
// under "routed" and "channels".
func ruleJSON(r alert.Rule, st alert.State, rt routing) (json.RawMessage, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if st.Status == "" {
		st.Status, st.RuleID = alert.StatusOK, r.ID
	}
	sb, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	if rt.Channels == nil {
		rt.Channels = []int64{}
	}
	rb, err := json.Marshal(rt)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(string(b[:len(b)-1]) + `,"state":` + string(sb) + "," + string(rb[1:])), nil
}

func (s *Server) routingOf(ctx context.Context, id int64) (routing, error) {
	chs, routed, err := s.Alerts.AlertRuleChannels(ctx, id)
	return routing{Routed: routed, Channels: chs}, err
}

func (s *Server) ruleWithState(c echo.Context, r alert.Rule) (json.RawMessage, error) {
	states, err := s.Alerts.AlertStates(c.Request().Context())
	if err != nil {
		return nil, err
	}
	rt, err := s.routingOf(c.Request().Context(), r.ID)
	if err != nil {
		return nil, err
	}
	return ruleJSON(r, states[r.ID], rt)
}

// routingInput reads the "channels" field of a rule's body: absent keeps
// the routing, null or [] sends to every channel, a list to those only.
func routingInput(b []byte) (chs []int64, set bool, err error) {
	var in struct {
		Channels json.RawMessage `json:"channels"`
	}
	if err := json.Unmarshal(b, &in); err != nil || in.Channels == nil {
		return nil, false, nil
	}
	if string(in.Channels) == "null" {
		return nil, true, nil
	}
	if err := json.Unmarshal(in.Channels, &chs); err != nil {
		return nil, false, analytics.Errorf(analytics.EInvalid, "field channels: want a list of channel ids")
	}
	return chs, true, nil
}

// apiAlertRules answers GET /api/v1/alert-rules.
func (s *Server) apiAlertRules(c echo.Context) error {
	ctx := c.Request().Context()
	rules, err := s.Alerts.ListAlertRules(ctx)
	if err != nil {
		return err
	}
	states, err := s.Alerts.AlertStates(ctx)
	if err != nil {
		return err
	}
	items := make([]json.RawMessage, 0, len(rules))
	for _, r := range rules {
		rt, err := s.routingOf(ctx, r.ID)
		if err != nil {
			return err
		}
		j, err := ruleJSON(r, states[r.ID], rt)
		if err != nil {
			return err
		}
		items = append(items, j)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *Server) apiAlertRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	r, err := s.Alerts.GetAlertRule(c.Request().Context(), id)
	if err != nil {
		return err
	}
	j, err := s.ruleWithState(c, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

// apiCreateAlertRule answers POST /api/v1/alert-rules: the body is decoded
// onto alert.DefaultRule, so that only what differs need be sent.
func (s *Server) apiCreateAlertRule(c echo.Context) error {
	b, err := readBody(c)
	if err != nil {
		return err
	}
	r := alert.DefaultRule()
	if err := json.Unmarshal(b, &r); err != nil {
		return asInvalid(err)
	}
	chs, setRouting, err := routingInput(b)
	if err != nil {
		return err
	}
	r.ID, r.Created, r.Updated = 0, s.Now().UTC(), s.Now().UTC()
	ctx := c.Request().Context()
	r, err = s.Alerts.CreateAlertRule(ctx, r)
	if err != nil {
		return err
	}
	if setRouting {
		if err := s.Alerts.SetAlertRuleChannels(ctx, r.ID, chs); err != nil {
			// A rule created with a bad routing would page everyone.
			_ = s.Alerts.DeleteAlertRule(ctx, r.ID)
			return err
		}
	}
	rt, err := s.routingOf(ctx, r.ID)
	if err != nil {
		return err
	}
	j, err := ruleJSON(r, alert.State{}, rt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, j)
}

// apiUpdateAlertRule answers PUT /api/v1/alert-rules/{id}: the body is
// decoded onto the stored rule, so fields left out keep their value.
func (s *Server) apiUpdateAlertRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	b, err := readBody(c)
	if err != nil {
		return err
	}
	r, err := s.Alerts.GetAlertRule(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return asInvalid(err)
	}
	chs, setRouting, err := routingInput(b)
	if err != nil {
		return err
	}
	r.ID, r.Updated = id, s.Now().UTC()
	if err := r.Validate(); err != nil {
		return err
	}
	if setRouting {
		if err := s.Alerts.SetAlertRuleChannels(c.Request().Context(), id, chs); err != nil {
			return err
		}
	}
	r, err = s.Alerts.UpdateAlertRule(c.Request().Context(), r)
	if err != nil {
		return err
	}
	j, err := s.ruleWithState(c, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

func (s *Server) apiDeleteAlertRule(c echo.Context) error {
	id, err := pathID(c, "alert rule")
	if err != nil {
		return err
	}
	if err := s.Alerts.DeleteAlertRule(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// asInvalid keeps an *analytics.Error as it is and makes anything else
// from decoding an EInvalid error.
func asInvalid(err error) error {
	if analytics.ErrorCode(err) != analytics.EInternal {
		return err
	}
	return analytics.Errorf(analytics.EInvalid, "bad JSON: %v", err)
}

// channelView is a channel as the API shows it: the secret is never sent
// back, only whether there is one.
type channelView struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Kind      alert.ChannelKind `json:"kind"`
	URL       string            `json:"url"`
	HasSecret bool              `json:"has_secret"`
	// HasRoutingKey tells whether a PagerDuty channel has its routing key;
	// like the secret, the key is never sent back.
	HasRoutingKey bool            `json:"has_routing_key,omitempty"`
	Enabled       bool            `json:"enabled"`
	Created       time.Time       `json:"created,omitzero"`
	Updated       time.Time       `json:"updated,omitzero"`
	Attempts      []alert.Attempt `json:"attempts,omitempty"`
}

func toChannelView(ch alert.Channel) channelView {
	return channelView{ID: ch.ID, Name: ch.Name, Kind: ch.Kind, URL: ch.URL, HasSecret: ch.Secret != "", HasRoutingKey: ch.RoutingKey != "",
		Enabled: ch.Enabled, Created: ch.Created, Updated: ch.Updated}
}

// channelInput is the body of POST and PUT: absent fields keep their value
// (or take the default on creation).
type channelInput struct {
	Name   *string `json:"name"`
	Kind   *string `json:"kind"`
	URL    *string `json:"url"`
	Secret *string `json:"secret"`
	// RoutingKey is a PagerDuty channel's integration key.
	RoutingKey *string `json:"routing_key"`
	Enabled    *bool   `json:"enabled"`
}

func (in channelInput) apply(ch *alert.Channel, creating bool) {
	if in.URL != nil {
		ch.URL = strings.TrimSpace(*in.URL)
	}
	if in.Name != nil {
		ch.Name = strings.TrimSpace(*in.Name)
	}
	if in.Kind != nil {
		ch.Kind = alert.ChannelKind(*in.Kind)
	}
	if in.Secret != nil {
		ch.Secret = *in.Secret
	}
	if in.RoutingKey != nil {
		ch.RoutingKey = strings.TrimSpace(*in.RoutingKey)
	}
	if in.Enabled != nil {
		ch.Enabled = *in.Enabled
	}
	// A PagerDuty channel sends to PagerDuty's Events API unless told
	// otherwise (a proxy, or a local receiver in tests).
	if ch.Kind == alert.ChannelPagerDuty && ch.URL == "" {
		ch.URL = alert.PagerDutyURL
	}
	if creating {
		if ch.Kind == "" {
			ch.Kind = alert.ChannelKindOf(ch.URL)
		}
		if ch.Name == "" {
			if u, err := url.Parse(ch.URL); err == nil && u.Host != "" {
				ch.Name = u.Host
			}
		}
	}
}

func decodeChannel(b []byte) (channelInput, error) {
	var in channelInput
	if err := json.Unmarshal(b, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return in, analytics.Errorf(analytics.EInvalid, "field %s: want a %s", te.Field, te.Type)
		}
		return in, analytics.Errorf(analytics.EInvalid, "bad JSON: %v", err)
	}
	return in, nil
}

func (s *Server) apiAlertChannels(c echo.Context) error {
	chs, err := s.Alerts.ListAlertChannels(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]channelView, len(chs))
	for i, ch := range chs {
		items[i] = toChannelView(ch)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// apiAlertChannel answers GET /api/v1/alert-channels/{id} with the
// channel's latest delivery attempts.
func (s *Server) apiAlertChannel(c echo.Context) error {
	id, err := pathID(c, "alert channel")
	if err != nil {
		return err
	}
	ch, err := s.Alerts.GetAlertChannel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	v := toChannelView(ch)
	if v.Attempts, err = s.Alerts.ListAlertAttempts(c.Request().Context(), id, 20); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) apiCreateAlertChannel(c echo.Context) error {
	b, err := readBody(c)
	if err != nil {
		return err
	}
	in, err := decodeChannel(b)
	if err != nil {
		return err
	}
	ch, err := s.createChannel(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toChannelView(ch))
}

func (s *Server) apiUpdateAlertChannel(c echo.Context) error {
	id, err := pathID(c, "alert channel")
	if err != nil {
		return err
	}
	b, err := readBody(c)
	if err != nil {
		return err
	}
	in, err := decodeChannel(b)
	if err != nil {
		return err
	}
	ch, err := s.updateChannel(c.Request().Context(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toChannelView(ch))
}

// createChannel makes a channel of what a form or an API call sent, once
// its URL is valid and an allowed destination.
func (s *Server) createChannel(ctx context.Context, in channelInput) (alert.Channel, error) {
	ch := alert.Channel{Enabled: true, Created: s.Now().UTC(), Updated: s.Now().UTC()}
	in.apply(&ch, true)
	if err := s.checkDestination(ctx, ch); err != nil {
		return ch, err
	}
	return s.Alerts.CreateAlertChannel(ctx, ch)
}

// updateChannel applies what a form or an API call sent onto the stored
// channel; fields left out keep their value. A changed URL must be an
// allowed destination; an unchanged one is not checked again, so that a
// channel the policy no longer allows can still be disabled or deleted
// (its deliveries are refused anyway).
func (s *Server) updateChannel(ctx context.Context, id int64, in channelInput) (alert.Channel, error) {
	ch, err := s.Alerts.GetAlertChannel(ctx, id)
	if err != nil {
		return ch, err
	}
	old := ch.URL
	in.apply(&ch, false)
	if ch.URL != old {
		if err := s.checkDestination(ctx, ch); err != nil {
			return ch, err
		}
	}
	ch.Updated = s.Now().UTC()
	return s.Alerts.UpdateAlertChannel(ctx, ch)
}

// checkDestination validates ch and checks that its URL is an allowed
// destination.
func (s *Server) checkDestination(ctx context.Context, ch alert.Channel) error {
	if err := ch.Validate(); err != nil {
		return err
	}
	return s.AlertDestinations.CheckURL(ctx, ch.URL)
}

func (s *Server) apiDeleteAlertChannel(c echo.Context) error {
	id, err := pathID(c, "alert channel")
	if err != nil {
		return err
	}
	if err := s.Alerts.DeleteAlertChannel(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// sendTest sends a test notification to channel id and returns the
// attempt; a channel that fails answers 200 too, with the failure in the
// attempt (and retries after it).
func (s *Server) sendTest(c echo.Context) (alert.Attempt, error) {
	id, err := pathID(c, "alert channel")
	if err != nil {
		return alert.Attempt{}, err
	}
	if s.Notifier == nil {
		return alert.Attempt{}, analytics.Errorf(analytics.EUnavailable, "notifications are not running")
	}
	return s.Notifier.SendTest(c.Request().Context(), id)
}

func (s *Server) apiTestAlertChannel(c echo.Context) error {
	a, err := s.sendTest(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// alertItem is one event in GET /api/v1/alerts.
type alertItem struct {
	alert.Event
	Window string     `json:"window"`
	Links  alertLinks `json:"links"`
}

type alertLinks struct {
	Records string `json:"records"`
	Rule    string `json:"rule"`
}

func toAlertItem(ev alert.Event) alertItem {
	return alertItem{Event: ev, Window: ev.Window.String(), Links: alertLinks{
		Records: alert.RecordsLink(ev),
		Rule:    "/api/v1/alert-rules/" + strconv.FormatInt(ev.RuleID, 10),
	}}
}

// parseEventFilter reads rule, state and limit.
func parseEventFilter(c echo.Context) (alert.EventFilter, error) {
	var f alert.EventFilter
	if v := c.QueryParam("rule"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return f, analytics.Errorf(analytics.EInvalid, "parameter rule: %q is not a rule id", v)
		}
		f.RuleID = id
	}
	switch v := alert.Status(c.QueryParam("state")); v {
	case "", alert.StatusFiring, alert.StatusResolved:
		f.Status = v
	default:
		return f, analytics.Errorf(analytics.EInvalid, "parameter state: %q is not one of firing, resolved", v)
	}
	limit, err := parseLimit(c, 50, 1000)
	f.Limit = limit
	return f, err
}

// apiAlerts answers GET /api/v1/alerts: alert events, newest first.
func (s *Server) apiAlerts(c echo.Context) error {
	f, err := parseEventFilter(c)
	if err != nil {
		return err
	}
	evs, err := s.Alerts.ListAlertEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	items := make([]alertItem, len(evs))
	for i, ev := range evs {
		items[i] = toAlertItem(ev)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}
