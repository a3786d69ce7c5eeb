package otlp

import (
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
)

var (
	t0      = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	traceID = pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

// spanSpec describes one span for a test.
type spanSpec struct {
	attrs     map[string]any
	status    ptrace.StatusCode
	statusMsg string
	events    map[string]map[string]any
	id        byte
	parent    byte
	noIDs     bool
	// start and end, when set, replace the span's times (t0 and 1.5 s on).
	start, end pcommon.Timestamp
}

// traces builds a trace export of the given spans under one resource.
func traces(specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "app")
	rs.Resource().Attributes().PutStr("deployment.environment", "prod")
	ss := rs.ScopeSpans().AppendEmpty()
	for i, sp := range specs {
		s := ss.Spans().AppendEmpty()
		id := sp.id
		if id == 0 {
			id = byte(i + 1)
		}
		if !sp.noIDs {
			s.SetTraceID(traceID)
			s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
		}
		if sp.parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, sp.parent})
		}
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(1500 * time.Millisecond)))
		if sp.start != 0 {
			s.SetStartTimestamp(sp.start)
		}
		if sp.end != 0 {
			s.SetEndTimestamp(sp.end)
		}
		if err := s.Attributes().FromRaw(sp.attrs); err != nil {
			panic(err)
		}
		s.Status().SetCode(sp.status)
		s.Status().SetMessage(sp.statusMsg)
		for name, a := range sp.events {
			ev := s.Events().AppendEmpty()
			ev.SetName(name)
			if err := ev.Attributes().FromRaw(a); err != nil {
				panic(err)
			}
		}
	}
	return td
}

// one decodes a single span and returns its only record.
func one(t *testing.T, sp spanSpec) *analytics.Record {
	t.Helper()
	recs, rejected, _ := Traces(traces(sp), testNow)
	if rejected != 0 || len(recs) != 1 {
		t.Fatalf("got %d records, %d rejected; want 1, 0", len(recs), rejected)
	}
	return recs[0]
}

func anthropicSpan(kv ...any) map[string]any {
	m := map[string]any{"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4-6"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestStopReasonConventions(t *testing.T) {
	tests := []struct {
		name      string
		attrs     map[string]any
		events    map[string]map[string]any
		want      analytics.StopReason
		ambiguous bool
	}{
		{"raw anthropic.message.stop_reason", anthropicSpan("anthropic.message.stop_reason", "end_turn"), nil, "end_turn", false},
		{"raw llm.finish_reason (OpenInference)", map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.finish_reason": "max_tokens"}, nil, "max_tokens", false},
		{"raw gen_ai.completion.N.finish_reason (old OpenLLMetry)", map[string]any{"gen_ai.system": "Anthropic", "gen_ai.completion.0.finish_reason": "stop_sequence"}, nil, "stop_sequence", false},
		{"raw beats generic", anthropicSpan("anthropic.message.stop_reason", "stop_sequence", "gen_ai.response.finish_reasons", []any{"stop"}), nil, "stop_sequence", false},
		{"raw unknown future reason kept", anthropicSpan("anthropic.message.stop_reason", "new_reason", "gen_ai.response.finish_reasons", []any{"stop"}), nil, "new_reason", false},
		{"generic passthrough refusal", anthropicSpan("gen_ai.response.finish_reasons", []any{"refusal"}), nil, "refusal", false},
		{"generic length", anthropicSpan("gen_ai.response.finish_reasons", []any{"length"}), nil, "max_tokens", false},
		{"generic tool_call", anthropicSpan("gen_ai.response.finish_reasons", []any{"tool_call"}), nil, "tool_use", false},
		{"generic tool_calls", anthropicSpan("gen_ai.response.finish_reasons", []any{"tool_calls"}), nil, "tool_use", false},
		{"generic content_filter", anthropicSpan("gen_ai.response.finish_reasons", []any{"content_filter"}), nil, "refusal", false},
		{"generic unknown kept", anthropicSpan("gen_ai.response.finish_reasons", []any{"weird"}), nil, "weird", false},
		{"finish_reasons as a plain string", anthropicSpan("gen_ai.response.finish_reasons", "length"), nil, "max_tokens", false},
		{"stop, stop sequences not recorded", anthropicSpan("gen_ai.response.finish_reasons", []any{"stop"}), nil, "end_turn", true},
		{"stop, request had none", anthropicSpan("gen_ai.response.finish_reasons", []any{"stop"}, "gen_ai.request.stop_sequences", []any{}), nil, "end_turn", false},
		{"stop, request had some", anthropicSpan("gen_ai.response.finish_reasons", []any{"stop"}, "gen_ai.request.stop_sequences", []any{"END"}), nil, "end_turn", true},
		{"stop, invocation parameters without stop sequences", anthropicSpan("gen_ai.response.finish_reasons", []any{"stop"}, "llm.invocation_parameters", `{"max_tokens":100}`), nil, "end_turn", false},
		{"stop, invocation parameters with stop sequences", anthropicSpan("gen_ai.response.finish_reasons", []any{"stop"}, "llm.invocation_parameters", `{"stop_sequences":["X"]}`), nil, "end_turn", true},
		{"stop inside output.messages only", anthropicSpan("gen_ai.output.messages", `[{"role":"assistant","finish_reason":"stop","parts":[{"type":"text","content":"hi"}]}]`), nil, "end_turn", true},
		{"OpenLIT: raw in finish_reasons, generic in output.messages", anthropicSpan("gen_ai.response.finish_reasons", []any{"end_turn"}, "gen_ai.output.messages", `[{"role":"assistant","finish_reason":"stop","parts":[{"type":"text","content":"hi"}]}]`), nil, "end_turn", false},
		{"OpenLIT: stop_sequence wins over stop", anthropicSpan("gen_ai.response.finish_reasons", []any{"stop_sequence"}, "gen_ai.output.messages", `[{"role":"assistant","finish_reason":"stop","parts":[]}]`), nil, "stop_sequence", false},
		{"gen_ai.choice span event tool_calls", anthropicSpan(), map[string]map[string]any{"gen_ai.choice": {"index": 0, "finish_reason": "tool_calls", "message": map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"id": "t1", "type": "function", "function": map[string]any{"name": "lookup"}}}}}}, "tool_use", false},
		{"gen_ai.choice span event error: no reason", anthropicSpan(), map[string]map[string]any{"gen_ai.choice": {"index": 0, "finish_reason": "error"}}, "", false},
		{"no reason at all", anthropicSpan(), nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, spanSpec{attrs: tt.attrs, events: tt.events})
			if r.StopReason != tt.want || r.StopReasonAmbiguous != tt.ambiguous || r.Kind != analytics.KindMessage {
				t.Errorf("got %q ambiguous=%v kind=%s, want %q ambiguous=%v", r.StopReason, r.StopReasonAmbiguous, r.Kind, tt.want, tt.ambiguous)
			}
			if tt.want != "" && !tt.want.Known() && !r.Flags.Has(analytics.FlagUnknownStopReason) {
				t.Errorf("unknown reason not flagged: %v", r.Flags.List())
			}
		})
	}
}

func TestUsageConventions(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  analytics.Usage
	}{
		{"GenAI input counts the cache", anthropicSpan("gen_ai.usage.input_tokens", 1000, "gen_ai.usage.output_tokens", 50,
			"gen_ai.usage.cache_read.input_tokens", 600, "gen_ai.usage.cache_creation.input_tokens", 100),
			analytics.Usage{InputTokens: 300, OutputTokens: 50, CacheReadInputTokens: 600, CacheCreationInputTokens: 100}},
		{"underscore cache forms", anthropicSpan("gen_ai.usage.input_tokens", 1000, "gen_ai.usage.output_tokens", 50,
			"gen_ai.usage.cache_read_input_tokens", 600, "gen_ai.usage.cache_creation_input_tokens", 100),
			analytics.Usage{InputTokens: 300, OutputTokens: 50, CacheReadInputTokens: 600, CacheCreationInputTokens: 100}},
		{"Anthropic SDK cache_write form", anthropicSpan("gen_ai.usage.input_tokens", 700, "gen_ai.usage.cache_write.input_tokens", 200),
			analytics.Usage{InputTokens: 500, CacheCreationInputTokens: 200}},
		{"deprecated prompt and completion tokens", anthropicSpan("gen_ai.usage.prompt_tokens", 40, "gen_ai.usage.completion_tokens", 7),
			analytics.Usage{InputTokens: 40, OutputTokens: 7}},
		{"input below its cache part was counted like the Messages API", anthropicSpan("gen_ai.usage.input_tokens", 10, "gen_ai.usage.cache_read.input_tokens", 600),
			analytics.Usage{InputTokens: 10, CacheReadInputTokens: 600}},
		{"OpenInference token counts", map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.token_count.prompt": 900,
			"llm.token_count.completion": 30, "llm.token_count.prompt_details.cache_read": 500, "llm.token_count.prompt_details.cache_write": 100},
			analytics.Usage{InputTokens: 300, OutputTokens: 30, CacheReadInputTokens: 500, CacheCreationInputTokens: 100}},
		{"integers written as strings", anthropicSpan("gen_ai.usage.input_tokens", "12", "gen_ai.usage.output_tokens", "9"),
			analytics.Usage{InputTokens: 12, OutputTokens: 9}},
		{"raw response body is most faithful", map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.token_count.prompt": 999,
			"output.value": `{"type":"message","id":"msg_1","stop_reason":"end_turn","content":[{"type":"text","text":"x"}],"usage":{"input_tokens":5,"output_tokens":6,"cache_read_input_tokens":7,"cache_creation_input_tokens":8}}`},
			analytics.Usage{InputTokens: 5, OutputTokens: 6, CacheReadInputTokens: 7, CacheCreationInputTokens: 8}},
		// The Claude SDKs split the cache writes by lifetime in
		// anthropic.usage.cache_creation.* (docs/claude-otel.md).
		{"SDK 1-hour cache writes", anthropicSpan("gen_ai.usage.input_tokens", 1000, "gen_ai.usage.cache_write.input_tokens", 800,
			"anthropic.usage.cache_creation.ephemeral_5m_input_tokens", 300, "anthropic.usage.cache_creation.ephemeral_1h_input_tokens", 500),
			analytics.Usage{InputTokens: 200, CacheCreationInputTokens: 800, CacheCreation1hInputTokens: 500}},
		{"raw response body's cache_creation split", map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic",
			"anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 1,
			"output.value": `{"type":"message","id":"msg_1","stop_reason":"end_turn","content":[{"type":"text","text":"x"}],"usage":{"input_tokens":5,"output_tokens":6,` +
				`"cache_read_input_tokens":0,"cache_creation_input_tokens":8,"cache_creation":{"ephemeral_5m_input_tokens":2,"ephemeral_1h_input_tokens":6}}}`},
			analytics.Usage{InputTokens: 5, OutputTokens: 6, CacheCreationInputTokens: 8, CacheCreation1hInputTokens: 6}},
		// The SDK spans leave compaction iterations out of gen_ai.usage.*
		// and report them in anthropic.usage.compaction.*.
		{"SDK compaction attributes", anthropicSpan("gen_ai.usage.input_tokens", 100, "gen_ai.usage.output_tokens", 20,
			"anthropic.usage.compaction.input_tokens", 150000, "anthropic.usage.compaction.output_tokens", 2300),
			analytics.Usage{InputTokens: 100, OutputTokens: 20, CompactionInputTokens: 150000, CompactionOutputTokens: 2300}},
		{"compaction attributes alone leave the other counts to OpenInference", map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic",
			"llm.token_count.prompt": 90, "anthropic.usage.compaction.input_tokens": 40},
			analytics.Usage{InputTokens: 90, CompactionInputTokens: 40}},
		{"raw response usage.iterations of type compaction", map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic",
			"anthropic.usage.compaction.input_tokens": 1,
			"output.value": `{"type":"message","id":"msg_1","stop_reason":"compaction","content":[{"type":"compaction","content":"s"}],"usage":{"input_tokens":0,"output_tokens":0,` +
				`"iterations":[{"type":"compaction","input_tokens":100,"output_tokens":9,"cache_read_input_tokens":20,"cache_creation_input_tokens":3},{"type":"message","input_tokens":5,"output_tokens":5}]}}`},
			analytics.Usage{CompactionInputTokens: 123, CompactionOutputTokens: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := one(t, spanSpec{attrs: tt.attrs}).Usage; got != tt.want {
				t.Errorf("usage %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestErrorConventions(t *testing.T) {
	tsMsg := `529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	pyMsg := `Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': 'Number of request tokens has exceeded your rate limit'}}`
	tests := []struct {
		name                  string
		spec                  spanSpec
		status                int
		errType, errMsgPrefix string
	}{
		{"TypeScript exception event", spanSpec{attrs: anthropicSpan(), status: ptrace.StatusCodeError,
			events: map[string]map[string]any{"exception": {"exception.type": "Error", "exception.message": tsMsg}}}, 529, "overloaded_error", "Overloaded"},
		{"Python exception event", spanSpec{attrs: anthropicSpan(), status: ptrace.StatusCodeError,
			events: map[string]map[string]any{"exception": {"exception.type": "RateLimitError", "exception.message": pyMsg}}}, 429, "rate_limit_error", "Number of request tokens"},
		{"status message only", spanSpec{attrs: anthropicSpan(), status: ptrace.StatusCodeError, statusMsg: tsMsg}, 529, "overloaded_error", "Overloaded"},
		{"error.type and http.response.status_code", spanSpec{attrs: anthropicSpan("error.type", "overloaded_error", "http.response.status_code", 529)}, 529, "overloaded_error", ""},
		{"error.type alone: status from the API's type", spanSpec{attrs: anthropicSpan("error.type", "api_error"), status: ptrace.StatusCodeError}, 500, "api_error", ""},
		{"class name in error.type, API type in the message", spanSpec{attrs: anthropicSpan("error.type", "APIError"), status: ptrace.StatusCodeError,
			events: map[string]map[string]any{"exception": {"exception.message": tsMsg}}}, 529, "overloaded_error", "Overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, tt.spec)
			if r.Kind != analytics.KindError || r.HTTPStatus != tt.status || r.ErrorType != tt.errType || r.StopReason != "" {
				t.Errorf("got kind=%s status=%d type=%q reason=%q", r.Kind, r.HTTPStatus, r.ErrorType, r.StopReason)
			}
			if len(r.ErrorMessage) < len(tt.errMsgPrefix) || r.ErrorMessage[:len(tt.errMsgPrefix)] != tt.errMsgPrefix {
				t.Errorf("message %q, want prefix %q", r.ErrorMessage, tt.errMsgPrefix)
			}
		})
	}
}

func TestAgentRuns(t *testing.T) {
	tests := []struct {
		name     string
		spec     spanSpec
		subtype  string
		reason   analytics.StopReason
		turns    int64
		cost     float64
		errorMsg string
	}{
		{"OpenInference agent, Result error", spanSpec{
			attrs:  map[string]any{"openinference.span.kind": "AGENT", "llm.cost.total": 0.0842, "gen_ai.agent.num_turns": 3, "llm.finish_reason": "tool_use"},
			status: ptrace.StatusCodeError, statusMsg: "Result error: error_max_turns"}, "error_max_turns", "tool_use", 3, 0.0842, "Result error: error_max_turns"},
		{"OpenLIT invoke_agent success", spanSpec{
			attrs: map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "anthropic", "gen_ai.usage.cost": 0.5,
				"gen_ai.agent.num_turns": "7", "gen_ai.response.finish_reasons": []any{"end_turn"}, "gen_ai.agent.duration_ms": 48211}},
			"success", "end_turn", 7, 0.5, ""},
		{"OpenLIT invoke_agent failed, subtype in message", spanSpec{
			attrs:  map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "claude_agent_sdk", "error.type": "AgentError", "gen_ai.agent.num_turns": 2},
			status: ptrace.StatusCodeError, statusMsg: "error_max_budget_usd: budget exhausted"}, "error_max_budget_usd", "", 2, 0, "error_max_budget_usd: budget exhausted"},
		{"agent result body in output.value", spanSpec{
			attrs: map[string]any{"openinference.span.kind": "AGENT", "llm.provider": "anthropic",
				"output.value": `{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":3,"total_cost_usd":0.25,"duration_ms":100,"uuid":"u-1","stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}`}},
			"error_max_turns", "tool_use", 3, 0.25, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, tt.spec)
			if r.Kind != analytics.KindAgentResult || r.Subtype != tt.subtype || r.StopReason != tt.reason ||
				r.NumTurns != tt.turns || r.CostUSD != tt.cost || r.ErrorMessage != tt.errorMsg {
				t.Errorf("got kind=%s subtype=%q reason=%q turns=%d cost=%v msg=%q", r.Kind, r.Subtype, r.StopReason, r.NumTurns, r.CostUSD, r.ErrorMessage)
			}
		})
	}
}

func TestSpansSkipped(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
	}{
		{"HTTP span", map[string]any{"http.request.method": "GET", "url.path": "/"}},
		{"no attributes", map[string]any{}},
		{"another provider", map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.finish_reasons": []any{"stop"}}},
		{"tool execution", map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.provider.name": "anthropic", "gen_ai.tool.name": "x"}},
		{"embeddings", map[string]any{"gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "anthropic"}},
		{"OpenInference chain", map[string]any{"openinference.span.kind": "CHAIN", "input.value": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, rejected, _ := Traces(traces(spanSpec{attrs: tt.attrs}), testNow)
			if len(recs) != 0 || rejected != 0 {
				t.Errorf("got %d records, %d rejected; want none", len(recs), rejected)
			}
		})
	}
}

func TestRejectedWithoutIDs(t *testing.T) {
	recs, rejected, msg := Traces(traces(spanSpec{attrs: anthropicSpan(), noIDs: true}, spanSpec{attrs: anthropicSpan()}), testNow)
	if len(recs) != 1 || rejected != 1 || msg == "" {
		t.Errorf("got %d records, %d rejected (%q)", len(recs), rejected, msg)
	}
}

func TestContentAndRequest(t *testing.T) {
	tests := []struct {
		name     string
		attrs    map[string]any
		content  []analytics.Block
		messages []analytics.Message
		flags    []analytics.Flag
		causes   []analytics.Cause
	}{
		{
			name: "GenAI messages, text after tool_result, empty turn",
			attrs: anthropicSpan("gen_ai.response.finish_reasons", []any{"end_turn"},
				"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"sum"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"t","name":"calc","arguments":{}}]},{"role":"user","parts":[{"type":"tool_call_response","id":"t","response":"6912"},{"type":"text","content":"Here's the result"}]}]`,
				"gen_ai.output.messages", `[{"role":"assistant","parts":[],"finish_reason":"end_turn"}]`),
			content: []analytics.Block{},
			messages: []analytics.Message{
				{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "sum"}}},
				{Role: "assistant", Blocks: []analytics.Block{{Type: "tool_use", Name: "calc"}}},
				{Role: "user", Blocks: []analytics.Block{{Type: "tool_result", Text: "6912"}, {Type: "text", Text: "Here's the result"}}},
			},
			flags:  []analytics.Flag{analytics.FlagEmptyTurn},
			causes: []analytics.Cause{analytics.CauseTextAfterToolResult},
		},
		{
			name: "OpenInference flattened messages, tool message then user text",
			attrs: map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.finish_reason": "end_turn",
				"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "go",
				"llm.input_messages.1.message.role": "tool", "llm.input_messages.1.message.content": "42",
				"llm.input_messages.2.message.role": "user", "llm.input_messages.2.message.content": "thanks",
				"llm.output_messages.0.message.role":                                 "assistant",
				"llm.output_messages.0.message.contents.0.message_content.type":      "text",
				"llm.output_messages.0.message.contents.0.message_content.text":      " ",
				"llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "ignored_when_contents_name_it",
				"llm.output_messages.0.message.contents.1.message_content.type":      "tool_use",
				"llm.output_messages.0.message.contents.1.tool_call.function.name":   "get_weather"},
			content: []analytics.Block{{Type: "text", Text: " "}, {Type: "tool_use", Name: "get_weather"}},
			messages: []analytics.Message{
				{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "go"}, {Type: "tool_result", Text: "42"}, {Type: "text", Text: "thanks"}}},
			},
			flags:  []analytics.Flag{},
			causes: nil,
		},
		{
			name: "old OpenLLMetry flattened prompt and completion",
			attrs: map[string]any{"gen_ai.system": "Anthropic", "gen_ai.completion.0.finish_reason": "end_turn", "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "",
				"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": `[{"type":"tool_result","tool_use_id":"t","content":"6912"},{"type":"text","text":"Here's the result"}]`},
			content:  []analytics.Block{{Type: "text", Text: ""}},
			messages: []analytics.Message{{Role: "user", Blocks: []analytics.Block{{Type: "tool_result", Text: "6912"}, {Type: "text", Text: "Here's the result"}}}},
			flags:    []analytics.Flag{analytics.FlagEmptyTurn},
			causes:   []analytics.Cause{analytics.CauseTextAfterToolResult},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, spanSpec{attrs: tt.attrs})
			if !reflect.DeepEqual(r.Content, tt.content) {
				t.Errorf("content %+v, want %+v", r.Content, tt.content)
			}
			if r.Req == nil || !reflect.DeepEqual(r.Req.Messages, tt.messages) {
				t.Errorf("request %+v, want messages %+v", r.Req, tt.messages)
			}
			if !reflect.DeepEqual(r.Flags.List(), tt.flags) || !reflect.DeepEqual(r.Causes, tt.causes) {
				t.Errorf("flags %v causes %v, want %v %v", r.Flags.List(), r.Causes, tt.flags, tt.causes)
			}
		})
	}
}

func TestSpanFacts(t *testing.T) {
	r := one(t, spanSpec{attrs: anthropicSpan("gen_ai.request.stream", true, "gen_ai.response.id", "msg_1", "gen_ai.response.model", "claude-opus-4-1",
		"gen_ai.request.max_tokens", 64, "gen_ai.request.stop_sequences", []any{"END"}, "gen_ai.conversation.id", "sess", "anthropic.message.stop_reason", "max_tokens")})
	want := analytics.Record{Source: "otlp", App: "app", Environment: "prod", MessageID: "msg_1", SessionID: "sess", Model: "claude-opus-4-1", Streamed: true,
		Time: t0, LatencyMS: 1500, Kind: analytics.KindMessage, StopReason: "max_tokens",
		TraceID: "0102030405060708090a0b0c0d0e0f10", SpanID: "0000000000000001", ContentUnrecorded: true}
	got := *r
	got.Flags, got.Req = 0, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if r.Req == nil || r.Req.MaxTokens != 64 || !reflect.DeepEqual(r.Req.StopSequences, []string{"END"}) || !r.Flags.Has(analytics.FlagTruncated) {
		t.Errorf("request %+v flags %v", r.Req, r.Flags.List())
	}
}

func TestNestedSpansMerge(t *testing.T) {
	outer := spanSpec{id: 1, attrs: map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.finish_reason": "tool_use",
		"llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.contents.0.message_content.type": "tool_use",
		"llm.output_messages.0.message.contents.0.tool_call.function.name": "get_weather"}}
	inner := spanSpec{id: 2, parent: 1, attrs: anthropicSpan("anthropic.message.stop_reason", "tool_use", "gen_ai.response.id", "msg_9", "gen_ai.usage.output_tokens", 4)}
	unrelated := spanSpec{id: 3, attrs: anthropicSpan("anthropic.message.stop_reason", "end_turn")}
	recs, _, _ := Traces(traces(outer, inner, unrelated), testNow)
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	r := recs[0]
	if r.SpanID != "0000000000000002" || r.MessageID != "msg_9" || r.Usage.OutputTokens != 4 || !reflect.DeepEqual(r.Tools, []string{"get_weather"}) {
		t.Errorf("merged record %+v", r)
	}
}

// TestIntegersAsNumbersAndStrings checks that OTLP JSON with intValue and
// timestamps written as numbers (exporters) or strings (the protobuf JSON
// mapping) decode alike.
func TestIntegersAsNumbersAndStrings(t *testing.T) {
	doc := func(i, ts string) []byte {
		return []byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[{
			"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"chat",
			"startTimeUnixNano":` + ts + `,"endTimeUnixNano":` + ts + `,
			"attributes":[{"key":"gen_ai.provider.name","value":{"stringValue":"anthropic"}},
			{"key":"gen_ai.usage.output_tokens","value":{"intValue":` + i + `}},
			{"key":"gen_ai.request.max_tokens","value":{"intValue":` + i + `}},
			{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"length"}]}}}]}]}]}]}`)
	}
	var got []analytics.Record
	for _, b := range [][]byte{doc("1024", "1795345375298000000"), doc(`"1024"`, `"1795345375298000000"`)} {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		recs, _, _ := Traces(req.Traces(), testNow)
		if len(recs) != 1 {
			t.Fatalf("got %d records", len(recs))
		}
		got = append(got, *recs[0])
	}
	if got[0].Usage.OutputTokens != 1024 || got[0].Req.MaxTokens != 1024 || got[0].Time.UnixNano() != 1795345375298000000 || got[0].StopReason != "max_tokens" {
		t.Errorf("numbers: %+v", got[0])
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Errorf("numbers and strings differ:\n%+v\n%+v", got[0], got[1])
	}
}

func TestLogsChoiceEvents(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "bot")
	sl := rl.ScopeLogs().AppendEmpty()
	add := func(span byte, name string, body map[string]any, viaAttr bool) {
		lr := sl.LogRecords().AppendEmpty()
		if viaAttr {
			lr.Attributes().PutStr("event.name", name)
		} else {
			lr.SetEventName(name)
		}
		lr.Attributes().PutStr("gen_ai.system", "anthropic")
		lr.SetTraceID(traceID)
		lr.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, span})
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0))
		if err := lr.Body().SetEmptyMap().FromRaw(body); err != nil {
			t.Fatal(err)
		}
	}
	add(1, "gen_ai.user.message", map[string]any{"content": "weather?"}, false)
	add(1, "gen_ai.choice", map[string]any{"index": 0, "finish_reason": "tool_calls",
		"message": map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"id": "c", "type": "function", "function": map[string]any{"name": "get_weather"}}}}}, false)
	add(2, "gen_ai.choice", map[string]any{"index": 0, "finish_reason": "error"}, true)
	add(3, "gen_ai.choice", map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"content": ""}}, false)
	add(4, "gen_ai.user.message", map[string]any{"content": "no choice: no record"}, false)
	lr := sl.LogRecords().AppendEmpty()
	lr.Body().SetStr("an ordinary log line")

	recs, rejected, _ := Logs(ld, testNow)
	if rejected != 0 || len(recs) != 3 {
		t.Fatalf("got %d records, %d rejected; want 3, 0", len(recs), rejected)
	}
	if r := recs[0]; r.StopReason != "tool_use" || !reflect.DeepEqual(r.Tools, []string{"get_weather"}) || r.App != "bot" ||
		r.SpanID != "0000000000000001" || !r.Time.Equal(t0) || r.Req == nil || len(r.Req.Messages) != 1 || r.Req.Messages[0].Blocks[0].Text != "weather?" {
		t.Errorf("tool_calls choice: %+v", r)
	}
	if r := recs[1]; r.StopReason != "" || r.Kind != analytics.KindMessage {
		t.Errorf("error choice: reason %q kind %s", r.StopReason, r.Kind)
	}
	if r := recs[2]; r.StopReason != "end_turn" || !r.StopReasonAmbiguous || !r.Flags.Has(analytics.FlagEmptyTurn) {
		t.Errorf("stop choice: %+v", r)
	}
}

func TestLogsInferenceDetailsEvent(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "bot")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.client.inference.operation.details")
	if err := lr.Attributes().FromRaw(anthropicSpan("gen_ai.response.finish_reasons", []any{"refusal"}, "gen_ai.response.id", "msg_5", "gen_ai.usage.output_tokens", 3)); err != nil {
		t.Fatal(err)
	}
	recs, _, _ := Logs(ld, testNow)
	if len(recs) != 1 || recs[0].StopReason != "refusal" || recs[0].MessageID != "msg_5" || !recs[0].Time.Equal(testNow) || !recs[0].Flags.Has(analytics.FlagRefusal) {
		t.Fatalf("records %+v", recs)
	}
}

// TestStopDetailsFromRawResponse keeps a refusal's stop_details from a raw
// response body (no attribute carries it on its own).
func TestStopDetailsFromRawResponse(t *testing.T) {
	rec := one(t, spanSpec{attrs: map[string]any{"openinference.span.kind": "LLM", "llm.provider": "anthropic",
		"output.value": `{"type":"message","id":"msg_1","model":"claude-opus-5","stop_reason":"refusal","content":[],` +
			`"stop_details":{"type":"refusal","category":"frontier_llm","explanation":"e","recommended_model":"claude-sonnet-4-6"},"usage":{"input_tokens":5,"output_tokens":0}}`}})
	want := analytics.StopDetails{Type: "refusal", Category: analytics.RefusalCategoryFrontierLLM, Explanation: "e", RecommendedModel: "claude-sonnet-4-6"}
	if rec.StopDetails == nil || *rec.StopDetails != want {
		t.Fatalf("stop_details %+v, want %+v", rec.StopDetails, want)
	}
	if rec.RefusalCategory() != analytics.RefusalCategoryFrontierLLM || !rec.Flags.Has(analytics.FlagRefusal) {
		t.Errorf("category %q flags %v", rec.RefusalCategory(), rec.Flags.List())
	}
}
