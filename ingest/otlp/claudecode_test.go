package otlp

import (
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/internal/claudecodetest"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// decodeExport decodes one fixture export as the receiver would.
func decodeExport(t *testing.T, e claudecodetest.Export) []*analytics.Record {
	t.Helper()
	b, err := testfixtures.FS.ReadFile(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		recs     []*analytics.Record
		rejected int
		msg      string
	)
	if e.Logs {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		recs, rejected, msg = Logs(req.Logs(), testNow)
	} else {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		recs, rejected, msg = Traces(req.Traces(), testNow)
	}
	if rejected != 0 {
		t.Errorf("%s: %d rejected: %s", e.Path, rejected, msg)
	}
	return recs
}

// TestClaudeCodeFixtures counts the real Claude Code exports exactly in
// each mode, in the order they were sent and in reverse.
func TestClaudeCodeFixtures(t *testing.T) {
	for _, run := range claudecodetest.Runs(t) {
		for _, mode := range claudecodetest.Modes {
			exports := run.Exports(mode)
			for _, reverse := range []bool{false, true} {
				if reverse {
					exports = slices.Clone(exports)
					slices.Reverse(exports)
				}
				var recs []*analytics.Record
				for _, e := range exports {
					recs = append(recs, decodeExport(t, e)...)
				}
				claudecodetest.Check(t, run, mode, claudecodetest.Join(recs))
			}
		}
	}
}

// TestClaudeCodeOpenInferenceHalf: the OpenInference spans of the Agent
// SDK run are the SDK's result, not Claude Code's: one agent result.
func TestClaudeCodeNotCalls(t *testing.T) {
	// The tool spans and the interaction span of the Agent SDK run's
	// Claude Code are not calls: only its llm_request is.
	recs := decodeExport(t, claudecodetest.Export{Path: claudecodetest.Dir + "/agent_sdk_error_max_turns/claude_code/0001_v1_traces.json"})
	if len(recs) != 1 || recs[0].Kind != analytics.KindMessage || recs[0].StopReason != analytics.StopToolUse {
		t.Fatalf("records %+v, want the one tool_use call", recs)
	}
}

// TestClaudeCodeBadEvents: an export with unknown event names, call events
// without a request id and absurd numbers keeps what is good and names the
// rest.
func TestClaudeCodeBadEvents(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "cc")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(claudeCodeEvents)
	add := func(name string, attrs map[string]any) {
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr("claude_code." + name)
		lr.Attributes().PutStr("event.name", name)
		lr.Attributes().PutStr("session.id", "s")
		lr.SetTimestamp(1796149710866000000)
		for k, v := range attrs {
			switch v := v.(type) {
			case string:
				lr.Attributes().PutStr(k, v)
			case int:
				lr.Attributes().PutInt(k, int64(v))
			case float64:
				lr.Attributes().PutDouble(k, v)
			}
		}
	}
	add("some_future_event", map[string]any{"request_id": "req_x"})
	add("api_request", map[string]any{"request_id": "req_ok", "input_tokens": 12, "output_tokens": 9, "cost_usd": 0.000171})
	add("api_request", map[string]any{"input_tokens": 12, "output_tokens": 9})
	add("api_request", map[string]any{"request_id": "req_neg", "input_tokens": -5})
	add("api_request", map[string]any{"request_id": "req_huge", "cost_usd": 1e300})
	add("api_error", map[string]any{"request_id": "req_err", "status_code": 429, "error": "Rate limited", "attempt": 3})
	recs, rejected, msg := Logs(ld, testNow)
	if len(recs) != 2 || recs[0].RequestID != "req_ok" || recs[1].RequestID != "req_err" {
		t.Fatalf("records %+v, want req_ok and req_err", recs)
	}
	if e := recs[1]; e.Kind != analytics.KindError || e.HTTPStatus != 429 || e.ErrorType != "rate_limit_error" || e.Attempts != 3 || e.ErrorMessage != "Rate limited" {
		t.Errorf("failed call %+v, want 429 rate_limit_error after 3 attempts", e)
	}
	if rejected != 3 {
		t.Errorf("rejected %d, want 3", rejected)
	}
	for _, want := range []string{"without request_id", "input_tokens -5", "cost_usd"} {
		if !strings.Contains(msg, want) {
			t.Errorf("rejection %q does not name %q", msg, want)
		}
	}
}

// TestClaudeCodeErrorClass maps Claude Code's error classes to the API's
// error types when a span has no HTTP status.
func TestClaudeCodeErrorClass(t *testing.T) {
	for class, want := range map[string]string{
		"server_overload": "overloaded_error", "rate_limit": "rate_limit_error", "server_error": "api_error",
		"authentication": "authentication_error", "something_new": "something_new",
	} {
		var r analytics.Record
		ccFailed(&r, 0, class, "")
		if r.ErrorType != want || r.HTTPStatus != 0 {
			t.Errorf("class %s: type %q status %d, want %q and none", class, r.ErrorType, r.HTTPStatus, want)
		}
	}
}
