package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// latestLimit is how many of the latest records a focused page lists.
const latestLimit = 10

// shareRow is one app's or model's rate of a metric.
type shareRow struct {
	Label string
	Rate  analytics.Rate
	Href  string
	Top   bool
}

// stopReasonData is what the page of one stop reason shows.
type stopReasonData struct {
	Filter   filterView
	Reason   analytics.StopReason
	Share    analytics.Rate
	Remedy   string
	Apps     []shareRow
	Models   []shareRow
	Patterns PatternsResult
	Kinds    []string
	Latest   []*analytics.Record
	ListHref string
}

// problemData is what a focused problem page shows: Empty turns, Refusals,
// Truncation, Agent runs.
type problemData struct {
	Filter   filterView
	Title    string
	Intro    string
	Metric   analytics.Metric
	Rate     analytics.Rate
	Remedy   string
	Apps     []shareRow
	Models   []shareRow
	Patterns PatternsResult
	Kinds    []string
	Latest   []*analytics.Record
	ListHref string
	// Causes: empty turns with a known cause and without one.
	Causes []countRow
	// Refusers: frequent refusers by app, model, session and user.
	Refusers []RefusersResult
	// Split: truncation by stop reason.
	Split []countRow
	// Subtypes: agent runs by subtype, each by last stop reason.
	Subtypes []subtypeRow
	// StopKeys are the columns of Subtypes.
	StopKeys []string
}

// subtypeRow is one Agent SDK subtype with its runs per last stop reason.
type subtypeRow struct {
	Subtype string
	Total   int64
	ByStop  map[string]int64
	Remedy  string
	Href    string
}

// relatedPatterns are the pattern kinds each stop reason page shows.
var relatedPatterns = map[analytics.StopReason][]string{
	analytics.StopEndTurn:                    {analytics.PatternEmptyTurnTextAfterToolResult, analytics.PatternEmptyTurnUnchangedRetry, analytics.PatternEmptyTurnRecovered},
	analytics.StopMaxTokens:                  {analytics.PatternTruncationChain, analytics.PatternTruncationUnresolved},
	analytics.StopModelContextWindowExceeded: {analytics.PatternContextWindowExceeded},
	analytics.StopPauseTurn:                  {analytics.PatternPauseTurnChain, analytics.PatternPauseTurnUnresolved},
	analytics.StopToolUse:                    {analytics.PatternToolUseLoop},
	analytics.StopRefusal:                    {analytics.PatternRefusalsByModel},
	analytics.StopNull:                       {analytics.PatternAgentSubtype},
}

// shareRows returns each scope's rate of metric m, highest first, the
// scopes without a denominator left out.
func (s *Server) shareRows(ctx context.Context, v filterView, dim store.Dim, m analytics.Metric, list map[string]string) ([]shareRow, error) {
	rows, err := s.RatesBy(ctx, v.Scope(), []store.Dim{dim})
	if err != nil {
		return nil, err
	}
	out := make([]shareRow, 0, len(rows))
	for _, r := range rows {
		rate := analytics.NewRate(string(m), analytics.Tally{})
		if got, ok := r.RateSet.Get(m); ok {
			rate = got
		}
		if rate.Den == 0 {
			continue
		}
		key := scopeValue(r, string(dim))
		set := map[string]string{string(dim): key}
		for k, val := range list {
			set[k] = val
		}
		out = append(out, shareRow{Label: key, Rate: rate, Href: v.scopeLink("/responses", set)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rate.Value > out[j].Rate.Value })
	if len(out) > 1 && out[0].Rate.Num > 0 {
		out[0].Top = true
	}
	return out, nil
}

func (s *Server) latest(ctx context.Context, f store.Filter) ([]*analytics.Record, error) {
	recs, _, err := s.Store.List(ctx, f, latestLimit, "")
	return recs, err
}

func (s *Server) pageStopReason(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	key, err := url.PathUnescape(c.Param("key"))
	if err != nil || key == "" {
		return analytics.Errorf(analytics.ENotFound, "no stop reason %q", c.Param("key"))
	}
	ctx := c.Request().Context()
	r := analytics.ParseStopReasonKey(key)
	m := analytics.StopReasonMetric(r)
	d := stopReasonData{Filter: v, Reason: r, Remedy: analytics.StopReasonRemediation(r), Kinds: relatedPatterns[r]}
	rates, err := s.Rates(ctx, v.Scope())
	if err != nil {
		return err
	}
	d.Share, _ = rates.Get(m)
	if d.Share.Metric == "" {
		d.Share = analytics.NewRate(string(m), analytics.Tally{N: rates.Responses})
	}
	list := map[string]string{"stop_reason": key}
	if d.Apps, err = s.shareRows(ctx, v, store.DimApp, m, list); err != nil {
		return err
	}
	if d.Models, err = s.shareRows(ctx, v, store.DimModel, m, list); err != nil {
		return err
	}
	if d.Kinds == nil && !r.Known() {
		d.Kinds = []string{}
	}
	if len(d.Kinds) > 0 {
		if d.Patterns, err = s.Patterns(ctx, v.Scope(), analytics.DefaultPatternConfig(), 0); err != nil {
			return err
		}
	}
	lf := v.Scope()
	lf.StopReason, lf.HasStopReason = r, true
	if d.Latest, err = s.latest(ctx, lf); err != nil {
		return err
	}
	d.ListHref = v.scopeLink("/responses", list)
	return render(c, http.StatusOK, stopReasonPage(d))
}

// problem fills what every problem page shares.
func (s *Server) problem(c echo.Context, m analytics.Metric, flag analytics.Flag, kinds []string) (problemData, error) {
	v, err := s.filterView(c)
	if err != nil {
		return problemData{}, err
	}
	ctx := c.Request().Context()
	d := problemData{Filter: v, Metric: m, Kinds: kinds, Remedy: analytics.FlagRemediation(flag)}
	rates, err := s.Rates(ctx, v.Scope())
	if err != nil {
		return d, err
	}
	d.Rate, _ = rates.Get(m)
	list := map[string]string{"flag": string(flag)}
	if d.Apps, err = s.shareRows(ctx, v, store.DimApp, m, list); err != nil {
		return d, err
	}
	if d.Models, err = s.shareRows(ctx, v, store.DimModel, m, list); err != nil {
		return d, err
	}
	if d.Patterns, err = s.Patterns(ctx, v.Scope(), analytics.DefaultPatternConfig(), 0); err != nil {
		return d, err
	}
	lf := v.Scope()
	lf.Flag = flag
	if d.Latest, err = s.latest(ctx, lf); err != nil {
		return d, err
	}
	d.ListHref = v.scopeLink("/responses", list)
	return d, nil
}

func (s *Server) pageEmptyTurns(c echo.Context) error {
	d, err := s.problem(c, analytics.MetricEmptyTurn, analytics.FlagEmptyTurn, []string{
		analytics.PatternEmptyTurnTextAfterToolResult, analytics.PatternEmptyTurnUnchangedRetry, analytics.PatternEmptyTurnRecovered,
	})
	if err != nil {
		return err
	}
	d.Title = "Empty turns"
	d.Intro = "Responses that ended with end_turn and no content, usually 2–3 output tokens. They are not refusals: the model decided it was done."
	sum, err := s.summaryOf(c.Request().Context(), d.Filter.Scope())
	if err != nil {
		return err
	}
	known := sum.Causes[string(analytics.CauseTextAfterToolResult)]
	total := sum.Flags[string(analytics.FlagEmptyTurn)]
	d.Causes = []countRow{
		{Key: "text_after_tool_result", Label: "Text right after a tool_result", Count: known, Share: share(known, total), Class: "sr-end_turn",
			Href: d.ListHref},
		{Key: "unknown", Label: "No known cause (or request not sent)", Count: total - known, Share: share(total-known, total), Class: "sr-null",
			Href: d.ListHref},
	}
	return render(c, http.StatusOK, problemPage(d))
}

func (s *Server) pageRefusals(c echo.Context) error {
	d, err := s.problem(c, analytics.MetricRefusal, analytics.FlagRefusal, []string{analytics.PatternRefusalsByModel})
	if err != nil {
		return err
	}
	d.Title = "Refusals"
	d.Intro = "Responses with stop_reason refusal: Claude declined to answer. Frequent refusers are the apps, models, sessions and users whose refusal rate stands significantly above the rest."
	ctx := c.Request().Context()
	for _, by := range []string{RefusersByApp, RefusersByModel, RefusersBySession, RefusersByUser} {
		res, err := s.FrequentRefusers(ctx, d.Filter.Scope(), by, analytics.DefaultRefuserConfig(), 0)
		if err != nil {
			return err
		}
		d.Refusers = append(d.Refusers, res)
	}
	return render(c, http.StatusOK, problemPage(d))
}

func (s *Server) pageTruncation(c echo.Context) error {
	d, err := s.problem(c, analytics.MetricTruncation, analytics.FlagTruncated, []string{
		analytics.PatternTruncationChain, analytics.PatternTruncationUnresolved, analytics.PatternContextWindowExceeded,
	})
	if err != nil {
		return err
	}
	d.Title = "Truncation"
	d.Intro = "Responses cut short by max_tokens or by the model's context window, and the continuation chains that followed them."
	sum, err := s.summaryOf(c.Request().Context(), d.Filter.Scope())
	if err != nil {
		return err
	}
	total := sum.Flags[string(analytics.FlagTruncated)]
	for _, r := range []analytics.StopReason{analytics.StopMaxTokens, analytics.StopModelContextWindowExceeded} {
		n := sum.StopReasons[r.Key()]
		d.Split = append(d.Split, countRow{Key: r.Key(), Label: r.Key(), Count: n, Share: share(n, total), Class: stopClass(r),
			Href: d.Filter.scopeLink("/stop-reasons/"+r.Key(), nil), ListHref: d.Filter.scopeLink("/responses", map[string]string{"stop_reason": r.Key()})})
	}
	return render(c, http.StatusOK, problemPage(d))
}

func (s *Server) pageAgentRuns(c echo.Context) error {
	v, err := s.filterView(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := problemData{Filter: v, Title: "Agent runs", Kinds: []string{analytics.PatternAgentSubtype},
		Intro: "Agent SDK results: how each run ended (its subtype) and the stop reason of its last turn."}
	f := v.Scope()
	f.Kind = analytics.KindAgentResult
	groups, err := s.Store.Aggregate(ctx, store.Query{Filter: f, GroupBy: []store.Dim{store.DimSubtype, store.DimStopReason}})
	if err != nil {
		return err
	}
	bySub := map[string]*subtypeRow{}
	stops := map[string]bool{}
	var total, failed int64
	for _, g := range groups {
		row := bySub[g.Subtype]
		if row == nil {
			row = &subtypeRow{Subtype: g.Subtype, ByStop: map[string]int64{}, Remedy: analytics.AgentSubtypeRemediation(g.Subtype)}
			bySub[g.Subtype] = row
		}
		row.Total += g.N
		row.ByStop[g.StopReason.Key()] += g.N
		stops[g.StopReason.Key()] = true
		total += g.N
		if g.Subtype != analytics.SubtypeSuccess {
			failed += g.N
		}
	}
	for _, st := range analytics.AgentSubtypes {
		if row := bySub[st]; row != nil {
			d.Subtypes = append(d.Subtypes, *row)
			delete(bySub, st)
		}
	}
	for _, k := range sortedMapKeys(bySub) {
		d.Subtypes = append(d.Subtypes, *bySub[k])
	}
	for i := range d.Subtypes {
		d.Subtypes[i].Href = v.scopeLink("/responses", map[string]string{"kind": "agent_result"})
	}
	for _, r := range append(slices.Clone(analytics.KnownStopReasons), analytics.StopNull) {
		if stops[r.Key()] {
			d.StopKeys = append(d.StopKeys, r.Key())
			delete(stops, r.Key())
		}
	}
	for k := range stops {
		d.StopKeys = append(d.StopKeys, k)
	}
	d.Rate = analytics.NewRate("failed_runs", analytics.Tally{K: failed, N: total})
	if d.Patterns, err = s.Patterns(ctx, v.Scope(), analytics.DefaultPatternConfig(), 0); err != nil {
		return err
	}
	if d.Latest, err = s.latest(ctx, f); err != nil {
		return err
	}
	d.ListHref = v.scopeLink("/responses", map[string]string{"kind": "agent_result"})
	return render(c, http.StatusOK, problemPage(d))
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
