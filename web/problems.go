package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// shareRow is one app's or model's rate of a metric.
type shareRow struct {
	Label string
	Rate  analytics.Rate
	Href  string
	Top   bool
}

// stopReasonData is what the page of one stop reason shows.
type stopReasonData struct {
	Filter filterView
	Reason analytics.StopReason
	Share  analytics.Rate
	// Info is what the vocabulary says about Reason: its meaning and
	// advice, the Agent SDK's where they differ.
	Info   analytics.StopReasonInfo
	Apps   []shareRow
	Models []shareRow
	// MoreApps and MoreModels count the rows Apps and Models left out.
	MoreApps, MoreModels int
	Patterns             query.PatternsResult
	Kinds                []string
	Latest               []*analytics.Record
	ListHref             string
}

// problemData is what a focused problem page shows: Empty turns, Refusals,
// Truncation, Agent runs.
type problemData struct {
	Filter filterView
	Title  string
	Intro  string
	Metric analytics.Metric
	Rate   analytics.Rate
	Advice []analytics.Advice
	Apps   []shareRow
	Models []shareRow
	// MoreApps and MoreModels count the rows Apps and Models left out.
	MoreApps, MoreModels int
	Patterns             query.PatternsResult
	Kinds                []string
	Latest               []*analytics.Record
	ListHref             string
	// Causes: empty turns with a known cause and without one.
	Causes []countRow
	// Refusers: frequent refusers by app, model, session and user.
	Refusers []query.RefusersResult
	// Categories: refusals by stop_details category, and the
	// documentation's fix for a categorised refusal.
	Categories     []countRow
	CategoryAdvice analytics.Advice
	// Split: truncation by stop reason.
	Split []countRow
	// Pinned: calls without a stop reason whose output reached their
	// max_tokens (probably_truncated), on the Truncation page.
	Pinned []countRow
	// Subtypes: agent runs by subtype, each by last stop reason.
	Subtypes []subtypeRow
	// StopKeys are the columns of Subtypes.
	StopKeys []string
	// AgentTotals are the cost, turns and duration of the agent runs,
	// on the Agent runs page (nil elsewhere).
	AgentTotals *query.AgentTotals
}

// subtypeRow is one Agent SDK subtype with its runs per last stop reason.
type subtypeRow struct {
	Subtype string
	Total   int64
	ByStop  map[string]int64
	Advice  analytics.Advice
	Href    string
}

// relatedPatterns are the pattern kinds each stop reason page shows.
var relatedPatterns = map[analytics.StopReason][]string{
	analytics.StopEndTurn: {analytics.PatternEmptyTurnTextAfterToolResult, analytics.PatternEmptyTurnCompletedResponseSentBack,
		analytics.PatternEmptyTurnUnchangedRetry, analytics.PatternEmptyTurnRecovered},
	analytics.StopMaxTokens:                  {analytics.PatternTruncationChain, analytics.PatternTruncationUnresolved},
	analytics.StopModelContextWindowExceeded: {analytics.PatternContextWindowExceeded},
	analytics.StopPauseTurn:                  {analytics.PatternPauseTurnChain, analytics.PatternPauseTurnUnresolved},
	analytics.StopCompaction:                 {analytics.PatternCompactionChain, analytics.PatternCompactionUnresolved},
	analytics.StopToolUse:                    {analytics.PatternToolUseLoop},
	analytics.StopRefusal:                    {analytics.PatternRefusalsByModel},
	analytics.StopNull:                       {analytics.PatternAgentSubtype},
}

// shareRows lays out each app's or model's (dim's) rate of a metric as
// rows that link to the records of list in that scope.
func shareRows(v filterView, dim store.Dim, shares []query.Share, list map[string]string) []shareRow {
	out := make([]shareRow, 0, len(shares))
	for _, sh := range shares {
		set := map[string]string{string(dim): filterValue(sh.Key)}
		for k, val := range list {
			set[k] = val
		}
		out = append(out, shareRow{Label: sh.Key, Rate: sh.Rate, Href: v.scopeLink("/responses", set), Top: sh.Top})
	}
	return out
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
	r := analytics.ParseStopReasonKey(key)
	d := stopReasonData{Filter: v, Reason: r, Info: analytics.StopReasonInfoOf(r), Kinds: relatedPatterns[r]}
	if d.Kinds == nil && !r.Known() {
		d.Kinds = []string{}
	}
	fo, err := s.Query.StopReasonFocus(c.Request().Context(), v.Scope(), r, len(d.Kinds) > 0)
	if err != nil {
		return err
	}
	list := map[string]string{"stop_reason": key}
	d.Share, d.Patterns, d.Latest = fo.Rate, fo.Patterns, fo.Latest
	d.Apps = shareRows(v, store.DimApp, fo.Apps, list)
	d.Models = shareRows(v, store.DimModel, fo.Models, list)
	d.MoreApps, d.MoreModels = fo.MoreApps, fo.MoreModels
	d.ListHref = v.scopeLink("/responses", list)
	return render(c, http.StatusOK, stopReasonPage(d))
}

// problem fills what every problem page shares.
func (s *Server) problem(c echo.Context, m analytics.Metric, flag analytics.Flag, kinds []string) (problemData, error) {
	v, err := s.filterView(c)
	if err != nil {
		return problemData{}, err
	}
	info, _ := analytics.FlagInfoOf(flag)
	d := problemData{Filter: v, Title: info.Label, Metric: m, Kinds: kinds, Advice: info.Advices()}
	fo, err := s.Query.FlagFocus(c.Request().Context(), v.Scope(), m, flag)
	if err != nil {
		return d, err
	}
	list := map[string]string{"flag": string(flag)}
	d.Rate, d.Patterns, d.Latest = fo.Rate, fo.Patterns, fo.Latest
	d.Apps = shareRows(v, store.DimApp, fo.Apps, list)
	d.Models = shareRows(v, store.DimModel, fo.Models, list)
	d.MoreApps, d.MoreModels = fo.MoreApps, fo.MoreModels
	d.ListHref = v.scopeLink("/responses", list)
	return d, nil
}

func (s *Server) pageEmptyTurns(c echo.Context) error {
	d, err := s.problem(c, analytics.MetricEmptyTurn, analytics.FlagEmptyTurn, []string{
		analytics.PatternEmptyTurnTextAfterToolResult, analytics.PatternEmptyTurnCompletedResponseSentBack,
		analytics.PatternEmptyTurnUnchangedRetry, analytics.PatternEmptyTurnRecovered,
	})
	if err != nil {
		return err
	}
	d.Intro = "Responses that ended with end_turn and no content, usually 2–3 output tokens. They are not refusals: the model decided it was done."
	sum, err := s.Query.Summary(c.Request().Context(), d.Filter.Scope())
	if err != nil {
		return err
	}
	total := sum.Flags[string(analytics.FlagEmptyTurn)]
	var known int64
	for _, ci := range analytics.CauseTable {
		if ci.Flag != analytics.FlagEmptyTurn {
			continue
		}
		n := sum.Causes[string(ci.Cause)]
		known += n
		d.Causes = append(d.Causes, countRow{Key: string(ci.Cause), Label: ci.Label, Count: n, Share: share(n, total), Class: ci.Class(),
			Href: d.ListHref})
	}
	d.Causes = append(d.Causes, countRow{Key: "unknown", Label: "No known cause (or request not sent)", Count: total - known, Share: share(total-known, total),
		Class: stopClass(analytics.StopNull), Href: d.ListHref})
	return render(c, http.StatusOK, problemPage(d))
}

func (s *Server) pageRefusals(c echo.Context) error {
	d, err := s.problem(c, analytics.MetricRefusal, analytics.FlagRefusal, []string{analytics.PatternRefusalsByModel})
	if err != nil {
		return err
	}
	d.Intro = "Responses with stop_reason refusal: Claude declined to answer. Frequent refusers are the apps, models, sessions and users whose refusal rate stands significantly above the rest."
	ctx := c.Request().Context()
	cats, err := s.Query.RefusalCategories(ctx, d.Filter.Scope())
	if err != nil {
		return err
	}
	for _, rc := range cats {
		list := d.Filter.scopeLink("/responses", map[string]string{"flag": string(analytics.FlagRefusal), "refusal_category": rc.Key})
		d.Categories = append(d.Categories, countRow{Key: rc.Key, Label: rc.Label, Count: rc.Count, Share: rc.Share,
			Class: stopClass(analytics.StopRefusal), Href: list, ListHref: list})
	}
	d.CategoryAdvice = analytics.RefusalCategoryAdvice
	for _, by := range []string{query.RefusersByApp, query.RefusersByModel, query.RefusersBySession, query.RefusersByUser} {
		res, err := s.Query.FrequentRefusers(ctx, d.Filter.Scope(), by, analytics.DefaultRefuserConfig(), 0)
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
	d.Intro = "Responses cut short by max_tokens or by the model's context window, and the continuation chains that followed them."
	sum, err := s.Query.Summary(c.Request().Context(), d.Filter.Scope())
	if err != nil {
		return err
	}
	total := sum.Flags[string(analytics.FlagTruncated)]
	for _, r := range []analytics.StopReason{analytics.StopMaxTokens, analytics.StopModelContextWindowExceeded} {
		n := sum.StopReasons[r.Key()]
		d.Split = append(d.Split, countRow{Key: r.Key(), Label: r.Key(), Count: n, Share: share(n, total), Class: stopClass(r),
			Href: d.Filter.scopeLink("/stop-reasons/"+r.Key(), nil), ListHref: d.Filter.scopeLink("/responses", map[string]string{"stop_reason": r.Key()})})
	}
	// A hint apart from the stop reasons: the calls a producer sent without
	// one that end pinned at their max_tokens.
	pinned := sum.Flags[string(analytics.FlagProbablyTruncated)]
	pi, _ := analytics.FlagInfoOf(analytics.FlagProbablyTruncated)
	list := d.Filter.scopeLink("/responses", map[string]string{"flag": string(analytics.FlagProbablyTruncated)})
	d.Pinned = []countRow{{Key: string(analytics.FlagProbablyTruncated), Label: "null, output at max_tokens", Count: pinned,
		Share: share(pinned, sum.StopReasons[analytics.StopNull.Key()]), Class: pi.Class(), Href: list, ListHref: list}}
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
	runs, err := s.Query.AgentRuns(ctx, v.Scope())
	if err != nil {
		return err
	}
	for _, r := range runs.Subtypes {
		d.Subtypes = append(d.Subtypes, subtypeRow{
			Subtype: r.Subtype, Total: r.Total, ByStop: r.ByStop, Advice: analytics.AgentSubtypeAdvice(r.Subtype),
			Href: v.scopeLink("/responses", map[string]string{"kind": "agent_result"}),
		})
	}
	d.StopKeys = runs.StopKeys
	d.Rate = runs.Failed
	d.AgentTotals = &runs.Totals
	if d.Patterns, err = s.Query.Patterns(ctx, v.Scope(), analytics.DefaultPatternConfig(), 0); err != nil {
		return err
	}
	f := v.Scope()
	f.Kind = analytics.KindAgentResult
	if d.Latest, err = s.Query.Latest(ctx, f); err != nil {
		return err
	}
	d.ListHref = v.scopeLink("/responses", map[string]string{"kind": "agent_result"})
	return render(c, http.StatusOK, problemPage(d))
}
