package otlp

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/stopscope/stopscope/analytics"
)

// Claude Code (and the Claude Agent SDK, which runs it) exports its own
// telemetry: log events under the scope claudeCodeEvents, one per thing
// that happened, and, with CLAUDE_CODE_ENHANCED_TELEMETRY_BETA, spans under
// claudeCodeTracing. Neither follows the GenAI conventions for the facts
// that matter here, so both are read by name. Every API call is one record
// whose identity is its request id (analytics.Record.KeyedByRequest): the
// events and the span of one call, in one export or several, are joined
// into it (analytics.Merge, here within an export and in the store across
// exports).
const (
	claudeCodeEvents  = "com.anthropic.claude_code.events"
	claudeCodeTracing = "com.anthropic.claude_code.tracing"
	claudeCodePrefix  = "claude_code."
	// claudeCodeLLMRequest is the one span of Claude Code that is an API
	// call; its tool and interaction spans are not calls.
	claudeCodeLLMRequest = "claude_code.llm_request"
)

// Bounds past which a Claude Code number is absurd: the event or span is
// rejected rather than counted.
const (
	maxClaudeCodeTokens = analytics.MaxTokens
	maxClaudeCodeCost   = 1e6 // USD for one call
	maxClaudeCodeMS     = int64(30 * 24 * time.Hour / time.Millisecond)
)

// isClaudeCodeSpan reports whether a span is Claude Code's own.
func isClaudeCodeSpan(scope, name string) bool {
	return scope == claudeCodeTracing || strings.HasPrefix(name, claudeCodePrefix)
}

// claudeCodeEventName returns the name of a Claude Code log event without
// its claude_code. prefix, or "" when lr is not one. The name is the
// EventName field, the event.name attribute or the body, whichever is set.
func claudeCodeEventName(lr plog.LogRecord, scope string) string {
	name := eventName(lr)
	body := ""
	if lr.Body().Type() == pcommon.ValueTypeStr {
		body = lr.Body().Str()
	}
	switch {
	case strings.HasPrefix(name, claudeCodePrefix):
		return strings.TrimPrefix(name, claudeCodePrefix)
	case strings.HasPrefix(body, claudeCodePrefix) && !strings.ContainsAny(body, " {"):
		return strings.TrimPrefix(body, claudeCodePrefix)
	case scope == claudeCodeEvents:
		return name
	}
	return ""
}

// claudeCodeRecord is what every Claude Code call record starts as.
func claudeCodeRecord(m pcommon.Map, res resource) *analytics.Record {
	r := &analytics.Record{
		Source:         Source,
		App:            res.app,
		Environment:    firstNonEmpty(res.env, mapStr(m, "deployment.environment.name")),
		Release:        res.release,
		Kind:           analytics.KindMessage,
		RequestID:      mapStr(m, "request_id"),
		SessionID:      firstNonEmpty(mapStr(m, "session.id"), mapStr(m, "gen_ai.conversation.id")),
		UserID:         mapStr(m, "user.id"),
		Model:          firstNonEmpty(mapStr(m, "gen_ai.response.model"), mapStr(m, "model"), mapStr(m, "gen_ai.request.model")),
		PromptID:       clipID(mapStr(m, "prompt.id")),
		KeyedByRequest: true,
	}
	return r
}

// ccNumbers reads a Claude Code signal's numbers: tokens, cost, duration,
// time to first token and attempt. bad names the first absurd one.
func ccNumbers(m pcommon.Map, r *analytics.Record) (bad string) {
	ints := []struct {
		key string
		dst *int64
		max int64
	}{
		{"input_tokens", &r.Usage.InputTokens, maxClaudeCodeTokens},
		{"output_tokens", &r.Usage.OutputTokens, maxClaudeCodeTokens},
		{"cache_read_tokens", &r.Usage.CacheReadInputTokens, maxClaudeCodeTokens},
		{"cache_creation_tokens", &r.Usage.CacheCreationInputTokens, maxClaudeCodeTokens},
		{"cache_creation_1h_tokens", &r.Usage.CacheCreation1hInputTokens, maxClaudeCodeTokens},
		{"duration_ms", &r.LatencyMS, maxClaudeCodeMS},
		{"ttft_ms", &r.TTFTMS, maxClaudeCodeMS},
		{"attempt", &r.Attempts, 1000},
	}
	for _, f := range ints {
		v, ok := m.Get(f.key)
		if !ok {
			continue
		}
		n, ok := valueInt(v)
		if !ok || n < 0 || n > f.max {
			return fmt.Sprintf("%s %s", f.key, v.AsString())
		}
		*f.dst = n
	}
	if v, ok := m.Get("cost_usd"); ok {
		c := valueFloat(v)
		if math.IsNaN(c) || c < 0 || c > maxClaudeCodeCost {
			return "cost_usd " + v.AsString()
		}
		r.CostUSD = c
	}
	return ""
}

// claudeCodeSpan reads one of Claude Code's spans. It returns nil (and no
// error) for the spans that are not API calls: claude_code.interaction (a
// prompt), claude_code.tool and its children. A call without a request
// id, or with an absurd number, is an error that says why.
func claudeCodeSpan(s ptrace.Span, res resource, now time.Time) (*analytics.Record, error) {
	if s.Name() != claudeCodeLLMRequest {
		return nil, nil
	}
	m := s.Attributes()
	r := claudeCodeRecord(m, res)
	if r.RequestID == "" {
		return nil, fmt.Errorf("claude_code.llm_request span %s has no request_id", s.SpanID())
	}
	latency := r.LatencyMS
	if bad := ccNumbers(m, r); bad != "" {
		return nil, fmt.Errorf("claude_code.llm_request %s: %s is out of range", r.RequestID, bad)
	}
	r.TraceID, r.SpanID, _ = spanIDs(s.TraceID(), s.SpanID(), s.ParentSpanID())
	// gen_ai.response.id holds the request id; a message id, if ever
	// there, is kept as one.
	if id := mapStr(m, "gen_ai.response.id"); id != "" && id != r.RequestID && strings.HasPrefix(id, "msg_") {
		r.MessageID = id
	}
	attempts := int64(0)
	for i := 0; i < s.Events().Len(); i++ {
		ev := s.Events().At(i)
		if ev.Name() == "gen_ai.request.attempt" {
			attempts++
			if v, ok := ev.Attributes().Get("attempt"); ok {
				n, _ := valueInt(v)
				attempts = max(attempts, n)
			}
		}
	}
	r.Attempts = max(r.Attempts, min(attempts, 1000))
	start, end := tsTime(s.StartTimestamp()), tsTime(s.EndTimestamp())
	r.Time = firstTime(start, end, now)
	if !start.IsZero() && end.After(start) {
		latency = end.Sub(start).Milliseconds()
	}
	if r.LatencyMS == 0 {
		r.LatencyMS = latency
	}
	failed := s.Status().Code() == ptrace.StatusCodeError
	if v, ok := m.Get("success"); ok && v.Type() == pcommon.ValueTypeBool && !v.Bool() {
		failed = true
	}
	status := valueIntOf(m, "status_code")
	if failed || status >= 400 {
		ccFailed(r, status, mapStr(m, "error_class"), firstNonEmpty(mapStr(m, "error"), s.Status().Message()))
	} else {
		stop := mapStr(m, "stop_reason")
		if stop == "" {
			if v, ok := m.Get("gen_ai.response.finish_reasons"); ok {
				if l := stringList(v); len(l) > 0 {
					stop = l[0]
				}
			}
		}
		r.StopReason = analytics.StopReason(stop)
		r.ContentUnrecorded = true
	}
	analytics.Classify(r)
	return r, nil
}

func valueIntOf(m pcommon.Map, k string) int64 {
	if v, ok := m.Get(k); ok {
		n, _ := valueInt(v)
		return n
	}
	return 0
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t.UTC()
		}
	}
	return time.Time{}
}

// ccFailed makes r a failed call: its HTTP status (a status below 400 is
// none), its error type from the status, else from Claude Code's
// error_class, and its message.
func ccFailed(r *analytics.Record, status int64, class, msg string) {
	r.Kind = analytics.KindError
	r.StopReason = analytics.StopNull
	r.StopReasonUnrecorded = ""
	r.Content, r.ContentUnrecorded = nil, false
	if status >= 400 && status <= 599 {
		r.HTTPStatus = int(status)
	}
	r.ErrorType = firstNonEmpty(errorTypeForStatus(r.HTTPStatus), errorTypeForClass(class))
	r.ErrorMessage = msg
}

// errorTypeForStatus is the Messages API's error type for an HTTP status:
// its errors page gives each status one type.
func errorTypeForStatus(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 500:
		return "api_error"
	case 504:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	return ""
}

// errorTypeForClass maps Claude Code's error_class to the Messages API's
// error type; a class it does not know is kept as it came.
func errorTypeForClass(class string) string {
	switch class {
	case "":
		return ""
	case "server_overload", "overloaded":
		return "overloaded_error"
	case "rate_limit":
		return "rate_limit_error"
	case "server_error", "api_error":
		return "api_error"
	case "invalid_request", "prompt_too_long":
		return "invalid_request_error"
	case "authentication", "auth":
		return "authentication_error"
	case "permission", "permission_denied":
		return "permission_error"
	case "not_found":
		return "not_found_error"
	case "request_too_large":
		return "request_too_large"
	case "billing":
		return "billing_error"
	case "timeout":
		return "timeout_error"
	case "connection", "connection_error":
		return "connection_error"
	}
	return class
}

// ccEvents gathers the Claude Code call events of one export, joined per
// app and request id in the order their calls first appear.
type ccEvents struct {
	byKey map[string]*analytics.Record
	order []string
	// rejected counts the call events that could not be read; why says
	// why, for the first few.
	rejected int
	why      []string
}

// add reads one Claude Code event; events that are not about an API call
// are accepted and skipped.
func (e *ccEvents) add(name string, lr plog.LogRecord, res resource, now time.Time) {
	switch name {
	case "api_request", "api_error", "api_refusal", "api_response_body", "assistant_response":
	default:
		return
	}
	m := lr.Attributes()
	r := claudeCodeRecord(m, res)
	if r.RequestID == "" {
		e.reject(fmt.Sprintf("claude_code.%s without request_id", name))
		return
	}
	if bad := ccNumbers(m, r); bad != "" {
		e.reject(fmt.Sprintf("claude_code.%s %s: %s is out of range", name, r.RequestID, bad))
		return
	}
	r.Time = firstTime(tsTime(lr.Timestamp()), tsTime(lr.ObservedTimestamp()), now)
	if !lr.TraceID().IsEmpty() {
		r.TraceID = lr.TraceID().String()
	}
	r.ContentUnrecorded = true
	switch name {
	case "api_request":
		r.StopReasonUnrecorded = analytics.StopUnrecordedClaudeCodeLogs
	case "api_error":
		ccFailed(r, valueIntOf(m, "status_code"), mapStr(m, "error_class"), mapStr(m, "error"))
	case "api_refusal":
		r.StopReason = analytics.StopRefusal
	case "assistant_response":
		// The answer's text, or <REDACTED> without OTEL_LOG_ASSISTANT_RESPONSES:
		// either way the answer had text. Only that is known of it.
		text := mapStr(m, "response")
		r.Content, r.ContentUnrecorded = []analytics.Block{{Type: "text", Text: text}}, false
		r.StopReasonUnrecorded = analytics.StopUnrecordedClaudeCodeLogs
	case "api_response_body":
		if !ccResponseBody(r, mapStr(m, "body")) {
			e.reject(fmt.Sprintf("claude_code.api_response_body %s: body is not a Messages API response", r.RequestID))
			return
		}
		r.MessageID = firstNonEmpty(r.MessageID, mapStr(m, "message.id"))
	}
	analytics.Classify(r)
	key := r.App + "\x00" + r.RequestID
	if old := e.byKey[key]; old != nil {
		if merged, changed := analytics.Merge(old, r); changed {
			e.byKey[key] = merged
		}
		return
	}
	if e.byKey == nil {
		e.byKey = map[string]*analytics.Record{}
	}
	e.byKey[key] = r
	e.order = append(e.order, key)
}

func (e *ccEvents) reject(why string) {
	e.rejected++
	if len(e.why) < 3 {
		e.why = append(e.why, why)
	}
}

// records returns the joined calls, in order.
func (e *ccEvents) records() []*analytics.Record {
	out := make([]*analytics.Record, 0, len(e.order))
	for _, k := range e.order {
		out = append(out, e.byKey[k])
	}
	return out
}

// ccResponseBody reads an api_response_body event's body, the response as
// the API sent it: message id, stop reason, stop sequence, content and
// usage. It reports false when body is no Messages API response.
func ccResponseBody(r *analytics.Record, body string) bool {
	var resp apiResponse
	if json.Unmarshal([]byte(body), &resp) != nil || resp.Type != "message" {
		return false
	}
	r.ResponseBody = json.RawMessage(body)
	r.MessageID = resp.ID
	r.Model = firstNonEmpty(resp.Model, r.Model)
	if resp.StopReason != nil {
		r.StopReason = analytics.StopReason(*resp.StopReason)
	} else {
		r.StopReasonUnrecorded = analytics.StopUnrecordedClaudeCodeLogs
	}
	if resp.StopSequence != nil && r.StopReason == analytics.StopStopSequence {
		r.StopSequence = *resp.StopSequence
	}
	blocks := make([]analytics.Block, 0, len(resp.Content))
	for _, b := range resp.Content {
		blocks = append(blocks, b.block())
	}
	r.Content, r.ContentUnrecorded = blocks, false
	if resp.Usage != nil {
		r.ServiceTier = serviceTier(resp.Usage.ServiceTier)
	}
	if u := resp.Usage; u != nil && u.InputTokens >= 0 && u.OutputTokens >= 0 && u.CacheReadInputTokens >= 0 && u.CacheCreationInputTokens >= 0 &&
		u.CacheCreation.Ephemeral1hInputTokens >= 0 {
		r.Usage = analytics.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
			CacheReadInputTokens: u.CacheReadInputTokens, CacheCreationInputTokens: u.CacheCreationInputTokens,
			CacheCreation1hInputTokens: u.CacheCreation.Ephemeral1hInputTokens}
	}
	return true
}

// maxPromptID bounds a Claude Code prompt id (a UUID).
const maxPromptID = 128

// clipID returns a Claude Code prompt id, or "" for one too long to be one.
func clipID(s string) string {
	if len(s) > maxPromptID {
		return ""
	}
	return s
}
