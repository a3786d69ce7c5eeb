package otlp

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// ownSpan is a span of one of Claude's own scopes, for a test.
type ownSpan struct {
	name   string
	kind   ptrace.SpanKind
	attrs  map[string]any
	status ptrace.StatusCode
	id     byte
	parent byte
}

// ownTraces builds an export of spans under one resource and scope.
func ownTraces(service, scope string, spans ...ownSpan) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(scope)
	for i, sp := range spans {
		s := ss.Spans().AppendEmpty()
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		id := sp.id
		if id == 0 {
			id = byte(i + 1)
		}
		s.SetTraceID(traceID)
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
		if sp.parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, sp.parent})
		}
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(800 * 1e6)))
		if err := s.Attributes().FromRaw(sp.attrs); err != nil {
			panic(err)
		}
		s.Status().SetCode(sp.status)
	}
	return td
}

// sdkCreate returns the attributes of the Go SDK's anthropic.messages.create
// span of a call answered with stop reason reason (see
// docs/claude-otel reference: internal/telemetry/request.go, response.go).
func sdkCreate(kv ...any) map[string]any {
	m := map[string]any{
		"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat",
		"gen_ai.request.model": "claude-sonnet-4-6", "gen_ai.request.max_tokens": 1024,
		"http.request.method": "POST", "http.route": "/v1/messages", "server.address": "api.anthropic.com", "server.port": 443,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestClaudeOwnSpans counts only the Messages calls among the spans the
// Claude SDKs and the Claude API emit: their other request spans, the tool
// runner's loop and the destination test are not calls.
func TestClaudeOwnSpans(t *testing.T) {
	answered := sdkCreate("gen_ai.response.id", "msg_1", "anthropic.request.id", "req_1",
		"anthropic.message.stop_reason", "end_turn", "gen_ai.usage.input_tokens", 1012, "gen_ai.usage.output_tokens", 9,
		"gen_ai.usage.cache_read.input_tokens", 1000, "http.response.status_code", 200)
	tests := []struct {
		name, service, scope string
		spans                []ownSpan
		want                 int
	}{
		{"Go SDK call", "app", "com.anthropic.sdk.go", []ownSpan{{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, attrs: answered}}, 1},
		{"Bedrock client scope", "app", "com.anthropic.sdk.go.bedrock", []ownSpan{{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, attrs: answered}}, 1},
		{"count_tokens is no call", "app", "com.anthropic.sdk.go", []ownSpan{{name: "anthropic.messages.count_tokens", kind: ptrace.SpanKindClient,
			attrs: map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-6", "anthropic.message.count_tokens.input_tokens": 12}}}, 0},
		{"models.list is no call", "app", "com.anthropic.sdk.typescript", []ownSpan{{name: "anthropic.models.list", kind: ptrace.SpanKindClient,
			attrs: map[string]any{"gen_ai.provider.name": "anthropic", "http.response.status_code": 200}}}, 0},
		{"tool runner loop is no agent run", "app", "com.anthropic.sdk.go", []ownSpan{
			{name: "anthropic.messages.tool_runner", kind: ptrace.SpanKindInternal, id: 1,
				attrs: map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "claude-sonnet-4-6"}},
			{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, id: 2, parent: 1, attrs: answered},
			{name: "anthropic.custom_tool_use get_weather", kind: ptrace.SpanKindInternal, id: 3, parent: 1,
				attrs: map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"}},
		}, 1},
		{"destination test span", "claude-platform", "com.anthropic.claude-platform", []ownSpan{{name: "anthropic.test", kind: ptrace.SpanKindServer,
			attrs: map[string]any{"gen_ai.provider.name": "anthropic", "anthropic.organization.id": "org_1"}}}, 0},
		{"API SERVER span", "claude-platform", "com.anthropic.claude-platform", []ownSpan{{name: "anthropic.messages.create", kind: ptrace.SpanKindServer, attrs: answered}}, 1},
		{"API INTERNAL model run inside the request", "claude-platform", "com.anthropic.claude-platform", []ownSpan{
			{name: "anthropic.messages.create", kind: ptrace.SpanKindServer, id: 1, attrs: answered},
			{name: "anthropic.messages.create", kind: ptrace.SpanKindInternal, id: 2, parent: 1, attrs: sdkCreate("anthropic.message.stop_reason", "pause_turn")},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, rejected, _ := Traces(ownTraces(tt.service, tt.scope, tt.spans...), testNow)
			if len(recs) != tt.want || rejected != 0 {
				t.Fatalf("got %d records (%d rejected), want %d", len(recs), rejected, tt.want)
			}
			for _, r := range recs {
				if r.Kind != analytics.KindMessage || r.StopReason != analytics.StopEndTurn || r.MessageID != "msg_1" || r.RequestID != "req_1" ||
					r.Usage != (analytics.Usage{InputTokens: 12, OutputTokens: 9, CacheReadInputTokens: 1000}) || r.App != tt.service {
					t.Errorf("record %+v", r)
				}
			}
		})
	}
}

// TestClaudeAPISpanUnderSDKSpan: when the app's CLIENT span and the API's
// SERVER span of one call arrive together, they are one record of the app.
func TestClaudeAPISpanUnderSDKSpan(t *testing.T) {
	td := ownTraces("my-app", "com.anthropic.sdk.go", ownSpan{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, id: 1,
		attrs: sdkCreate("gen_ai.response.id", "msg_1", "anthropic.request.id", "req_1", "anthropic.message.stop_reason", "tool_use",
			"gen_ai.usage.input_tokens", 30, "gen_ai.usage.output_tokens", 4)})
	api := ownTraces("claude-platform", "com.anthropic.claude-platform", ownSpan{name: "anthropic.messages.create", kind: ptrace.SpanKindServer, id: 2, parent: 1,
		attrs: map[string]any{"gen_ai.provider.name": "anthropic", "anthropic.request.id": "req_1", "anthropic.workspace.id": "wrkspc_1"}})
	api.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	recs, _, _ := Traces(td, testNow)
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	r := recs[0]
	if r.App != "my-app" || r.MessageID != "msg_1" || r.RequestID != "req_1" || r.StopReason != analytics.StopToolUse || r.Usage.InputTokens != 30 {
		t.Errorf("record %+v", r)
	}
}

// TestStreamRefusedBeforeItBegan: a streamed request answered with an HTTP
// error never streamed; only a stream that began and ended early is cut.
func TestStreamRefusedBeforeItBegan(t *testing.T) {
	tsMsg := `429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your rate limit"}}`
	tests := []struct {
		name   string
		td     ptrace.Traces
		status int
		cut    bool
	}{
		// What OpenInference's TypeScript instrumentation writes: the
		// SDK's thrown error as the status message, the stream in the
		// invocation parameters.
		{"OpenInference TypeScript, 429", traces(spanSpec{status: ptrace.StatusCodeError, statusMsg: tsMsg,
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.model_name": "claude-sonnet-4-6",
				"llm.invocation_parameters": `{"model":"claude-sonnet-4-6","max_tokens":1024,"stream":true}`}}), 429, false},
		{"Go SDK span, 429", ownTraces("app", "com.anthropic.sdk.go", ownSpan{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, status: ptrace.StatusCodeError,
			attrs: sdkCreate("gen_ai.request.stream", true, "error.type", "rate_limit_error", "http.response.status_code", 429, "anthropic.request.id", "req_2")}), 429, false},
		{"Go SDK span, error event", ownTraces("app", "com.anthropic.sdk.go", ownSpan{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, status: ptrace.StatusCodeError,
			attrs: sdkCreate("gen_ai.request.stream", true, "error.type", "overloaded_error", "http.response.status_code", 200, "gen_ai.response.id", "msg_3")}), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, _ := Traces(tt.td, testNow)
			if len(recs) != 1 {
				t.Fatalf("got %d records", len(recs))
			}
			r := recs[0]
			if r.Kind != analytics.KindError || !r.Streamed || r.HTTPStatus != tt.status || r.Flags.Has(analytics.FlagIncompleteStream) != tt.cut {
				t.Errorf("kind=%s streamed=%v status=%d flags=%v, want status %d cut=%v", r.Kind, r.Streamed, r.HTTPStatus, r.Flags.List(), tt.status, tt.cut)
			}
		})
	}
}

// TestAgentSDKOpenInferenceCapture decodes what OpenInference's Claude
// Agent SDK instrumentation sent for a run that hit maxTurns (the
// agent_sdk_error_max_turns fixture): the AGENT span's status is the SDK's
// thrown error, from which the subtype is recovered.
func TestAgentSDKOpenInferenceCapture(t *testing.T) {
	b := testfixtures.Read(t, "claude_code/agent_sdk_error_max_turns/openinference/0001_v1_traces.json")
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	recs, rejected, _ := Traces(req.Traces(), testNow)
	if len(recs) != 1 || rejected != 0 {
		t.Fatalf("got %d records (%d rejected), want the run only", len(recs), rejected)
	}
	r := recs[0]
	if r.Kind != analytics.KindAgentResult || r.Subtype != analytics.SubtypeErrorMaxTurns || r.StopReason != analytics.StopToolUse ||
		r.CostUSD != 0.0015 || r.Usage.InputTokens != 300 || r.Usage.OutputTokens != 40 ||
		r.SessionID != "03289cb6-92d9-4879-a9d1-8ef83400d458" || r.ErrorMessage != "Reached maximum number of turns (1)" ||
		r.App != "agentsdk-oi-http-json-error_max_turns" {
		t.Errorf("record %+v", r)
	}
}

// TestAgentSDKThrownErrors recovers the subtype from each error result the
// Agent SDK throws; a run whose API call failed is an error run without
// Claude Code's synthetic stop_sequence.
func TestAgentSDKThrownErrors(t *testing.T) {
	tests := []struct {
		msg, finish string
		subtype     string
		reason      analytics.StopReason
		errMsg      string
		status      int
	}{
		{"Claude Code returned an error result: Reached maximum number of turns (30)", "tool_use", "error_max_turns", "tool_use", "Reached maximum number of turns (30)", 0},
		{"Claude Code returned an error result: Reached maximum budget ($0.0001)", "end_turn", "error_max_budget_usd", "end_turn", "Reached maximum budget ($0.0001)", 0},
		{"Claude Code returned an error result: Failed to provide valid structured output after 5 attempts", "end_turn", "error_max_structured_output_retries", "end_turn", "Failed to provide valid structured output after 5 attempts", 0},
		{"Claude Code returned an error result: No message found with message.uuid of: 75c9", "", "error_during_execution", "", "No message found with message.uuid of: 75c9", 0},
		{"Claude Code returned an error result: error_during_execution", "", "error_during_execution", "", "error_during_execution", 0},
		{`Claude Code returned an error result: API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "stop_sequence",
			"error_during_execution", "", `API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 529},
		{"Claude Code returned an error result (success, is_error): API Error: Request rejected (429) · rate limited", "stop_sequence",
			"error_during_execution", "", "API Error: Request rejected (429) · rate limited", 429},
		{"Claude Code returned an error result (error_max_turns): Reached maximum number of turns (2)", "tool_use", "error_max_turns", "tool_use",
			"Claude Code returned an error result (error_max_turns): Reached maximum number of turns (2)", 0},
		// A refusal is an answer: the run keeps subtype success and its stop
		// reason, whatever Claude Code calls it.
		{"Claude Code returned an error result: API Error: Claude Code is unable to respond to this request", "refusal",
			"success", "refusal", "API Error: Claude Code is unable to respond to this request", 0},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			attrs := map[string]any{"openinference.span.kind": "AGENT", "llm.model_name": "claude-sonnet-4-6", "llm.cost.total": 0.01}
			if tt.finish != "" {
				attrs["llm.finish_reason"] = tt.finish
			}
			r := one(t, spanSpec{attrs: attrs, status: ptrace.StatusCodeError, statusMsg: tt.msg})
			if r.Kind != analytics.KindAgentResult || r.Subtype != tt.subtype || r.StopReason != tt.reason || r.ErrorMessage != tt.errMsg || r.HTTPStatus != tt.status {
				t.Errorf("kind=%s subtype=%q reason=%q msg=%q status=%d, want %q %q %q %d", r.Kind, r.Subtype, r.StopReason, r.ErrorMessage, r.HTTPStatus,
					tt.subtype, tt.reason, tt.errMsg, tt.status)
			}
		})
	}
}

// TestSDKCutStream: the SDKs mark a stream that ended before message_stop
// with error.type api_error; it is a cut stream (a message without a stop
// reason), not a failed request, as the native decoder counts it.
func TestSDKCutStream(t *testing.T) {
	recs, _, _ := Traces(ownTraces("app", "com.anthropic.sdk.go", ownSpan{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, status: ptrace.StatusCodeError,
		attrs: sdkCreate("gen_ai.request.stream", true, "error.type", "api_error", "http.response.status_code", 200, "gen_ai.response.id", "msg_4",
			"gen_ai.usage.input_tokens", 12)}), testNow)
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	r := recs[0]
	if r.Kind != analytics.KindMessage || r.StopReason != analytics.StopNull || !r.Flags.Has(analytics.FlagIncompleteStream) || r.ErrorType != "" {
		t.Errorf("kind=%s reason=%q flags=%v error=%q", r.Kind, r.StopReason, r.Flags.List(), r.ErrorType)
	}
}

// TestSDKServiceTier keeps the tier the SDK's span says the call was
// served on (anthropic.response.service_tier), not the tier requested.
func TestSDKServiceTier(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"served", sdkCreate("gen_ai.response.id", "msg_t1", "anthropic.message.stop_reason", "end_turn",
			"anthropic.request.service_tier", "auto", "anthropic.response.service_tier", "priority"), "priority"},
		{"only requested", sdkCreate("gen_ai.response.id", "msg_t2", "anthropic.message.stop_reason", "end_turn",
			"anthropic.request.service_tier", "standard_only"), ""},
		{"too long to be a tier", sdkCreate("gen_ai.response.id", "msg_t3", "anthropic.message.stop_reason", "end_turn",
			"anthropic.response.service_tier", strings.Repeat("x", 100)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, _ := Traces(ownTraces("app", "com.anthropic.sdk.go", ownSpan{name: "anthropic.messages.create", kind: ptrace.SpanKindClient, attrs: tt.attrs}), testNow)
			if len(recs) != 1 || recs[0].ServiceTier != tt.want {
				t.Fatalf("records %+v, want one with service tier %q", recs, tt.want)
			}
		})
	}
}
