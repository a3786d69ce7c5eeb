package web

import (
	"context"
	"encoding/json"
	"html"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/otlp"
	"github.com/stopscope/stopscope/ingest/testfixtures"
	"github.com/stopscope/stopscope/store"
)

// ccNow is the clock the Claude Code fixtures (2026-12-01) decode by.
var ccNow = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

// ccExports decodes every export of a claude_code fixture folder, as the
// receiver would.
func ccExports(t *testing.T, dir string) []*analytics.Record {
	t.Helper()
	var out []*analytics.Record
	for _, name := range testfixtures.Names(t, path.Join("claude_code", dir)) {
		b := testfixtures.Read(t, name)
		switch {
		case strings.HasSuffix(name, "_v1_logs.json"):
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			recs, _, _ := otlp.Logs(req.Logs(), ccNow)
			out = append(out, recs...)
		case strings.HasSuffix(name, "_v1_traces.json"):
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			recs, _, _ := otlp.Traces(req.Traces(), ccNow)
			out = append(out, recs...)
		}
	}
	return out
}

// ccResult decodes the result message a fixture run ended with, posted
// natively in session.
func ccResult(t *testing.T, run, session string) *analytics.Record {
	t.Helper()
	var exp struct {
		Runs map[string]struct {
			Result json.RawMessage `json:"result"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(testfixtures.Read(t, "claude_code/expected.json"), &exp); err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"app": "agent", "session_id": session, "result": exp.Runs[run].Result})
	r, err := ingest.DecodeRecord(env, ingest.Options{Now: ccNow})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func byRequest(t *testing.T, st store.Store, session, request string) *analytics.Record {
	t.Helper()
	recs, _, err := st.List(context.Background(), store.Filter{SessionID: session}, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if (request == "" && r.Kind == analytics.KindAgentResult) || (request != "" && r.RequestID == request) {
			return r
		}
	}
	t.Fatalf("no record %q in session %s", request, session)
	return nil
}

// TestRunCallsShown: an Agent SDK run's record page lists the calls its
// Claude Code reported under the same session (OpenInference's AGENT span
// and Claude Code's own telemetry, of two service names), naming the
// re-asks Claude Code made by itself; a call's page shows its service
// tier; a run whose API call failed shows its subtype and status.
func TestRunCallsShown(t *testing.T) {
	ts, st := testServer(t)
	const sdk, maxTok, failed = "03289cb6-92d9-4879-a9d1-8ef83400d458", "d83ba900-4aec-4dd1-8529-dceda651b639", "e3c13c86-4b5c-452f-821e-a421b9288208"
	recs := append(ccExports(t, "agent_sdk_error_max_turns/openinference"), ccExports(t, "agent_sdk_error_max_turns/claude_code")...)
	recs = append(recs, ccResult(t, "cli_max_tokens", maxTok))
	recs = append(recs, ccExports(t, "cli_max_tokens")...)
	recs = append(recs, ccResult(t, "cli_error_529", failed))
	insertAll(t, st, recs)

	tests := []struct {
		name, session, request string
		want, not              []string
	}{
		{"OpenInference run", sdk, "", []string{"Claude Code calls of this run (1)", recordHref(byRequest(t, st, sdk, "req_fake_mx5154l4_000155").ID), "error_max_turns"},
			[]string{"Claude Code&#39;s own"}},
		{"native run with a continuation", maxTok, "", []string{"Claude Code calls of this run (2)",
			recordHref(byRequest(t, st, maxTok, "req_fake_mx5154l4_000085").ID), recordHref(byRequest(t, st, maxTok, "req_fake_mx5154l4_000087").ID),
			"Claude Code's own continuation after max_tokens"}, nil},
		{"a call's service tier", maxTok, "req_fake_mx5154l4_000087", []string{"Service tier", "<code>standard</code>"}, []string{"Claude Code calls of this run"}},
		{"failed API call", failed, "", []string{"error_during_execution", "its API call failed with HTTP 529", "Claude Code calls of this run (0)", "No call of session"},
			[]string{">stop_sequence<"}},
	}
	// The API's record has the tier and the prompt too.
	var api struct {
		ServiceTier string `json:"service_tier"`
		PromptID    string `json:"prompt_id"`
	}
	mustGet(t, ts, "/api/v1/responses/"+strconv.FormatInt(byRequest(t, st, maxTok, "req_fake_mx5154l4_000087").ID, 10), &api)
	if api.ServiceTier != "standard" || api.PromptID == "" {
		t.Errorf("API record: service_tier %q prompt_id %q", api.ServiceTier, api.PromptID)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := byRequest(t, st, tt.session, tt.request)
			code, body := getHTML(t, ts.URL+recordHref(r.ID))
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			plain := html.UnescapeString(body)
			for _, w := range tt.want {
				if !strings.Contains(plain, w) && !strings.Contains(body, w) {
					t.Errorf("record page lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(body, w) {
					t.Errorf("record page has %q", w)
				}
			}
		})
	}
}

// TestRecoveryDetail says the recoveries Claude Code's re-asks made.
func TestRecoveryDetail(t *testing.T) {
	tests := []struct {
		p    analytics.Pattern
		want string
	}{
		{analytics.Pattern{Kind: analytics.PatternEmptyTurnRecovered, Detail: map[string]float64{"claude_code_reasks": 2}}, "2 of them by Claude Code's own re-ask."},
		{analytics.Pattern{Kind: analytics.PatternRefusalsByModel, Detail: map[string]float64{"rate": 0.5, "responses": 2, "low": 0.1, "high": 0.9, "recovered": 1}},
			"recovered by a later call"},
		{analytics.Pattern{Kind: analytics.PatternRefusalsByModel, Detail: map[string]float64{"rate": 0.5, "responses": 2}}, ""},
	}
	for _, tt := range tests {
		got := patternDetail(tt.p)
		if tt.want == "" && strings.Contains(got, "recovered") || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("patternDetail(%v) = %q, want it to say %q", tt.p.Detail, got, tt.want)
		}
	}
}
