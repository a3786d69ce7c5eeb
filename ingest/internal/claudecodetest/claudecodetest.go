// Package claudecodetest reads the Claude Code telemetry fixtures
// (claude_code in ingest/testfixtures: real OTLP/HTTP JSON exports of Claude
// Code 2.1.328 and of one Agent SDK run, with expected.json saying what
// truly happened) and checks the records decoded from them against what
// truly happened, for the tests of ingest/otlp and ingest/receiver.
package claudecodetest

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// Dir is the fixtures' directory in testfixtures.FS.
const Dir = "claude_code"

// Call is one API call the stand-in Messages API answered.
type Call struct {
	RequestID string  `json:"request_id"`
	MessageID string  `json:"message_id"`
	Status    int     `json:"status"`
	ErrorType string  `json:"error_type"`
	Attempts  int64   `json:"attempts"`
	Stop      *string `json:"stop_reason"`
	Usage     struct {
		InputTokens              int64 `json:"input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	} `json:"usage"`
	Content   bool    `json:"content"`
	EmptyTurn bool    `json:"empty_turn"`
	CostUSD   float64 `json:"cost_usd"`
}

// Run is one captured run: its export files, in the order sent, and its
// calls.
type Run struct {
	Name        string   `json:"-"`
	ServiceName string   `json:"service_name"`
	Files       []string `json:"files"`
	Calls       []Call   `json:"calls"`
}

// Mode is which of Claude Code's signals reach stopscope.
type Mode string

// The modes: its default (logs only), traces only, and both.
const (
	LogsOnly   Mode = "logs"
	TracesOnly Mode = "traces"
	Both       Mode = "both"
)

// Modes lists every mode.
var Modes = []Mode{LogsOnly, TracesOnly, Both}

// Runs returns the Claude Code runs of expected.json (those whose calls it
// lists), sorted by name.
func Runs(t testing.TB) []Run {
	t.Helper()
	b := testfixtures.Read(t, path.Join(Dir, "expected.json"))
	var doc struct {
		Runs map[string]Run `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []Run
	for name, r := range doc.Runs {
		if r.Calls == nil {
			continue // the OpenInference half of the Agent SDK run
		}
		r.Name = name
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Export is one export file: its path in testfixtures.FS and whether it
// went to /v1/logs.
type Export struct {
	Path string
	Logs bool
}

// Exports returns the run's export files that mode sends, in order.
func (r Run) Exports(mode Mode) []Export {
	var out []Export
	for _, f := range r.Files {
		logs := strings.HasSuffix(f, "_v1_logs.json")
		if mode == LogsOnly && !logs || mode == TracesOnly && logs {
			continue
		}
		out = append(out, Export{path.Join(Dir, r.Name, f), logs})
	}
	return out
}

// Check compares the records stored for a run (one per identity, after
// every export of mode) with what truly happened: one record per call,
// with the facts the signals of mode carry.
func Check(t testing.TB, run Run, mode Mode, recs []*analytics.Record) {
	t.Helper()
	byID := map[string]*analytics.Record{}
	for _, r := range recs {
		if r.Kind == analytics.KindAgentResult {
			t.Errorf("%s/%s: an Agent SDK result from Claude Code's telemetry: %+v", run.Name, mode, r)
			continue
		}
		if byID[r.RequestID] != nil {
			t.Errorf("%s/%s: request %s counted twice", run.Name, mode, r.RequestID)
		}
		byID[r.RequestID] = r
	}
	if len(recs) != len(run.Calls) {
		t.Errorf("%s/%s: %d records, want %d calls", run.Name, mode, len(recs), len(run.Calls))
	}
	logs := mode != TracesOnly
	for _, c := range run.Calls {
		r := byID[c.RequestID]
		if r == nil {
			t.Errorf("%s/%s: no record of call %s", run.Name, mode, c.RequestID)
			continue
		}
		var errs []string
		check := func(what string, got, want any) {
			if got != want {
				errs = append(errs, fmt.Sprintf("%s %v, want %v", what, got, want))
			}
		}
		check("app", r.App, run.ServiceName)
		check("identity", r.Identity(), c.RequestID)
		if c.Status >= 400 {
			check("kind", r.Kind, analytics.KindError)
			check("http status", r.HTTPStatus, c.Status)
			check("error type", r.ErrorType, c.ErrorType)
			check("attempts", r.Attempts, c.Attempts)
			check("stop reason", r.StopReason, analytics.StopNull)
		} else {
			check("kind", r.Kind, analytics.KindMessage)
			// The logs carry a stop reason only in api_response_body (sent
			// for answers with content) and as api_refusal.
			want, unrecorded := analytics.StopReason(*c.Stop), ""
			if mode == LogsOnly && !c.Content && want != analytics.StopRefusal {
				want, unrecorded = analytics.StopNull, analytics.StopUnrecordedClaudeCodeLogs
			}
			check("stop reason", r.StopReason, want)
			check("stop reason unrecorded", r.StopReasonUnrecorded, unrecorded)
			if r.Attempts != 0 {
				check("attempts", r.Attempts, c.Attempts)
			}
			if mode == TracesOnly {
				check("attempts", r.Attempts, c.Attempts)
			}
			// Only the response body names the message.
			wantMsg := ""
			if logs && c.Content {
				wantMsg = c.MessageID
			}
			check("message id", r.MessageID, wantMsg)
			check("content", len(r.Content) > 0, c.Content && logs)
			// The response body names the tier it was served on (the
			// stand-in answers standard).
			wantTier := ""
			if logs && c.Content {
				wantTier = "standard"
			}
			check("service tier", r.ServiceTier, wantTier)
		}
		// Every log event names its prompt; the spans do not.
		check("has prompt id", r.PromptID != "", logs)
		check("input tokens", r.Usage.InputTokens, c.Usage.InputTokens)
		check("output tokens", r.Usage.OutputTokens, c.Usage.OutputTokens)
		check("cache read tokens", r.Usage.CacheReadInputTokens, c.Usage.CacheReadInputTokens)
		check("cache creation tokens", r.Usage.CacheCreationInputTokens, c.Usage.CacheCreationInputTokens)
		wantCost := c.CostUSD
		if !logs {
			wantCost = 0 // the spans carry no cost
		}
		if math.Abs(r.CostUSD-wantCost) > 1e-12 {
			errs = append(errs, fmt.Sprintf("cost %v, want %v", r.CostUSD, wantCost))
		}
		check("empty turn", r.Flags.Has(analytics.FlagEmptyTurn), c.EmptyTurn)
		check("refusal", r.Flags.Has(analytics.FlagRefusal), c.Stop != nil && *c.Stop == "refusal")
		check("incomplete stream", r.Flags.Has(analytics.FlagIncompleteStream), false)
		if r.SessionID == "" {
			errs = append(errs, "no session id")
		}
		if len(errs) > 0 {
			t.Errorf("%s/%s: call %s: %s", run.Name, mode, c.RequestID, strings.Join(errs, "; "))
		}
	}
}

// Join merges records of one identity per app, as the store does, in the
// order they come.
func Join(recs []*analytics.Record) []*analytics.Record {
	idx := map[string]int{}
	var out []*analytics.Record
	for _, r := range recs {
		key := r.App + "\x00" + r.Identity()
		if i, ok := idx[key]; ok && r.Identity() != "" {
			if m, changed := analytics.Merge(out[i], r); changed {
				out[i] = m
			}
			continue
		}
		idx[key] = len(out)
		out = append(out, r)
	}
	return out
}
