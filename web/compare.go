package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// cohortParams are the filter parameters a cohort of a comparison takes,
// each prefixed with "a." or "b.": the ones parseFilter reads that rollups
// answer. A filter parameter added to parseFilter belongs here or in
// cohortRefused (TestCohortParamsCoverFilter checks).
var cohortParams = []string{
	"range", "from", "to", "app", "environment", "model",
	"kind", "stop_reason", "error_type", "refusal_category", "release",
	"prompt_version",
}

// cohortRefused are the filter parameters rollups do not keep: a
// comparison is computed from rollups, so a cohort cannot take them.
var cohortRefused = []string{"flag", "cause", "session_id", "q"}

// cohortAgo is the cohort parameter that moves its range back ("7d": the
// same range a week earlier), so that "this week against last week" is a
// URL that stays live.
const cohortAgo = "ago"

// cohort is one side of a comparison as the request gave it.
type cohort struct {
	// Side is "a" or "b".
	Side   string
	Filter store.Filter
	// Params are the cohort's parameters without their prefix.
	Params url.Values
}

// Get returns one of the cohort's parameters.
func (c cohort) Get(k string) string { return c.Params.Get(k) }

// Range is the range preset of the form ("custom" with from).
func (c cohort) Range() string {
	switch {
	case c.Get("from") != "":
		return "custom"
	case c.Get("range") != "":
		return c.Get("range")
	}
	return "24h"
}

// Describe says in words which records the cohort holds.
func (c cohort) Describe() string {
	s := c.Filter.From.Format("2006-01-02 15:04") + " – " + c.Filter.To.Format("2006-01-02 15:04") + " UTC"
	var parts []string
	for _, k := range cohortParams[3:] {
		if v := c.Get(k); v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	if len(parts) == 0 {
		return s + " · all traffic"
	}
	return s + " · " + strings.Join(parts, " · ")
}

// parseAgo reads a cohort's ago: a whole number of minutes, hours or days
// (90m, 6h, 7d).
func parseAgo(name, v string) (time.Duration, error) {
	bad := analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not a whole number of minutes, hours or days such as 90m, 6h or 7d", name, v)
	if len(v) < 2 {
		return 0, bad
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 0 {
		return 0, bad
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[v[len(v)-1]]
	if unit == 0 || time.Duration(n) > query.MaxRange/unit {
		return 0, bad
	}
	return time.Duration(n) * unit, nil
}

// prefixed names a filter error's parameter as the cohort's: "parameter
// model: …" becomes "parameter a.model: …".
func prefixed(err error, side string) error {
	msg := analytics.ErrorMessage(err)
	if rest, ok := strings.CutPrefix(msg, "parameter "); ok && analytics.ErrorCode(err) == analytics.EInvalid {
		return analytics.Errorf(analytics.EInvalid, "parameter %s.%s", side, rest)
	}
	return err
}

// parseComparison reads the two cohorts of a comparison from q: a.<filter>
// and b.<filter> parameters, and unprefixed filter parameters that both
// cohorts share unless they set their own, each cohort parsed by the one
// filter parser.
// An unknown or refused parameter, or a bad value, is an EInvalid error
// that names it.
func (s *Server) parseComparison(q url.Values) (a, b cohort, err error) {
	a = cohort{Side: "a", Params: url.Values{}}
	b = cohort{Side: "b", Params: url.Values{}}
	// Unprefixed filter parameters are shared: both cohorts take them,
	// unless they set their own.
	base := url.Values{}
	for _, k := range sortedKeysOf(q) {
		side, name, ok := strings.Cut(k, ".")
		if !ok {
			switch {
			case slices.Contains(cohortParams, k):
				base[k] = q[k]
			case slices.Contains(cohortRefused, k):
				return a, b, analytics.Errorf(analytics.EInvalid, "parameter %s: a comparison is computed from rollups, which do not keep %s; compare without it (each flag and cause is a row)", k, k)
			}
			continue // not a filter: left alone, as on every route
		}
		var c *cohort
		switch side {
		case "a":
			c = &a
		case "b":
			c = &b
		default:
			return a, b, analytics.Errorf(analytics.EInvalid, "parameter %s: a comparison's parameters start with a. or b.", k)
		}
		switch {
		case name == cohortAgo || slices.Contains(cohortParams, name):
			c.Params[name] = q[k]
		case slices.Contains(cohortRefused, name):
			return a, b, analytics.Errorf(analytics.EInvalid, "parameter %s: a comparison is computed from rollups, which do not keep %s; compare without it (each flag is a row)", k, name)
		default:
			return a, b, analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not a filter a cohort takes (one of %s, %s)", k, name, strings.Join(cohortParams, ", "), cohortAgo)
		}
	}
	for _, c := range []*cohort{&a, &b} {
		// The range is inherited whole or not at all: a cohort that sets
		// any of range, from and to keeps its own.
		own := c.Get("range") != "" || c.Get("from") != "" || c.Get("to") != ""
		for k, v := range base {
			isTime := k == "range" || k == "from" || k == "to"
			if _, set := c.Params[k]; !set && (!isTime || !own) {
				c.Params[k] = v
			}
		}
	}
	now := s.Now().UTC()
	for _, c := range []*cohort{&a, &b} {
		p := url.Values{}
		for k, v := range c.Params {
			if k != cohortAgo {
				p[k] = v
			}
		}
		if c.Filter, err = s.filterOf(p); err != nil {
			return a, b, prefixed(err, c.Side)
		}
		if v := c.Get(cohortAgo); v != "" {
			ago, err := parseAgo(c.Side+"."+cohortAgo, v)
			if err != nil {
				return a, b, err
			}
			c.Filter.From, c.Filter.To = c.Filter.From.Add(-ago), c.Filter.To.Add(-ago)
			if err := query.CheckFilter(c.Filter, now); err != nil {
				return a, b, prefixed(err, c.Side)
			}
		}
	}
	return a, b, nil
}

// recordsLink returns the records list of the cohort behind a row: the
// cohort's filter, its range made absolute, and the row's stop reason,
// flag, refusal category or error type.
func recordsLink(c cohort, row analytics.CompareRow) string {
	q := url.Values{}
	for k, v := range c.Params {
		if k != "range" && k != "from" && k != "to" && k != cohortAgo {
			q[k] = v
		}
	}
	q.Set("from", c.Filter.From.UTC().Format(time.RFC3339))
	q.Set("to", c.Filter.To.UTC().Format(time.RFC3339))
	switch row.Group {
	case "stop_reason":
		q.Set("stop_reason", row.Value)
	case "flag":
		q.Set("flag", row.Value)
	case "cause":
		q.Set("cause", row.Value)
	case "refusal_category":
		q.Set("refusal_category", row.Value)
	case "error":
		q.Set("kind", string(analytics.KindError))
	case "error_type":
		q.Set("kind", string(analytics.KindError))
		if row.Value != "" {
			q.Set("error_type", row.Value)
		}
	}
	return "/responses?" + q.Encode()
}

// compareRow is a row of GET /api/v1/compare: the comparison's row and the
// records behind it in each cohort.
type compareRow struct {
	analytics.CompareRow
	Records struct {
		A string `json:"a"`
		B string `json:"b"`
	} `json:"records"`
}

// cohortResult is a cohort of GET /api/v1/compare.
type cohortResult struct {
	query.CohortTotals
	// Filter is the cohort's parameters as given, without the prefix.
	Filter map[string]string `json:"filter"`
	// Empty is set when the cohort has no records.
	Empty bool `json:"empty"`
}

// comparison is the answer of GET /api/v1/compare and what the page shows.
type comparison struct {
	A          cohortResult `json:"a"`
	B          cohortResult `json:"b"`
	Alpha      float64      `json:"alpha"`
	MinN       int          `json:"min_n"`
	MinBatches int          `json:"min_batches"`
	Rows       []compareRow `json:"rows"`
}

func (s *Server) compare(ctx context.Context, a, b cohort) (comparison, error) {
	c, err := s.Query.Compare(ctx, a.Filter, b.Filter)
	if err != nil {
		return comparison{}, err
	}
	out := comparison{
		A: cohortResultOf(a, c.A), B: cohortResultOf(b, c.B),
		Alpha: analytics.CompareAlpha, MinN: analytics.MinCompareN, MinBatches: analytics.MinCompareBatches,
		Rows: make([]compareRow, len(c.Rows)),
	}
	for i, r := range c.Rows {
		out.Rows[i].CompareRow = r
		out.Rows[i].Records.A, out.Rows[i].Records.B = recordsLink(a, r), recordsLink(b, r)
	}
	return out, nil
}

func cohortResultOf(c cohort, t query.CohortTotals) cohortResult {
	r := cohortResult{CohortTotals: t, Filter: map[string]string{}, Empty: t.Calls == 0}
	for k := range c.Params {
		r.Filter[k] = c.Get(k)
	}
	return r
}

// apiCompare answers GET /api/v1/compare.
func (s *Server) apiCompare(c echo.Context) error {
	a, b, err := s.parseComparison(c.QueryParams())
	if err != nil {
		return err
	}
	out, err := s.compare(c.Request().Context(), a, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// quickPick is a comparison the compare page offers in one click.
type quickPick struct{ Label, Href string }

// compareData is what the compare page shows.
type compareData struct {
	A, B cohort
	// Result is nil until the form was sent.
	Result *comparison
	Picks  []quickPick
	// Apps, Envs and Models are the choices of the form's selects.
	Apps, Envs, Models []string
	// Self is the page's own URL, what "Save this comparison" saves.
	Self     string
	CanSave  bool
	Quiet    int
	Shown    []compareRow
	Untested []compareRow
}

// pageCompare serves /compare: the form, the quick picks and, when a
// comparison was asked for, its table.
func (s *Server) pageCompare(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	a, b, err := s.parseComparison(q)
	if err != nil {
		return err
	}
	d := compareData{A: a, B: b, Self: c.Request().URL.RequestURI(), CanSave: s.Views != nil}
	asked := false
	for k := range q {
		if strings.HasPrefix(k, "a.") || strings.HasPrefix(k, "b.") {
			asked = true
		}
	}
	if asked {
		r, err := s.compare(ctx, a, b)
		if err != nil {
			return err
		}
		d.Result = &r
		for _, row := range r.Rows {
			switch row.Verdict {
			case analytics.VerdictNoEvents:
				d.Quiet++
			case analytics.VerdictNotEnough:
				d.Untested = append(d.Untested, row)
			default:
				d.Shown = append(d.Shown, row)
			}
		}
	}
	if d.Picks, err = s.quickPicks(ctx); err != nil {
		return err
	}
	o, err := s.filterOptions(ctx, store.Filter{To: s.Now().UTC()}, true)
	if err != nil {
		return err
	}
	d.Apps, d.Envs, d.Models = o.Apps, o.Envs, o.Models
	for _, sel := range []cohort{a, b} {
		d.Apps, d.Envs, d.Models = withSelected(d.Apps, sel.Get("app")), withSelected(d.Envs, sel.Get("environment")), withSelected(d.Models, sel.Get("model"))
	}
	return render(c, http.StatusOK, comparePage(d))
}

// quickPicks are this week against last, today against yesterday, and the
// two busiest models and apps of the last 7 days against each other.
func (s *Server) quickPicks(ctx context.Context) ([]quickPick, error) {
	picks := []quickPick{
		{"This week vs last week", "/compare?a.range=7d&a.ago=7d&b.range=7d"},
		{"Last 24 hours vs the day before", "/compare?a.range=24h&a.ago=24h&b.range=24h"},
	}
	now := s.Now().UTC()
	week := store.Filter{From: now.Add(-7 * 24 * time.Hour), To: now}
	for _, d := range []struct {
		dim   store.Dim
		param string
	}{{store.DimModel, "model"}, {store.DimApp, "app"}} {
		rows, err := s.Query.RatesBy(ctx, week, []store.Dim{d.dim})
		if err != nil {
			return nil, err
		}
		var top []string
		for _, r := range rows {
			k := r.Scope.Model
			if d.dim == store.DimApp {
				k = r.Scope.App
			}
			if k != "" && len(top) < 2 {
				top = append(top, k)
			}
		}
		if len(top) == 2 {
			q := url.Values{"a.range": {"7d"}, "b.range": {"7d"}, "a." + d.param: {top[0]}, "b." + d.param: {top[1]}}
			picks = append(picks, quickPick{fmt.Sprintf("%s %s vs %s (7 days)", d.param, top[0], top[1]), "/compare?" + q.Encode()})
		}
	}
	return picks, nil
}

// The formatting of comparison figures.

func fmtSide(r compareRow, v float64) string {
	switch r.Unit {
	case "share":
		return formatPct(v)
	case "usd":
		return "$" + strconv.FormatFloat(v, 'f', 6, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func fmtSideOf(r compareRow, side analytics.CompareSide) string {
	s := fmtSide(r, side.Value)
	if r.Unit == "share" {
		return s + " (" + formatInt(side.Num) + " of " + formatInt(side.Den) + ")"
	}
	return s + " (" + formatInt(side.Den) + " calls)"
}

func fmtDiff(r compareRow, v float64) string {
	sign := "+"
	if v < 0 || (v == 0 && math.Signbit(v)) {
		sign = "−"
		v = -v
	}
	if r.Unit == "share" {
		return sign + strconv.FormatFloat(v*100, 'f', 2, 64) + " pp"
	}
	return sign + fmtSide(r, v)
}

func fmtInterval(r compareRow) string {
	if r.DiffLow == nil || r.DiffHigh == nil {
		return ""
	}
	return fmtDiff(r, *r.DiffLow) + " to " + fmtDiff(r, *r.DiffHigh)
}

func fmtP(p *float64) string {
	switch {
	case p == nil:
		return "—"
	case *p < 0.001:
		return "< 0.001"
	}
	return strconv.FormatFloat(*p, 'f', 3, 64)
}

func verdictLabel(v string) string {
	switch v {
	case analytics.VerdictSignificant:
		return "significant"
	case analytics.VerdictNoChange:
		return "no significant change"
	case analytics.VerdictNotEnough:
		return "not enough calls to tell"
	}
	return "no events in either"
}

// agoChoices are the form's choices of when a cohort's range ends.
var agoChoices = [][2]string{{"", "now"}, {"1h", "1 hour earlier"}, {"24h", "1 day earlier"}, {"7d", "7 days earlier"}, {"30d", "30 days earlier"}}

func agoListed(v string) bool {
	for _, a := range agoChoices {
		if a[0] == v {
			return true
		}
	}
	return false
}
