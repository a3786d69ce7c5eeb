package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// filterView is a parsed filter together with the query it came from, so
// that links keep the filters and the URL stays shareable, and the choices
// the filter bar offers.
type filterView struct {
	store.Filter
	query url.Values
	// Path is the page the filter bar submits to.
	Path string
	// Range is the preset in force ("24h" …), or "custom" for from/to.
	Range string
	// Live is set when the range ends now, so that the page refreshes.
	Live bool
	// Apps, Envs and Models are the values seen in the last 30 days, the
	// busiest query.MaxScopeRows of each; MoreApps, MoreEnvs and
	// MoreModels count the others.
	Apps, Envs, Models             []string
	MoreApps, MoreEnvs, MoreModels int
}

// Describe says in words which range and scope a view shows.
func (v filterView) Describe() string {
	s := v.From.Format("2006-01-02 15:04") + " – " + v.To.Format("2006-01-02 15:04") + " UTC"
	if v.Live && v.Range != "custom" {
		s = "Last " + presetLabel(v.Range) + " (" + s + ")"
	}
	for _, d := range []struct{ k, v string }{{"app", v.App}, {"environment", v.Environment}, {"model", v.Model}} {
		if d.v != "" {
			s += " · " + d.k + " " + d.v
		}
	}
	return s
}

// Active lists the filters in force beyond the filter bar's, for display.
func (v filterView) Active() []string {
	var out []string
	for _, k := range []string{"kind", "stop_reason", "refusal_category", "flag", "cause", "error_type", "session_id", "q"} {
		if val := v.query.Get(k); val != "" {
			out = append(out, k+": "+val)
		}
	}
	return out
}

// scopeKeys are the filter bar's parameters: what every page shares.
var scopeKeys = []string{"range", "from", "to", "app", "environment", "model"}

// link returns path with the current query, changed by set (an empty value
// removes a key). A cursor never carries over into another view.
func (v filterView) link(path string, set map[string]string) string {
	q := url.Values{}
	for k, vals := range v.query {
		if k != "cursor" {
			q[k] = vals
		}
	}
	return withQuery(path, q, set)
}

// scopeLink returns path with only the filter bar's parameters, changed by
// set: how one page links to another without carrying list filters along.
func (v filterView) scopeLink(path string, set map[string]string) string {
	q := url.Values{}
	for _, k := range scopeKeys {
		if val := v.query.Get(k); val != "" {
			q.Set(k, val)
		}
	}
	return withQuery(path, q, set)
}

func withQuery(path string, q url.Values, set map[string]string) string {
	for k, val := range set {
		if val == "" {
			q.Del(k)
		} else {
			q.Set(k, val)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// clear keeps the filter bar's scope and drops every other filter.
func (v filterView) clear() string { return v.scopeLink("/responses", nil) }

// Hidden lists the query parameters the filter bar does not show, which its
// form carries along unchanged.
func (v filterView) Hidden(shown ...string) [][2]string {
	skip := map[string]bool{"cursor": true}
	for _, k := range scopeKeys {
		skip[k] = true
	}
	for _, k := range shown {
		skip[k] = true
	}
	var out [][2]string
	for _, k := range sortedKeysOf(v.query) {
		if !skip[k] && v.query.Get(k) != "" {
			out = append(out, [2]string{k, v.query.Get(k)})
		}
	}
	return out
}

// Get returns a query parameter.
func (v filterView) Get(k string) string { return v.query.Get(k) }

// Scope returns the filter reduced to what rollups answer: the range, app,
// environment and model.
func (v filterView) Scope() store.Filter {
	return store.Filter{From: v.From, To: v.To, App: v.App, Environment: v.Environment, Model: v.Model}
}

// ScopeQuery returns the filter bar's parameters as a query string, for
// the URLs of chart data and live fragments: a live range stays live.
func (v filterView) ScopeQuery() string {
	q := url.Values{}
	for _, k := range scopeKeys {
		if val := v.query.Get(k); val != "" {
			q.Set(k, val)
		}
	}
	return q.Encode()
}

func sortedKeysOf(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// presetLabel names a range preset for people.
func presetLabel(r string) string {
	switch r {
	case "15m":
		return "15 minutes"
	case "1h":
		return "hour"
	case "6h":
		return "6 hours"
	case "24h":
		return "24 hours"
	case "7d":
		return "7 days"
	case "30d":
		return "30 days"
	}
	return r
}

func (s *Server) filterView(c echo.Context) (filterView, error) {
	f, err := s.parseFilter(c)
	if err != nil {
		return filterView{}, err
	}
	q := c.QueryParams()
	v := filterView{Filter: f, query: q, Path: c.Path(), Live: q.Get("to") == ""}
	switch {
	case q.Get("from") != "":
		v.Range = "custom"
	case q.Get("range") != "":
		v.Range = q.Get("range")
	default:
		v.Range = "24h"
	}
	if strings.Contains(v.Path, ":") {
		v.Path = c.Request().URL.Path
	}
	o, err := s.filterOptions(c.Request().Context(), f, v.Live)
	v.Apps, v.Envs, v.Models = o.Apps, o.Envs, o.Models
	v.MoreApps, v.MoreEnvs, v.MoreModels = o.MoreApps, o.MoreEnvs, o.MoreModels
	return v, err
}

// filterOptions returns the apps, environments and models seen in the 30
// days before the range's end (query.ScopeValues), with the ones selected
// in f added so that a select always shows them.
func (s *Server) filterOptions(ctx context.Context, f store.Filter, live bool) (query.ScopeOptions, error) {
	o, err := s.Query.ScopeValues(ctx, f.To, live)
	if err != nil {
		return o, err
	}
	o.Apps, o.Envs, o.Models = withSelected(o.Apps, f.App), withSelected(o.Envs, f.Environment), withSelected(o.Models, f.Model)
	return o, nil
}

// withSelected returns list with sel inserted in order, unless it is empty
// or already there; list itself is never changed (it may be cached).
func withSelected(list []string, sel string) []string {
	i, found := slices.BinarySearch(list, sel)
	if sel == "" || found {
		return list
	}
	return slices.Insert(slices.Clone(list), i, sel)
}

func (s *Server) pageOverview(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	d, err := s.overview(c.Request().Context(), v, c.Request().Host)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, overviewPage(d))
}

// overview gathers what the overview page shows, all of it from the
// rollups (query.Overview); spikes and patterns come in fragments after
// the page.
func (s *Server) overview(ctx context.Context, v filterView, host string) (overviewData, error) {
	o, err := s.Query.Overview(ctx, v.Scope())
	if err != nil {
		return overviewData{}, err
	}
	sum := o.Summary
	d := overviewData{Filter: v, Summary: sum, Curl: curlExample(host)}
	if sum.Total == 0 {
		return d, nil
	}
	d.Headline = headlineOf(v, o.Headline)
	calls := sum.Total - sum.Errors.Total
	d.StopRows = stopRows(v, sum, calls)
	for _, k := range sortedKeys(sum.Errors.ByType) {
		n := sum.Errors.ByType[k]
		// The summary counts failed requests with no error type under
		// "unknown"; their list is error_type=- (store.None).
		et := k
		if k == "unknown" {
			et = store.None
		}
		list := v.scopeLink("/responses", map[string]string{"kind": "error", "error_type": et})
		d.ErrRows = append(d.ErrRows, countRow{
			Key: k, Label: k, Count: n, Share: share(n, sum.Errors.Total),
			Href: list, ListHref: list, Class: kindClass(analytics.KindError),
		})
	}
	d.Apps, d.Models, d.MoreApps, d.MoreModels = o.Apps, o.Models, o.MoreApps, o.MoreModels
	return d, nil
}

// uiOverviewSpikes is the overview's spikes fragment: at all traffic, per
// model and per app (query.ScopeSpikes), over the range against the
// trailing baseline, from the minute rollups (the hourly ones over long
// ranges, query.SpikeConfigFor).
func (s *Server) uiOverviewSpikes(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	// Ranges over a day or so are tested at hourly grain (SpikeConfigFor).
	spikes, err := s.Query.ScopeSpikes(c.Request().Context(), v.Scope(), nil, query.SpikeConfigFor(v.Scope(), analytics.DefaultSpikeConfig()), v.Live)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, overviewSpikes(v, spikes, s.Now().UTC()))
}

// uiOverviewPatterns is the overview's patterns fragment, read from at most
// query.DefaultRecordLimit records.
func (s *Server) uiOverviewPatterns(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	pat, err := s.Query.Patterns(c.Request().Context(), v.Scope(), analytics.DefaultPatternConfig(), 0)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, overviewPatterns(v, pat))
}

// headlineCard is one headline rate with its change against the period
// of the same length just before.
type headlineCard struct {
	Label string
	Rate  analytics.Rate
	Prev  analytics.Rate
	Href  string
	Class string
}

// Change says how the rate moved, in percentage points.
func (h headlineCard) Change() string {
	if h.Prev.Den == 0 {
		return "no calls in the previous period"
	}
	d := (h.Rate.Value - h.Prev.Value) * 100
	switch {
	case d > 0.05:
		return "▲ " + strconv.FormatFloat(d, 'f', 1, 64) + " pts vs previous period"
	case d < -0.05:
		return "▼ " + strconv.FormatFloat(-d, 'f', 1, 64) + " pts vs previous period"
	}
	return "unchanged vs previous period"
}

// Trend is "up", "down" or "flat", for the change's colour.
func (h headlineCard) Trend() string {
	if h.Prev.Den == 0 {
		return "flat"
	}
	d := h.Rate.Value - h.Prev.Value
	switch {
	case d > 0.0005:
		return "up"
	case d < -0.0005:
		return "down"
	}
	return "flat"
}

// headlineOf lays out the headline rates of v's scope against those of
// the period before it as cards.
func headlineOf(v filterView, hl query.Headline) headlineData {
	now, prev := hl.Now, hl.Previous
	h := headlineData{Filter: v, Calls: now.Calls, PrevCalls: prev.Calls}
	h.Cards = []headlineCard{
		{"Refusal rate", now.Refusal, prev.Refusal, v.scopeLink("/refusals", nil), metricClass(analytics.MetricRefusal)},
		{"Empty turn rate", now.EmptyTurn, prev.EmptyTurn, v.scopeLink("/empty-turns", nil), metricClass(analytics.MetricEmptyTurn)},
		{"Truncation rate", now.Truncation, prev.Truncation, v.scopeLink("/truncation", nil), metricClass(analytics.MetricTruncation)},
		{"Error rate", now.Error, prev.Error, v.scopeLink("/responses", map[string]string{"kind": "error"}), metricClass(analytics.MetricError)},
	}
	return h
}

// uiHeadline answers GET /ui/headline: the overview's headline cards, which
// htmx polls on live ranges.
func (s *Server) uiHeadline(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	hl, err := s.Query.Headline(c.Request().Context(), v.Scope())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, headlineCards(headlineOf(v, hl)))
}

// stopRows lists the known stop reasons, null, then unknown values seen.
func stopRows(v filterView, sum analytics.Summary, calls int64) []countRow {
	keys := []string{}
	for _, r := range analytics.KnownStopReasons {
		keys = append(keys, r.Key())
	}
	keys = append(keys, analytics.StopNull.Key())
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
	}
	for _, k := range sortedKeys(sum.StopReasons) {
		if !known[k] {
			keys = append(keys, k)
		}
	}
	rows := make([]countRow, 0, len(keys))
	for _, k := range keys {
		n := sum.StopReasons[k]
		rows = append(rows, countRow{
			Key: k, Label: k, Count: n, Share: share(n, calls),
			Href:     v.scopeLink("/stop-reasons/"+url.PathEscape(k), nil),
			ListHref: v.scopeLink("/responses", map[string]string{"stop_reason": k}),
			Class:    stopClass(analytics.ParseStopReasonKey(k)),
		})
	}
	return rows
}

// MaxListTotal bounds the count a list shows above its records: a count
// over a text search reads each record, so past this it says "more than".
const MaxListTotal = 100001

func (s *Server) pageResponses(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	limit, err := parseLimit(c, 50, 500)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	recs, next, err := s.Store.List(ctx, v.Filter, limit, store.Cursor(c.QueryParam("cursor")))
	if err != nil {
		return err
	}
	sum, err := s.Query.Summary(ctx, v.Scope())
	if err != nil {
		return err
	}
	total, err := s.Store.Count(ctx, v.Filter, MaxListTotal)
	if err != nil {
		return err
	}
	d := responsesData{Filter: v, Items: recs, Next: string(next), ErrorTypes: sortedKeys(sum.Errors.ByType), Total: total}
	for _, r := range stopRows(v, sum, 0) {
		d.StopReasons = append(d.StopReasons, r.Key)
	}
	if et := v.Get("error_type"); et != "" && !slices.Contains(d.ErrorTypes, et) {
		d.ErrorTypes = append(d.ErrorTypes, et)
	}
	if sr := v.Get("stop_reason"); sr != "" && !slices.Contains(d.StopReasons, sr) {
		d.StopReasons = append(d.StopReasons, sr)
	}
	return render(c, http.StatusOK, responsesPage(d))
}

// snippet is the start of a record's text, or what stands for it.
func snippet(r *analytics.Record) string {
	switch r.Kind {
	case analytics.KindError:
		return r.ErrorMessage
	}
	t := contentText(r.Content)
	if t == "" {
		var names []string
		for _, b := range r.Content {
			if b.Name != "" {
				names = append(names, b.Type+" "+b.Name)
			} else if b.Type != "text" {
				names = append(names, b.Type)
			}
		}
		if len(names) == 0 {
			return "(no content)"
		}
		return "[" + strings.Join(names, ", ") + "]"
	}
	if rs := []rune(t); len(rs) > 90 {
		return string(rs[:90]) + "…"
	}
	return t
}

func (s *Server) pageResponse(c echo.Context) error {
	r, err := s.record(c)
	if err != nil {
		return err
	}
	d := recordData{Rec: r, ReqJSON: prettyJSON(r.RequestBody), RespJSON: prettyJSON(r.ResponseBody)}
	d.Request = parseRequestView(r.RequestBody)
	d.Response = responseView(r)
	d.Events = parseSSE(r.StreamBody)
	if d.Thread, err = s.Query.Thread(c.Request().Context(), r); err != nil {
		return err
	}
	d.RecoveredBy = analytics.RecoveredBy(r, d.Thread)
	d.Chain = query.ChainOf(d.Thread, r)
	if d.RunCalls, err = s.Query.RunCalls(c.Request().Context(), r); err != nil {
		return err
	}
	return render(c, http.StatusOK, recordPage(d))
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

func curlExample(host string) string {
	if host == "" {
		host = "127.0.0.1:8080"
	}
	return `curl -sS http://` + host + `/v1/responses \
  -H 'Content-Type: application/json' \
  -d '{"app":"my-app","response":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":3}}}'`
}

func share(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatPct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func formatMoney(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func statusText(status int) string { return fmt.Sprintf("%d %s", status, http.StatusText(status)) }

func recordHref(id int64) string { return "/responses/" + strconv.FormatInt(id, 10) }

// orDash shows "—" for none: an empty value or store.None.
func orDash(s string) string {
	if s == "" || s == store.None {
		return "—"
	}
	return s
}

func joinStrings(s []string) string { return strings.Join(s, ", ") }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// stopClass is the CSS class (vocab.css) that colours a stop reason the
// same on every page.
func stopClass(r analytics.StopReason) string { return analytics.StopReasonInfoOf(r).Class() }

func errorLabel(r *analytics.Record) string {
	t := r.ErrorType
	if t == "" {
		t = "error"
	}
	if r.HTTPStatus != 0 {
		return strconv.Itoa(r.HTTPStatus) + " " + t
	}
	return t
}

func streamNote(r *analytics.Record) string {
	if r.Streamed {
		return ", streamed"
	}
	return ""
}

// dashboardRoutes registers the dashboard's pages, fragments and chart data.
func (s *Server) dashboardRoutes(e *echo.Echo) {
	e.GET("/", s.pageOverview)
	e.GET("/responses", s.pageResponses)
	e.GET("/responses/export", s.exportResponses)
	e.GET("/responses/:id", s.pageResponse)
	e.GET("/stop-reasons/:key", s.pageStopReason)
	e.GET("/empty-turns", s.pageEmptyTurns)
	e.GET("/refusals", s.pageRefusals)
	e.GET("/truncation", s.pageTruncation)
	e.GET("/agent-runs", s.pageAgentRuns)
	e.GET("/latency-cost", s.pageLatencyCost)
	e.GET("/setup", s.pageSetup)
	e.GET("/ui/now", s.uiNow)
	e.GET("/ui/headline", s.uiHeadline)
	e.GET("/ui/overview/spikes", s.uiOverviewSpikes)
	e.GET("/ui/overview/patterns", s.uiOverviewPatterns)
	e.GET("/ui/chart/:kind", s.uiChart)
	e.GET("/ui/setup-status", s.uiSetupStatus)
}
