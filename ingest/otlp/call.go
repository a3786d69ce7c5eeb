package otlp

import (
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/stopscope/stopscope/analytics"
)

// call gathers what one span (or event) says about one Claude call before it
// becomes a record. Fields left zero are unknown.
type call struct {
	traceID, spanID, parentID string
	start, end                time.Time
	app, env                  string
	// release is the resource's service.version; promptVersion the span's
	// prompt (promptVersionOf).
	release, promptVersion string
	agent                  bool
	// platform is true for a span the Claude API itself emitted (through a
	// telemetry destination): it knows the call but not the app.
	platform bool

	model, messageID, requestID, sessionID, userID string

	// reasons are the stop reasons found, in order of fidelity.
	reasons reasons
	// stopSeqs are the request's stop sequences; stopSeqsKnown says whether
	// the producer recorded them at all (an absent attribute is not "none").
	stopSeqs      []string
	stopSeqsKnown bool
	stopSequence  string
	stopDetails   *analytics.StopDetails
	streamed      bool
	maxTokens     int64
	// serviceTier is the tier the call was served on.
	serviceTier string

	// usage sources, most faithful first: the raw response, gen_ai.usage.*,
	// llm.token_count.*.
	rawUsage, genUsage, oiUsage *usageFacts
	// compUsage holds the SDK's anthropic.usage.compaction.* attributes.
	compUsage *usageFacts

	content    []analytics.Block
	hasContent bool
	messages   []analytics.Message

	failed     bool
	httpStatus int
	errType    string
	errMsg     string

	subtype    string
	numTurns   int64
	costUSD    float64
	durationMS int64

	reqBody, respBody json.RawMessage

	// bad says why a number of the span could not be read at all; the
	// span is then rejected, as one out of bounds is.
	bad string
}

// fillFrom fills what c does not know from o, the outer span of the same call.
func (c *call) fillFrom(o *call) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&c.app, o.app)
	fill(&c.env, o.env)
	fill(&c.release, o.release)
	fill(&c.promptVersion, o.promptVersion)
	fill(&c.model, o.model)
	fill(&c.messageID, o.messageID)
	fill(&c.requestID, o.requestID)
	fill(&c.serviceTier, o.serviceTier)
	fill(&c.sessionID, o.sessionID)
	fill(&c.userID, o.userID)
	fill(&c.stopSequence, o.stopSequence)
	if c.stopDetails == nil {
		c.stopDetails = o.stopDetails
	}
	c.reasons.raw = append(c.reasons.raw, o.reasons.raw...)
	c.reasons.generic = append(c.reasons.generic, o.reasons.generic...)
	if !c.stopSeqsKnown && o.stopSeqsKnown {
		c.stopSeqs, c.stopSeqsKnown = o.stopSeqs, true
	}
	c.streamed = c.streamed || o.streamed
	if c.maxTokens == 0 {
		c.maxTokens = o.maxTokens
	}
	if c.rawUsage == nil {
		c.rawUsage = o.rawUsage
	}
	if c.genUsage == nil {
		c.genUsage = o.genUsage
	}
	if c.oiUsage == nil {
		c.oiUsage = o.oiUsage
	}
	if c.compUsage == nil {
		c.compUsage = o.compUsage
	}
	if !c.hasContent {
		c.content, c.hasContent = o.content, o.hasContent
	}
	if c.messages == nil {
		c.messages = o.messages
	}
	c.failed = c.failed || o.failed
	if c.httpStatus == 0 {
		c.httpStatus = o.httpStatus
	}
	if c.errType == "" || (analytics.StatusForErrorType(c.errType) == 0 && analytics.StatusForErrorType(o.errType) != 0) {
		if o.errType != "" {
			c.errType = o.errType
		}
	}
	fill(&c.errMsg, o.errMsg)
	if c.reqBody == nil {
		c.reqBody = o.reqBody
	}
	if c.respBody == nil {
		c.respBody = o.respBody
	}
}

// record turns the facts into a classified record.
func (c *call) record(now time.Time) *analytics.Record {
	r := new(analytics.Record)
	c.recordInto(r, now)
	return r
}

// recordInto is record writing to r, which must be zero.
func (c *call) recordInto(r *analytics.Record, now time.Time) {
	*r = analytics.Record{
		Source:        Source,
		App:           c.app,
		Environment:   c.env,
		Release:       c.release,
		PromptVersion: c.promptVersion,
		SessionID:     c.sessionID,
		UserID:        c.userID,
		RequestID:     c.requestID,
		MessageID:     c.messageID,
		TraceID:       c.traceID,
		SpanID:        c.spanID,
		Kind:          analytics.KindMessage,
		Model:         c.model,
		Streamed:      c.streamed,
		StopSequence:  c.stopSequence,
		Usage:         c.usage(),
		RequestBody:   c.reqBody,
		ResponseBody:  c.respBody,
	}
	r.Time = c.start
	if r.Time.IsZero() {
		r.Time = c.end
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC()
	if !c.start.IsZero() && c.end.After(c.start) {
		// Sub saturates at 292 years; the bounds reject that.
		r.LatencyMS = c.end.Sub(c.start).Milliseconds()
	}
	r.ServiceTier = c.serviceTier
	if c.hasContent {
		r.Content = c.content
	} else {
		r.ContentUnrecorded = true
	}
	if c.messages != nil || c.maxTokens != 0 || len(c.stopSeqs) > 0 {
		r.Req = &analytics.Request{Model: c.model, MaxTokens: c.maxTokens, StopSequences: c.stopSeqs, Messages: c.messages}
	}
	switch {
	case c.agent:
		r.Kind = analytics.KindAgentResult
		r.Subtype = c.subtype
		r.HTTPStatus = c.httpStatus
		r.NumTurns = c.numTurns
		r.CostUSD = c.costUSD
		r.DurationMS = c.durationMS
		if r.DurationMS == 0 {
			r.DurationMS = r.LatencyMS
		}
		if c.failed {
			r.ErrorMessage = c.errMsg
		}
		r.StopReason, r.StopReasonAmbiguous = c.reasons.resolve(c.stopSeqs, c.stopSeqsKnown)
	case c.failed:
		r.Kind = analytics.KindError
		r.HTTPStatus = c.httpStatus
		r.ErrorType = c.errType
		r.ErrorMessage = c.errMsg
		switch {
		case r.HTTPStatus > 0 && r.HTTPStatus < 400:
			// A stream that broke after its 200: an error event, not an
			// HTTP failure, as the native decoder records it.
			r.HTTPStatus = 0
		case r.HTTPStatus == 0 && !c.streamed:
			r.HTTPStatus = analytics.StatusForErrorType(r.ErrorType)
		}
		// A failed call has no stop reason, and no content of its own.
		r.Content = nil
	default:
		r.StopReason, r.StopReasonAmbiguous = c.reasons.resolve(c.stopSeqs, c.stopSeqsKnown)
	}
	if r.StopReason != analytics.StopStopSequence {
		r.StopSequence = ""
	}
	if r.Kind == analytics.KindMessage {
		r.StopDetails = c.stopDetails
	}
	analytics.Classify(r)
}

// Attribute and event names read across conventions.
const (
	eventInferenceDetails = "gen_ai.client.inference.operation.details"
	eventChoice           = "gen_ai.choice"
)

// fromSpan reads a span. It returns nil for a span that is neither a Claude
// call nor a Claude Agent SDK run.
func fromSpan(s ptrace.Span, res resource, scope string) *call {
	own, platform := claudeScope(scope)
	if own && !claudeCallSpan(s, platform) {
		return nil
	}
	st := s.Status()
	c := fromAttrs(s.Attributes(), res, scope, st.Message())
	if c == nil {
		return nil
	}
	if c.platform = platform; platform {
		c.app = PlatformApp
	}
	c.traceID, c.spanID, c.parentID = spanIDs(s.TraceID(), s.SpanID(), s.ParentSpanID())
	c.start = tsTime(s.StartTimestamp())
	c.end = tsTime(s.EndTimestamp())
	if st.Code() == ptrace.StatusCodeError {
		c.failed = true
		c.readErrorText(st.Message())
		if c.agent {
			c.readAgentStatus(st.Message())
		}
	}
	for i := 0; i < s.Events().Len(); i++ {
		ev := s.Events().At(i)
		switch ev.Name() {
		case "exception":
			if v, ok := ev.Attributes().Get("exception.message"); ok {
				c.readErrorText(v.AsString())
			}
			if c.errType == "" {
				if v, ok := ev.Attributes().Get("exception.type"); ok {
					c.errType = v.AsString()
				}
			}
		case eventChoice:
			c.readChoice(ev.Attributes())
		}
	}
	if own && !platform && c.streamed && c.errType == "api_error" && c.httpStatus == 0 {
		// The SDKs end the span of a stream that stopped before
		// message_stop with error.type api_error (and no status message):
		// a cut stream, as the native decoder records it. An error event
		// of type api_error looks the same and is read as a cut stream too.
		c.failed, c.errType, c.errMsg = false, "", ""
	}
	if c.agent && c.subtype == "" && !c.failed {
		c.subtype = analytics.SubtypeSuccess
	}
	return c
}

// PlatformApp is the app of the records the Claude API's own spans make
// (their resource's service.name): the API does not know the caller's app.
// An ingest key bound to an app gives them that app (auth.BindApps), and
// a record of the API's span of a call that the app's own span also made
// joins it in one export (mergeNested).
const PlatformApp = "claude-platform"

// The instrumentation scopes of the spans Claude emits itself: the SDKs'
// ("com.anthropic.sdk.go", "com.anthropic.sdk.typescript", a cloud
// platform's client appending ".bedrock" and so on, the CLI's
// "com.anthropic.sdk.cli") and the Claude API's, delivered through a
// telemetry destination.
const (
	scopeClaudeSDK      = "com.anthropic.sdk."
	scopeClaudePlatform = "com.anthropic.claude-platform"
	// spanMessagesCreate is the request span of POST /v1/messages, plain or
	// streamed, beta or not, on both sides.
	spanMessagesCreate = "anthropic.messages.create"
)

// claudeScope reports whether scope is one of Claude's own, and whether it
// is the Claude API's.
func claudeScope(scope string) (own, platform bool) {
	if scope == scopeClaudePlatform || strings.HasPrefix(scope, scopeClaudePlatform+".") {
		return true, true
	}
	return strings.HasPrefix(scope, scopeClaudeSDK), false
}

// claudeCallSpan reports whether a span of Claude's own scopes is a Messages
// API call. Claude names every request span after its method, so only
// anthropic.messages.create is one: count_tokens, batches, models, files and
// sessions are other endpoints; the tool runner's loop
// (anthropic.messages.tool_runner, gen_ai.operation.name invoke_agent) is no
// Agent SDK run; the destination test's anthropic.test span is acknowledged
// and not a call. On the API's side only the SERVER span is the request: its
// INTERNAL children (model runs, server tools) are parts of it (inferred:
// the API's span tables are not published).
func claudeCallSpan(s ptrace.Span, platform bool) bool {
	if s.Name() != spanMessagesCreate {
		return false
	}
	return !platform || s.Kind() == ptrace.SpanKindServer || s.Kind() == ptrace.SpanKindUnspecified
}

// spanIDs returns a span's ids in hex, "" for those that are empty, as
// their String methods would, in one allocation.
func spanIDs(trace pcommon.TraceID, span, parent pcommon.SpanID) (traceID, spanID, parentID string) {
	var buf [2*len(trace) + 4*len(span)]byte
	n := 0
	put := func(id []byte, empty bool) (start, end int) {
		if empty {
			return n, n
		}
		start = n
		n += hex.Encode(buf[n:], id)
		return start, n
	}
	ts, te := put(trace[:], trace.IsEmpty())
	ss, se := put(span[:], span.IsEmpty())
	ps, pe := put(parent[:], parent.IsEmpty())
	all := string(buf[:n])
	return all[ts:te], all[ss:se], all[ps:pe]
}

// setLogContext stamps a call read from a log event with the event's context.
func (c *call) setLogContext(lr plog.LogRecord, now time.Time) {
	if !lr.TraceID().IsEmpty() {
		c.traceID = lr.TraceID().String()
	}
	if !lr.SpanID().IsEmpty() {
		c.spanID = lr.SpanID().String()
	}
	c.start = tsTime(lr.Timestamp())
	if c.start.IsZero() {
		c.start = tsTime(lr.ObservedTimestamp())
	}
	if c.agent && c.subtype == "" && !c.failed {
		c.subtype = analytics.SubtypeSuccess
	}
}

// tsTime converts an OTLP timestamp, nanoseconds since 1970 in a uint64.
// pcommon.Timestamp.AsTime converts through an int64, which wraps past
// 2262 (a time in 2300 would read as one in 1715): seconds and nanoseconds
// are taken apart here instead, so a far time stays far, and is rejected.
func tsTime(t pcommon.Timestamp) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(int64(uint64(t)/1e9), int64(uint64(t)%1e9)).UTC()
}

// fromAttrs reads the attributes of a span or an event. It returns nil when
// they do not describe a Claude call or a Claude Agent SDK run.
func fromAttrs(m pcommon.Map, res resource, scope, statusMsg string) *call {
	var a attrs
	a.index(m)
	op := a.str(genAIOperationName)
	oiKind := strings.ToUpper(a.str(oiSpanKind))
	provider := firstNonEmpty(a.str(genAIProviderName), a.str(genAISystem), a.str(llmProvider), a.str(llmSystem))
	model := firstNonEmpty(a.str(genAIResponseModel), a.str(genAIRequestModel), a.str(llmModelName),
		a.str(llmResponseModelName), a.str(llmRequestModelName))

	resultError := strings.HasPrefix(strings.TrimSpace(statusMsg), "Result error:")
	agent := op == "invoke_agent" || oiKind == "AGENT" || a.has(genAIAgentNumTurns) || resultError
	if !agent && a.has(llmCostTotal) && oiKind != "LLM" && op == "" && !a.hasPrefix(prefixLLMTokenCount) {
		agent = true
	}
	if !agent {
		switch op {
		case "", "chat", "text_completion", "generate_content":
		default:
			return nil // tools, embeddings, agent creation: not a Messages API call
		}
		if oiKind != "" && oiKind != "LLM" {
			return nil
		}
		if op == "" && oiKind == "" && provider == "" && model == "" &&
			!a.hasPrefix(prefixGenAIUsage) && !a.has(genAIResponseFinishReasons) {
			return nil
		}
	}
	if !isClaude(provider, model, scope, agent, resultError, &a) {
		return nil
	}
	c := &call{app: res.app, env: res.env, release: res.release, agent: agent, model: model}
	c.promptVersion = promptVersionOf(&a)
	c.messageID = a.str(genAIResponseID)
	c.requestID = a.str(anthropicRequestID)
	c.sessionID = firstNonEmpty(a.str(genAIConversationID), a.str(sessionID))
	c.userID = firstNonEmpty(a.str(userID), a.str(endUserID))

	c.readReasons(&a)
	c.serviceTier = serviceTier(a.str(anthropicResponseServiceTier))
	c.readRequest(&a)
	c.readUsage(&a)
	c.readContent(&a)
	c.readRawBodies(&a)
	c.readFailure(&a)
	if agent {
		c.readAgent(&a)
	}
	c.bad = a.bad
	return c
}

// isClaude reports whether a GenAI span is about Claude: its provider names
// Anthropic or Claude, or (for a provider hosting many models, or none named)
// its model does. Agent runs are also recognised by their instrumentation.
func isClaude(provider, model, scope string, agent, resultError bool, a *attrs) bool {
	p := strings.ToLower(provider)
	if strings.Contains(p, "anthropic") || strings.Contains(p, "claude") {
		return true
	}
	if strings.Contains(strings.ToLower(model), "claude") {
		return true
	}
	if agent {
		s := strings.ToLower(scope)
		if strings.Contains(s, "claude") || strings.Contains(s, "anthropic") {
			return true
		}
		// Only the Agent SDK reports turns and "Result error:" subtypes.
		if a.has(genAIAgentNumTurns) || resultError {
			return provider == ""
		}
	}
	// A GenAI span naming no provider and no model is taken as Claude's:
	// stopscope is pointed at Claude traffic, and dropping it would hide calls.
	return provider == "" && model == ""
}

func (c *call) readRequest(a *attrs) {
	c.maxTokens = a.int(genAIRequestMaxTokens)
	if v, ok := a.get(genAIRequestStopSequences); ok {
		c.stopSeqs, c.stopSeqsKnown = stringList(v), true
	}
	if v, ok := a.get(genAIRequestStream); ok && v.Type() == pcommon.ValueTypeBool {
		c.streamed = v.Bool()
	}
	// OpenInference's invocation parameters are the full set sent: a stop
	// sequence absent from them was not sent.
	if s := a.str(llmInvocationParameters); s != "" {
		var p struct {
			MaxTokens     int64    `json:"max_tokens"`
			StopSequences []string `json:"stop_sequences"`
			Stream        bool     `json:"stream"`
		}
		if json.Unmarshal([]byte(s), &p) == nil {
			if c.maxTokens == 0 {
				c.maxTokens = p.MaxTokens
			}
			if !c.stopSeqsKnown {
				c.stopSeqs, c.stopSeqsKnown = p.StopSequences, true
			}
			c.streamed = c.streamed || p.Stream
		}
	}
}

func (c *call) readFailure(a *attrs) {
	if t := a.str(errorType); t != "" {
		c.failed = true
		c.errType = t
	}
	if st := a.int(httpResponseStatusCode); st >= 400 {
		c.failed = true
		c.httpStatus = int(st)
	}
}

func (c *call) readAgent(a *attrs) {
	// A result body in output.value (read before) is the most faithful.
	if c.numTurns == 0 {
		c.numTurns = a.int(genAIAgentNumTurns)
	}
	if c.costUSD == 0 {
		c.costUSD = a.float(llmCostTotal)
	}
	if c.costUSD == 0 {
		c.costUSD = a.float(genAIUsageCost)
	}
	if c.durationMS == 0 {
		c.durationMS = a.int(genAIAgentDurationMS)
	}
}

// readAgentStatus reads an Agent SDK result's subtype from a status message:
// "Result error: <subtype>", the TypeScript Agent SDK's thrown error "Claude
// Code returned an error result: <errors or result>" (OpenInference sets the
// AGENT span's status to it), or a message naming a known error subtype.
func (c *call) readAgentStatus(msg string) {
	if c.subtype != "" {
		return
	}
	msg = strings.TrimSpace(msg)
	if rest, ok := strings.CutPrefix(msg, "Result error:"); ok {
		if f := strings.Fields(rest); len(f) > 0 {
			c.subtype = strings.Trim(f[0], ".,;")
		}
	} else if rest, ok := strings.CutPrefix(msg, agentSDKResultError); ok {
		c.readAgentSDKError(rest)
	} else {
		for _, st := range analytics.AgentSubtypes {
			if st != analytics.SubtypeSuccess && strings.Contains(msg, st) {
				c.subtype = st
				break
			}
		}
	}
	if c.errMsg == "" {
		c.errMsg = msg
	}
}

// agentSDKResultError begins the error the TypeScript Agent SDK throws from
// query() when the run's result is an error.
const agentSDKResultError = "Claude Code returned an error result"

// reAgentSubtypeParen matches the "(subtype, …)" the thrown error may name
// before its text.
var reAgentSubtypeParen = regexp.MustCompile(`^\s*\(\s*([a-z_]+)`)

// readAgentSDKError reads the rest of "Claude Code returned an error
// result…": an optional "(subtype, …)" and then ": " and the result's errors
// or its text, which analytics.AgentRunErrorOf reads as the native decoder
// does a result message: a run whose API call failed (Claude Code's result
// is then subtype success with is_error, and a synthetic stop_sequence) is
// an error_during_execution run without a stop reason, with the HTTP status
// the text gives; a refused run stays a success.
func (c *call) readAgentSDKError(rest string) {
	if m := reAgentSubtypeParen.FindStringSubmatch(rest); m != nil && m[1] != analytics.SubtypeSuccess {
		c.subtype = m[1]
		return
	}
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	text := strings.TrimSpace(rest)
	stop := analytics.StopNull
	if slices.Contains(c.reasons.raw, string(analytics.StopRefusal)) || slices.Contains(c.reasons.generic, string(analytics.StopRefusal)) {
		stop = analytics.StopRefusal
	}
	e := analytics.AgentRunErrorOf(text, stop)
	c.subtype = e.Subtype
	if e.APIFailed {
		// The stop reason of a run whose API call failed is Claude
		// Code's synthetic message's, not an answer's.
		c.reasons = reasons{}
		if c.httpStatus == 0 {
			c.httpStatus = e.HTTPStatus
		}
	}
	if text != "" {
		c.errMsg = text
	}
}

// promptVersionOf names the prompt of a span: gen_ai.prompt.name and
// gen_ai.prompt.version joined as name@version (either alone as it is),
// else OpenInference's llm.prompt_template.version.
func promptVersionOf(a *attrs) string {
	name, version := a.str(genAIPromptName), a.str(genAIPromptVersion)
	switch {
	case name != "" && version != "":
		return name + "@" + version
	case name != "" || version != "":
		return name + version
	}
	return a.str(oiPromptTemplateVersion)
}

// maxServiceTier bounds a service tier: the API's are short words
// (standard, priority, batch).
const maxServiceTier = 32

// serviceTier returns a producer's service tier, or "" for one too long to
// be a tier.
func serviceTier(s string) string {
	if len(s) > maxServiceTier {
		return ""
	}
	return s
}
