// Package analytics holds stopscope's domain vocabulary (records, stop
// reasons, flags), the classification of decoded Claude calls, and the pure
// statistics built on them: rates, confidence intervals, spike detection and
// the failure patterns of the Messages API. It does no I/O.
package analytics

import (
	"encoding/json"
	"time"
)

// Kind says what a record is: a Messages API response, an Agent SDK result,
// or a failed request.
type Kind string

// The kinds of record.
const (
	KindMessage     Kind = "message"
	KindAgentResult Kind = "agent_result"
	KindError       Kind = "error"
)

// Kinds lists every kind in display order (see KindTable).
var Kinds = keysOf(KindTable, func(i KindInfo) Kind { return i.Kind })

// StopReason is the stop_reason of a Messages API response or an Agent SDK
// result, exactly as it came. The empty StopReason means null: none was sent.
type StopReason string

// The stop reasons of the Messages API.
const (
	StopNull                       StopReason = ""
	StopEndTurn                    StopReason = "end_turn"
	StopMaxTokens                  StopReason = "max_tokens"
	StopStopSequence               StopReason = "stop_sequence"
	StopToolUse                    StopReason = "tool_use"
	StopPauseTurn                  StopReason = "pause_turn"
	StopRefusal                    StopReason = "refusal"
	StopModelContextWindowExceeded StopReason = "model_context_window_exceeded"
	// StopCompaction (beta): a compaction request, or automatic compaction
	// with pause_after_compaction, returned only the compaction block.
	StopCompaction StopReason = "compaction"
)

// KnownStopReasons lists the stop reasons of the Messages API in display
// order (see StopReasonTable).
var KnownStopReasons = keysOf(StopReasonTable, func(i StopReasonInfo) StopReason { return i.Reason })

// Known reports whether r is null or one of the Messages API's stop reasons.
func (r StopReason) Known() bool { return !StopReasonInfoOf(r).unknown }

// Continues reports whether a response with this stop reason is meant to
// be sent back for the rest (StopReasonInfo.Continues).
func (r StopReason) Continues() bool { return StopReasonInfoOf(r).Continues }

// Key is the stop reason as it appears in counts and URLs: "null" for none.
func (r StopReason) Key() string {
	if r == StopNull {
		return "null"
	}
	return string(r)
}

// ParseStopReasonKey is the inverse of Key.
func ParseStopReasonKey(s string) StopReason {
	if s == "null" {
		return StopNull
	}
	return StopReason(s)
}

// Flag marks something that went wrong with a call.
type Flag string

// The flags. Flags are stopscope's own vocabulary, so the set is closed.
const (
	FlagEmptyTurn         Flag = "empty_turn"
	FlagTruncated         Flag = "truncated"
	FlagRefusal           Flag = "refusal"
	FlagIncompleteStream  Flag = "incomplete_stream"
	FlagUnknownStopReason Flag = "unknown_stop_reason"
	// FlagNoStopReason: a complete, non-streamed message without a stop
	// reason, which every successful Messages API response carries.
	FlagNoStopReason Flag = "no_stop_reason"
	// FlagProbablyTruncated: no stop reason, but the output tokens reached
	// the request's max_tokens. A hint: the stop reason stays null.
	FlagProbablyTruncated Flag = "probably_truncated"
)

// AllFlags lists every flag in display order (see FlagTable).
var AllFlags = keysOf(FlagTable, func(i FlagInfo) Flag { return i.Flag })

// Valid reports whether f is one of AllFlags.
func (f Flag) Valid() bool { return f.bit() != 0 }

func (f Flag) bit() Flags {
	if i := flagIndex(f); i >= 0 {
		return 1 << flagTable[i].Bit
	}
	return 0
}

// Flags is a set of flags stored as a bit mask: each flag at its
// FlagInfo.Bit.
type Flags uint32

// Bit returns the mask of one flag, or 0 for an unknown one.
func Bit(f Flag) Flags { return f.bit() }

// Has reports whether f is in the set.
func (s Flags) Has(f Flag) bool { return s&f.bit() != 0 }

// With returns the set with f added.
func (s Flags) With(f Flag) Flags { return s | f.bit() }

// List returns the flags in the set in display order.
func (s Flags) List() []Flag {
	out := []Flag{}
	for _, i := range flagTable {
		if s&(1<<i.Bit) != 0 {
			out = append(out, i.Flag)
		}
	}
	return out
}

// MarshalJSON writes the set as a list of flag names.
func (s Flags) MarshalJSON() ([]byte, error) { return json.Marshal(s.List()) }

// UnmarshalJSON reads a list of flag names; unknown names are ignored.
func (s *Flags) UnmarshalJSON(data []byte) error {
	var names []Flag
	if err := json.Unmarshal(data, &names); err != nil {
		return err
	}
	*s = 0
	for _, n := range names {
		*s = s.With(n)
	}
	return nil
}

// Cause explains why a flag was raised.
type Cause string

// The known causes.
const (
	// CauseTextAfterToolResult: the request's last user message put a text
	// block right after a tool_result, which teaches the model to end its
	// turn with nothing.
	CauseTextAfterToolResult Cause = "text_after_tool_result"
	// CauseCompletedResponseSentBack: the request ended with an assistant
	// turn that was already finished, with nothing added after it, so
	// Claude stays done.
	CauseCompletedResponseSentBack Cause = "completed_response_sent_back"
)

// Agent SDK result subtypes.
const (
	SubtypeSuccess                         = "success"
	SubtypeErrorMaxTurns                   = "error_max_turns"
	SubtypeErrorMaxBudgetUSD               = "error_max_budget_usd"
	SubtypeErrorMaxStructuredOutputRetries = "error_max_structured_output_retries"
	SubtypeErrorDuringExecution            = "error_during_execution"
)

// AgentSubtypes lists the Agent SDK result subtypes in display order (see
// AgentSubtypeTable).
var AgentSubtypes = keysOf(AgentSubtypeTable, func(i AgentSubtypeInfo) string { return i.Subtype })

// Usage counts tokens with the Messages API's meaning: InputTokens excludes
// cache reads and writes, which are counted on their own. The API leaves
// compaction out of a message's own usage and reports it in
// usage.iterations (entries of type compaction): CompactionInputTokens sums
// their input, cache read and cache creation tokens, CompactionOutputTokens
// their output tokens, as the SDKs' anthropic.usage.compaction.* span
// attributes do. Token totals (Counts) add them in.
//
// CacheCreationInputTokens is every cache write of the call, whatever its
// lifetime; CacheCreation1hInputTokens is the part of it written with the
// 1-hour lifetime (usage.cache_creation.ephemeral_1h_input_tokens), billed
// at a higher rate. The rest is the 5-minute lifetime's.
type Usage struct {
	InputTokens                int64 `json:"input_tokens"`
	OutputTokens               int64 `json:"output_tokens"`
	CacheCreationInputTokens   int64 `json:"cache_creation_input_tokens"`
	CacheCreation1hInputTokens int64 `json:"cache_creation_1h_input_tokens,omitempty"`
	CacheReadInputTokens       int64 `json:"cache_read_input_tokens"`
	CompactionInputTokens      int64 `json:"compaction_input_tokens,omitempty"`
	CompactionOutputTokens     int64 `json:"compaction_output_tokens,omitempty"`
}

// CacheWrite1hTokens is the part of the cache writes written with the
// 1-hour lifetime, never more than the cache writes themselves.
func (u Usage) CacheWrite1hTokens() int64 {
	return max(0, min(u.CacheCreation1hInputTokens, u.CacheCreationInputTokens))
}

// TotalInputTokens is the input the call consumed that Counts tally: the
// message's input tokens and its compaction iterations'.
func (u Usage) TotalInputTokens() int64 { return u.InputTokens + u.CompactionInputTokens }

// TotalOutputTokens is the output the call produced that Counts tally: the
// message's output tokens and its compaction iterations'.
func (u Usage) TotalOutputTokens() int64 { return u.OutputTokens + u.CompactionOutputTokens }

// RefusalCategory is stop_details.category of a refusal: the policy area
// that triggered it. The empty RefusalCategory means null (or no
// stop_details at all): the refusal maps to no named category.
type RefusalCategory string

// The refusal categories of the Messages API (see RefusalCategoryTable).
const (
	RefusalCategoryNull                RefusalCategory = ""
	RefusalCategoryCyber               RefusalCategory = "cyber"
	RefusalCategoryBio                 RefusalCategory = "bio"
	RefusalCategoryFrontierLLM         RefusalCategory = "frontier_llm"
	RefusalCategoryReasoningExtraction RefusalCategory = "reasoning_extraction"
	RefusalCategoryGeneralHarms        RefusalCategory = "general_harms"
)

// Key is the category as it appears in counts and URLs: "null" for none.
func (c RefusalCategory) Key() string {
	if c == RefusalCategoryNull {
		return "null"
	}
	return string(c)
}

// ParseRefusalCategoryKey is the inverse of Key.
func ParseRefusalCategoryKey(s string) RefusalCategory {
	if s == "null" {
		return RefusalCategoryNull
	}
	return RefusalCategory(s)
}

// StopDetails is a response's stop_details: structured information about
// why it stopped, sent with refusals ({type: "refusal", category,
// explanation}; in beta also recommended_model and fallback fields).
type StopDetails struct {
	Type     string          `json:"type,omitempty"`
	Category RefusalCategory `json:"category,omitempty"`
	// Explanation is Anthropic's text about the refusal, not guaranteed to
	// be stable.
	Explanation string `json:"explanation,omitempty"`
	// RecommendedModel (beta) is the model Anthropic recommends retrying
	// the refused request on.
	RecommendedModel string `json:"recommended_model,omitempty"`
}

// Block summarises one content block: its type, its text (text and thinking
// blocks, or a tool_result's text) and its name (tool_use, server_tool_use).
type Block struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	Name string `json:"name,omitempty"`
}

// Message summarises one message of a request's conversation.
type Message struct {
	Role   string  `json:"role"`
	Blocks []Block `json:"blocks"`
}

// Request summarises a Messages API request body: what classification and
// conversation linking need.
type Request struct {
	Model         string    `json:"model,omitempty"`
	MaxTokens     int64     `json:"max_tokens,omitempty"`
	StopSequences []string  `json:"stop_sequences,omitempty"`
	Messages      []Message `json:"messages,omitempty"`
}

// Record is one observed Claude call: a Messages API response (plain or
// streamed), an Agent SDK result, or a failed request. Decoders fill the
// facts; Classify derives Flags, Causes and Tools; the store keeps it.
type Record struct {
	// ID is assigned by the store; zero until stored.
	ID   int64     `json:"id"`
	Time time.Time `json:"time"`
	// Source names the way in: "native" (POST /v1/responses) or "otlp".
	Source      string `json:"source"`
	App         string `json:"app"`
	Environment string `json:"environment"`
	// Release is the app's release (version, build or deploy) that made
	// the call, as its producer named it: "release" in the native
	// envelope, service.version on an OTLP resource. "" when not said.
	Release string `json:"release,omitempty"`
	// PromptVersion names the prompt the call was made with:
	// "prompt_version" in the native envelope, gen_ai.prompt.version (with
	// gen_ai.prompt.name before it) on an OTLP span. "" when not said.
	PromptVersion string `json:"prompt_version,omitempty"`
	SessionID     string `json:"session_id,omitempty"`
	UserID        string `json:"user_id,omitempty"`
	RequestID     string `json:"request_id,omitempty"`
	// MessageID is the response's message id, or the Agent SDK result's uuid.
	MessageID string `json:"message_id,omitempty"`
	TraceID   string `json:"trace_id,omitempty"`
	SpanID    string `json:"span_id,omitempty"`
	// PromptID is the Claude Code prompt (prompt.id) whose work the call
	// was: the calls it made by itself for one prompt (re-asks after an
	// empty turn, max_tokens or a refusal) share it.
	PromptID string `json:"prompt_id,omitempty"`

	Kind  Kind   `json:"kind"`
	Model string `json:"model,omitempty"`
	// Streamed is true when the response came as a server-sent event stream.
	Streamed   bool       `json:"streamed"`
	StopReason StopReason `json:"-"`
	// StopReasonAmbiguous is true when a producer reported a generic reason
	// ("stop") that could be either end_turn or stop_sequence.
	StopReasonAmbiguous bool `json:"stop_reason_ambiguous,omitempty"`
	// StopReasonUnrecorded says why a null StopReason says nothing about
	// the call: the producer answered it but did not record its stop
	// reason (see the StopUnrecorded constants). "" when the null, if any,
	// is the API's own.
	StopReasonUnrecorded string `json:"stop_reason_unrecorded,omitempty"`
	StopSequence         string `json:"stop_sequence,omitempty"`
	// StopDetails is the response's stop_details, or nil when it sent none
	// (null).
	StopDetails *StopDetails `json:"stop_details,omitempty"`
	// Tools names the tools the response called: the client tools of a
	// tool_use response (only that stop reason asks for them to be run; a
	// tool_use block cut off by max_tokens is incomplete) and the server
	// tools the API ran (server_tool_use).
	Tools  []string `json:"tools,omitempty"`
	Flags  Flags    `json:"flags"`
	Causes []Cause  `json:"causes,omitempty"`
	Usage  Usage    `json:"usage"`
	// LatencyMS is the call's latency as the client saw it, or 0 if unknown.
	LatencyMS int64 `json:"latency_ms,omitempty"`
	// TTFTMS is the time to the first token as the client saw it, or 0 if
	// unknown.
	TTFTMS int64 `json:"ttft_ms,omitempty"`
	// ServiceTier is the tier the call was served on, as the response says
	// (usage.service_tier: standard, priority or batch), or "" if unknown.
	ServiceTier string `json:"service_tier,omitempty"`
	// Attempts is how many HTTP attempts the call took, retries included,
	// when the producer says (0: unknown). Retries are attempts of one
	// call, never calls of their own.
	Attempts int64 `json:"attempts,omitempty"`

	// Failed requests.
	HTTPStatus   int    `json:"http_status,omitempty"`
	ErrorType    string `json:"error_type,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`

	// Agent SDK results. CostUSD is also a single call's cost when its
	// producer reports one (Claude Code does).
	Subtype    string  `json:"subtype,omitempty"`
	NumTurns   int64   `json:"num_turns,omitempty"`
	CostUSD    float64 `json:"cost_usd,omitempty"`
	DurationMS int64   `json:"duration_ms,omitempty"`

	// Content summarises the response's content blocks.
	Content []Block `json:"content,omitempty"`
	// ContentUnrecorded is true when the producer did not record the
	// response's content at all (OpenTelemetry instrumentations record it
	// only on opt-in): an empty Content then says nothing about the answer.
	ContentUnrecorded bool `json:"content_unrecorded,omitempty"`
	// Req summarises the request, when the producer sent it.
	Req *Request `json:"-"`

	// RequestBody, ResponseBody and StreamBody are the raw bodies as
	// received (JSON, JSON, and the SSE transcript), kept for drill-down.
	RequestBody  json.RawMessage `json:"request,omitempty"`
	ResponseBody json.RawMessage `json:"response,omitempty"`
	StreamBody   string          `json:"stream,omitempty"`

	// KeyedByRequest makes the request id the record's identity even when
	// it has a message id: Claude Code names every call by its request id
	// in all its signals, but the message id only in some, so that the
	// signals of one call are stored as one record.
	KeyedByRequest bool `json:"-"`
}

// Why a stop reason is unrecorded (Record.StopReasonUnrecorded).
const (
	// StopUnrecordedClaudeCodeLogs: Claude Code's log events carry a
	// call's stop reason only in api_response_body, which it sends only
	// with OTEL_LOG_RAW_API_BODIES and only for answers with content.
	StopUnrecordedClaudeCodeLogs = "claude_code_logs"
)

// Identity is the key under which a record is stored once per app: the
// message id or Agent SDK uuid, else the request id, else "" (no identity);
// the request id first when the record is KeyedByRequest.
func (r *Record) Identity() string {
	if r.KeyedByRequest && r.RequestID != "" {
		return r.RequestID
	}
	if r.MessageID != "" {
		return r.MessageID
	}
	return r.RequestID
}

// RefusalCategory returns the stop_details category of a refusal, or ""
// (null) for a refusal without one and for every other stop reason.
func (r *Record) RefusalCategory() RefusalCategory {
	if r.StopReason != StopRefusal || r.StopDetails == nil {
		return RefusalCategoryNull
	}
	return r.StopDetails.Category
}

// recordJSON reads a record's stop reason, which may be null.
type recordJSON struct {
	StopReason *string `json:"stop_reason"`
}

// MarshalJSON writes the record with stop_reason as null or a string.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	var sr *string
	if r.StopReason != StopNull {
		s := string(r.StopReason)
		sr = &s
	}
	return json.Marshal(struct {
		plain
		StopReason *string `json:"stop_reason"`
	}{plain(r), sr})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Record) UnmarshalJSON(data []byte) error {
	type plain Record
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	var sr recordJSON
	if err := json.Unmarshal(data, &sr); err != nil {
		return err
	}
	*r = Record(p)
	if sr.StopReason != nil {
		r.StopReason = StopReason(*sr.StopReason)
	}
	return nil
}
