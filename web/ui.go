package web

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// spikeContext is how much time around a spike "Look closer" shows.
const spikeContext = 2 * time.Hour

// metricClass is the colour class (vocab.css) of a headline metric or stop
// reason share.
func metricClass(m analytics.Metric) string {
	if c := analytics.MetricClass(m); c != "" {
		return c
	}
	if r, ok := m.StopReason(); ok {
		return stopClass(r)
	}
	return stopClass(analytics.StopNull)
}

// metricPage is the page about a metric.
func metricPage(m analytics.Metric) string {
	switch m {
	case analytics.MetricRefusal:
		return "/refusals"
	case analytics.MetricEmptyTurn:
		return "/empty-turns"
	case analytics.MetricTruncation:
		return "/truncation"
	case analytics.MetricError:
		return "/responses"
	}
	if r, ok := m.StopReason(); ok {
		return "/stop-reasons/" + r.Key()
	}
	return "/"
}

// spikeHref is the page about a spike's metric, narrowed to its scope (an
// all-traffic spike keeps the page's own) and to the hours around it.
func spikeHref(v filterView, sp analytics.Spike) string {
	set := map[string]string{
		"range": "",
		"from":  sp.WindowStart.Add(-spikeContext).UTC().Format(time.RFC3339),
		"to":    sp.WindowEnd.Add(spikeContext).UTC().Format(time.RFC3339),
	}
	for k, val := range map[string]string{"app": sp.Scope.App, "environment": sp.Scope.Environment, "model": sp.Scope.Model} {
		if val != "" {
			set[k] = val
		}
	}
	if sp.Metric == analytics.MetricError {
		set["kind"] = "error"
	}
	return v.scopeLink(metricPage(sp.Metric), set)
}

// scopeValue returns the app or model of a ScopeRates row.
func scopeValue(r query.ScopeRates, key string) string {
	switch key {
	case "app":
		return filterValue(r.Scope.App)
	case "environment":
		return filterValue(r.Scope.Environment)
	}
	return filterValue(r.Scope.Model)
}

// filterValue is the filter value that selects records whose value is v:
// store.None for none, so that a "—" row links to exactly its records
// instead of dropping the filter.
func filterValue(v string) string {
	if v == "" {
		return store.None
	}
	return v
}

// worst reports whether rate r is the highest of its column among rows,
// with at least one event, so the table marks who leads each problem.
func worst(rows []query.ScopeRates, r analytics.Rate, metric string) bool {
	if r.Num == 0 || len(rows) < 2 {
		return false
	}
	for _, o := range rows {
		x, _ := o.RateSet.Get(analytics.Metric(metric))
		if x.Value > r.Value {
			return false
		}
	}
	return true
}

// filterPatterns keeps the patterns of the given kinds (all when nil).
func filterPatterns(ps []analytics.Pattern, kinds []string) []analytics.Pattern {
	if kinds == nil {
		return ps
	}
	var out []analytics.Pattern
	for _, p := range ps {
		for _, k := range kinds {
			if p.Kind == k {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// patternDetail says a pattern's figures in a line.
func patternDetail(p analytics.Pattern) string {
	d := p.Detail
	n := func(k string) string { return strconv.FormatInt(int64(d[k]), 10) }
	switch p.Kind {
	case analytics.PatternEmptyTurnTextAfterToolResult, analytics.PatternEmptyTurnCompletedResponseSentBack,
		analytics.PatternEmptyTurnUnchangedRetry, analytics.PatternEmptyTurnRecovered:
		if _, ok := d["unrecovered"]; ok {
			return n("unrecovered") + " of them never recovered."
		}
		if d["claude_code_reasks"] > 0 {
			return n("claude_code_reasks") + " of them by Claude Code's own re-ask."
		}
	case analytics.PatternTruncationChain, analytics.PatternTruncationUnresolved:
		return n("continuations") + " continuations in all, at most " + n("max_continuations") + " in a chain; " +
			n("completed") + " completed, " + n("never_continued") + " never continued."
	case analytics.PatternContextWindowExceeded:
		// A max_tokens past the room the input left is how an app asks for
		// the longest answer without counting its input: information on
		// how these responses came about, not a fault.
		return "Input filled up to " + formatPct(d["max_fill"]) + " of the window (mean " + formatPct(d["mean_fill"]) + "); " +
			n("input_plus_max_tokens_over") + " set max_tokens past the room the input left, the documented way to get the longest answer."
	case analytics.PatternPauseTurnChain, analytics.PatternPauseTurnUnresolved, analytics.PatternCompactionChain, analytics.PatternCompactionUnresolved:
		return n("resumptions") + " resumptions, at most " + n("max_resumptions") + " in a chain; " + n("resolved") + " resolved, " +
			n("never_resumed") + " never resumed."
	case analytics.PatternToolUseLoop:
		var tools []string
		for k := range d {
			if t, ok := strings.CutPrefix(k, "tool:"); ok {
				tools = append(tools, t+" "+n(k))
			}
		}
		sort.Strings(tools)
		return "Longest loop " + n("longest") + " turns. Calls: " + strings.Join(tools, ", ") + "."
	case analytics.PatternAgentSubtype:
		var parts []string
		for k := range d {
			if sr, ok := strings.CutPrefix(k, "stop_reason:"); ok {
				parts = append(parts, sr+" "+n(k))
			}
		}
		sort.Strings(parts)
		s := "Last stop reason: " + strings.Join(parts, ", ") + "."
		if d["before_first_answer"] > 0 {
			s += " " + n("before_first_answer") + " failed before any API answer."
		}
		return s
	case analytics.PatternRefusalsByModel:
		s := formatPct(d["rate"]) + " of " + n("responses") + " responses (95% interval " + formatPct(d["low"]) + "–" + formatPct(d["high"]) + ")."
		if d["safety_filtered"] == 1 {
			s += " This model's API safety filters refuse more often than others'."
		}
		if d["recovered"] > 0 {
			s += " " + n("recovered") + " recovered by a later call (a fallback model, or Claude Code's own re-ask)."
		}
		return s
	}
	return ""
}

// chainText says how a continuation chain ended and what it cost in all:
// "resolved after 2 continuations (end_turn) · 3 calls, 1,200 in, 3,000 out".
func chainText(c analytics.Chain) string {
	u := c.Usage
	return c.Outcome() + " · " + formatInt(int64(len(c.IDs))) + " calls, " + formatInt(u.InputTokens+u.CacheReadInputTokens+u.CacheCreationInputTokens) +
		" input tokens, " + formatInt(u.OutputTokens) + " output tokens in all"
}

// refuserFilter is the list filter of one frequent refuser.
func refuserFilter(by, key string) map[string]string {
	set := map[string]string{"flag": "refusal"}
	switch by {
	case query.RefusersBySession:
		set["session_id"] = key
	case query.RefusersByUser:
		// The list has no user filter: show the refusals of the range.
	default:
		set[by] = filterValue(key)
	}
	return set
}

// liftText is how many times the rest's rate a refuser's is.
func liftText(r query.RefuserRow) string {
	if r.Lift == nil {
		return "∞ (the rest never refused)"
	}
	return strconv.FormatFloat(*r.Lift, 'f', 1, 64) + "×"
}

// idString is a record id without thousands separators, for attributes.
func idString(id int64) string { return strconv.FormatInt(id, 10) }

// adviceShown is the pieces of as that have a text.
func adviceShown(as []analytics.Advice) []analytics.Advice {
	out := make([]analytics.Advice, 0, len(as))
	for _, a := range as {
		if a.Text != "" {
			out = append(out, a)
		}
	}
	return out
}

// docRefTitle names a documentation section for a link's title: "Page:
// section".
func docRefTitle(d analytics.DocRef) string { return "Source: " + d.Title + ", section " + d.Section }

// examplesLabel heads a pattern's examples with how many of its total they
// are: "Examples (3 of 12):", or "Examples:" when they are all of them.
func examplesLabel(what string, shown, total int) string {
	if shown >= total {
		return what + ":"
	}
	return what + " (" + formatInt(int64(shown)) + " of " + formatInt(int64(total)) + "):"
}
