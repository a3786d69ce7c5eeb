package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// TestDemo runs "dashboard demo" on a fresh database at a fixed time: it
// stores a week of traffic with every stop reason, flag, cause, error and
// Agent SDK subtype the pages show, the same for the same seed, and then
// refuses to run again on the filled database unless --force.
func TestDemo(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	db := filepath.Join(t.TempDir(), "demo.db")
	env := func(string) string { return "" }
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"--db", db}, env, &out, clock); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stored") || !strings.Contains(out.String(), "fired") {
		t.Errorf("demo output: %q", out.String())
	}
	// The default rules, replayed over the incidents, left alerts that
	// fired and resolved, the overload burst among them, each with its
	// history, and every rule calm now.
	st, err := cli.OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	as := st.(alert.Store)
	evs, err := as.ListAlertEvents(context.Background(), alert.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	overload := false
	for _, ev := range evs {
		if ev.Status != alert.StatusResolved {
			t.Errorf("demo alert %+v not resolved", ev)
		}
		overload = overload || ev.Scope.ErrorType == "overloaded_error"
		h, err := as.ListAlertHistory(context.Background(), ev.RuleID, 0)
		if err != nil || len(h) < 2 {
			t.Errorf("history of rule %d: %+v, %v", ev.RuleID, h, err)
		}
	}
	if !overload || len(evs) < 2 {
		t.Errorf("demo alerts %+v: want the overload burst and more", evs)
	}
	st.Close()
	err = Run(context.Background(), []string{"--db", db}, env, &out, clock)
	if err == nil || !strings.Contains(err.Error(), "already has records") {
		t.Errorf("second run on a filled database: %v, want a refusal", err)
	}

	recs, err := Records(at, 1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Records(at, 1)
	if len(again) != len(recs) || len(recs) < 10000 {
		t.Fatalf("demo made %d then %d records: want the same, and a week's worth", len(recs), len(again))
	}
	seen := map[string]int{}
	for _, r := range recs {
		if r.Time.After(at) || r.Time.Before(at.Add(-Span)) {
			t.Fatalf("record at %s outside the week before %s", r.Time, at)
		}
		if r.Kind == analytics.KindError {
			seen["error:"+r.ErrorType]++
		} else {
			seen["stop:"+r.StopReason.Key()]++
		}
		for _, f := range r.Flags.List() {
			seen["flag:"+string(f)]++
		}
		for _, c := range r.Causes {
			seen["cause:"+string(c)]++
		}
		if r.Subtype != "" {
			seen["subtype:"+r.Subtype]++
		}
		if r.Streamed {
			seen["streamed"]++
		}
		if r.Req != nil && r.SessionID != "" {
			seen["request+session"]++
		}
	}
	want := []string{"stop:null", "stop:future_stop_reason_example",
		"cause:" + string(analytics.CauseTextAfterToolResult), "error:overloaded_error", "error:rate_limit_error", "error:api_error",
		"streamed", "request+session"}
	for _, r := range analytics.KnownStopReasons {
		want = append(want, "stop:"+r.Key())
	}
	for _, f := range analytics.AllFlags {
		want = append(want, "flag:"+string(f))
	}
	for _, st := range analytics.AgentSubtypes {
		want = append(want, "subtype:"+st)
	}
	// The vocabulary the demo does not generate yet, named so that what
	// analytics adds later is not missed silently.
	notYet := map[string]bool{
		"stop:" + analytics.StopCompaction.Key():          true,
		"flag:" + string(analytics.FlagNoStopReason):      true,
		"flag:" + string(analytics.FlagProbablyTruncated): true,
	}
	var missing []string
	for _, k := range want {
		if seen[k] == 0 && !notYet[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("the demo lacks %v (saw %v)", missing, seen)
	}

	// The scripted incidents show as spikes and patterns.
	patterns := analytics.FindPatterns(recs, analytics.DefaultPatternConfig())
	kinds := map[string]int{}
	for _, p := range patterns {
		kinds[p.Kind] += p.Count
	}
	for _, k := range []string{analytics.PatternEmptyTurnTextAfterToolResult, analytics.PatternEmptyTurnUnchangedRetry,
		analytics.PatternEmptyTurnRecovered, analytics.PatternTruncationChain, analytics.PatternPauseTurnChain,
		analytics.PatternAgentSubtype, analytics.PatternRefusalsByModel} {
		if kinds[k] == 0 {
			t.Errorf("no %s pattern in the demo (found %v)", k, kinds)
		}
	}
}

// TestDemoChanges: the demo's ops-copilot release raised empty turns and
// data-extractor's model switch raised refusals, and query.Changes finds
// both as significant regressions.
func TestDemoChanges(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := Records(at, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := Insert(context.Background(), st, recs); err != nil {
		t.Fatal(err)
	}
	res, err := query.New(st, func() time.Time { return at }).Changes(context.Background(), store.Filter{}, analytics.ChangeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]analytics.Metric{
		"ops-copilot release 2026.11.4":           analytics.MetricEmptyTurn,
		"ops-copilot prompt_version ops-agent@v7": analytics.MetricEmptyTurn,
		"data-extractor model claude-sonnet-4-6":  analytics.MetricRefusal,
		"data-extractor release extractor-42":     analytics.MetricRefusal,
	}
	for _, c := range res.Changes {
		key := c.App + " " + string(c.Dim) + " " + c.Value
		m, ok := want[key]
		if !ok {
			continue
		}
		delete(want, key)
		if c.Status != query.ChangeRegressed || !slices.ContainsFunc(c.Findings, func(f query.ChangeFinding) bool { return f.Metric == m }) {
			t.Errorf("%s: status %s, findings %+v; want %s worse", key, c.Status, c.Findings, m)
		}
	}
	for k := range want {
		t.Errorf("change %s not found in %d changes", k, len(res.Changes))
	}
}
