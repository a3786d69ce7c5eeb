package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/stopscope/stopscope/analytics"
)

// DefaultApp is the app given to records that name none.
const DefaultApp = "default"

// Source is the analytics.Record.Source of every record this package decodes.
const Source = "native"

// expectedKinds is the tail of the error for a record of unknown shape.
const expectedKinds = "expected a Messages API response (type message), an Agent SDK result (type result), an error body (type error) or an envelope with one of response, stream, error, result"

// Options tell the decoders how to read records.
type Options struct {
	// Limits bounds the input; zero fields take their defaults.
	Limits Limits
	// Now is the time given to records that carry none, and the clock that
	// times in the future are judged by. Zero means time.Now().
	Now time.Time
}

// decoder decodes the records of one batch.
type decoder struct {
	lim Limits
	now time.Time
}

func newDecoder(opts Options) *decoder {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &decoder{lim: opts.Limits.WithDefaults(), now: now.UTC()}
}

// DecodeRecord decodes one record: a bare Messages API response, Agent SDK
// result or error body, or an envelope. The record is classified. Its raw
// bodies may alias data, which must not change afterwards.
func DecodeRecord(data []byte, opts Options) (*analytics.Record, error) {
	return newDecoder(opts).record(data)
}

// DecodeStream decodes a bare server-sent event transcript of a streamed
// Messages API call, replaying it as the SDK does. The record is classified.
func DecodeStream(transcript string, opts Options) (*analytics.Record, error) {
	d := newDecoder(opts)
	if len(transcript) > d.lim.MaxFieldBytes {
		return nil, d.fieldTooLarge("stream", len(transcript))
	}
	rec, err := d.stream(transcript)
	if err != nil {
		return nil, err
	}
	if err := d.finish(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// wireEnvelope is a record's top level: an envelope, or a bare body whose
// type says which. Bare bodies are decoded again into their own shape.
type wireEnvelope struct {
	Type        *string `json:"type"`
	Time        *string `json:"time"`
	App         string  `json:"app"`
	Environment string  `json:"environment"`
	// Release and PromptVersion are the app's release and the prompt's
	// version the call was made with (analytics.Record.Release).
	Release       string  `json:"release"`
	PromptVersion string  `json:"prompt_version"`
	SessionID     string  `json:"session_id"`
	UserID        string  `json:"user_id"`
	RequestID     string  `json:"request_id"`
	LatencyMS     float64 `json:"latency_ms"`
	// TTFTMS is the time to the first token of a stream, as the client
	// saw it.
	TTFTMS   float64         `json:"ttft_ms"`
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
	Stream   *string         `json:"stream"`
	Error    json.RawMessage `json:"error"`
	Result   json.RawMessage `json:"result"`
}

// wireMessage is what a record needs of a Messages API response. It is read
// strictly, with encoding/json, because the SDK's decoder turns wrong types
// into zero values or strings without a word.
type wireMessage struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Model        string      `json:"model"`
	Content      []wireBlock `json:"content"`
	StopReason   *string     `json:"stop_reason"`
	StopSequence *string     `json:"stop_sequence"`
	// StopDetails is null unless the response has detail to give: a
	// refusal's {type, category, explanation}, in beta with
	// recommended_model and fallback fields.
	StopDetails *wireStopDetails `json:"stop_details"`
	Usage       wireUsage        `json:"usage"`
}

// wireStopDetails is a response's stop_details; the fallback fields of the
// beta (fallback_credit_token, fallback_has_prefill_claim) are not kept:
// the credit token is a short-lived secret.
type wireStopDetails struct {
	Type             string  `json:"type"`
	Category         *string `json:"category"`
	Explanation      *string `json:"explanation"`
	RecommendedModel *string `json:"recommended_model"`
}

type wireBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Thinking string `json:"thinking"`
	Name     string `json:"name"`
}

type wireUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	// CacheCreation splits cache_creation_input_tokens by the cache
	// lifetime the writes chose, which are billed at different rates.
	CacheCreation wireCacheCreation `json:"cache_creation"`
	// Iterations (beta) itemise the model runs of one request; those of
	// type compaction are left out of the counts above.
	Iterations []wireIteration `json:"iterations"`
	// ServiceTier is the tier the request was served on.
	ServiceTier string `json:"service_tier"`
}

// wireCacheCreation is usage.cache_creation.
type wireCacheCreation struct {
	Ephemeral5mInputTokens int64 `json:"ephemeral_5m_input_tokens"`
	Ephemeral1hInputTokens int64 `json:"ephemeral_1h_input_tokens"`
}

// wireIteration is one entry of usage.iterations.
type wireIteration struct {
	Type                     string `json:"type"`
	InputTokens              int64  `json:"input_tokens"`
	OutputTokens             int64  `json:"output_tokens"`
	CacheCreationInputTokens int64  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64  `json:"cache_read_input_tokens"`
}

// wireResult is an Agent SDK ResultMessage.
type wireResult struct {
	Type         string              `json:"type"`
	Subtype      string              `json:"subtype"`
	UUID         string              `json:"uuid"`
	SessionID    string              `json:"session_id"`
	DurationMS   float64             `json:"duration_ms"`
	NumTurns     int64               `json:"num_turns"`
	TotalCostUSD float64             `json:"total_cost_usd"`
	Usage        wireUsage           `json:"usage"`
	ModelUsage   map[string]skipJSON `json:"modelUsage"`
	StopReason   *string             `json:"stop_reason"`
	IsError      bool                `json:"is_error"`
	// APIErrorStatus is the HTTP status of the API call that ended the
	// run, when one failed.
	APIErrorStatus *int     `json:"api_error_status"`
	Errors         []string `json:"errors"`
	Result         string   `json:"result"`
}

// skipJSON accepts any JSON value and keeps nothing.
type skipJSON struct{}

func (*skipJSON) UnmarshalJSON([]byte) error { return nil }

// UnmarshalJSONFrom is UnmarshalJSON for go-json-experiment/json.
func (*skipJSON) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return dec.SkipValue() }

// wireErrorBody is a Messages API error body.
type wireErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// wireEnvError is an envelope's error: the HTTP status and the body.
type wireEnvError struct {
	Type   string          `json:"type"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// wireRequest is what a record needs of a Messages API request body.
type wireRequest struct {
	Model         string           `json:"model"`
	MaxTokens     int64            `json:"max_tokens"`
	StopSequences []string         `json:"stop_sequences"`
	Messages      []wireReqMessage `json:"messages"`
}

type wireReqMessage struct {
	Role    string     `json:"role"`
	Content reqContent `json:"content"`
}

// reqContent is a request message's content: a string, or content blocks.
type reqContent []analytics.Block

func (c *reqContent) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case 'n':
		*c = nil
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*c = reqContent{{Type: "text", Text: s}}
		return nil
	case '[':
		var blocks []wireReqBlock
		if err := json.Unmarshal(data, &blocks); err != nil {
			return err
		}
		out := make(reqContent, len(blocks))
		for i, b := range blocks {
			out[i] = b.summary()
		}
		*c = out
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonTypeName(data), Type: reflect.TypeFor[reqContent]()}
}

// UnmarshalJSONFrom is UnmarshalJSON for go-json-experiment/json. It
// fails on any value UnmarshalJSON would refuse, so that unmarshal falls
// back to encoding/json for the error.
func (c *reqContent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*c = nil
		return err
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*c = reqContent{{Type: "text", Text: tok.String()}}
		return nil
	case '[':
		var blocks []wireReqBlock
		if err := jsonv2.UnmarshalDecode(dec, &blocks); err != nil {
			return err
		}
		out := make(reqContent, len(blocks))
		for i, b := range blocks {
			out[i] = b.summary()
		}
		*c = out
		return nil
	}
	return errors.New("request content is neither a string nor an array")
}

type wireReqBlock struct {
	Type     string            `json:"type"`
	Text     string            `json:"text"`
	Thinking string            `json:"thinking"`
	Name     string            `json:"name"`
	Content  toolResultContent `json:"content"`
}

func (b wireReqBlock) summary() analytics.Block {
	out := analytics.Block{Type: b.Type}
	switch {
	case b.Type == "text":
		out.Text = b.Text
	case b.Type == "thinking":
		out.Text = b.Thinking
	case b.Type == "tool_result":
		out.Text = string(b.Content)
	case strings.HasSuffix(b.Type, "tool_use"):
		out.Name = b.Name
	}
	return out
}

// toolResultContent is the text of a tool_result's content: the string, or
// the text blocks of the array joined. Blocks of other types also have a
// content field, of other shapes; it is ignored for them.
type toolResultContent string

func (c *toolResultContent) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*c = toolResultContent(s)
	case '[':
		var blocks []struct {
			Type string          `json:"type"`
			Text json.RawMessage `json:"text"`
		}
		if err := json.Unmarshal(data, &blocks); err != nil {
			return nil // not a tool_result's shape; not ours to judge
		}
		var sb strings.Builder
		for _, b := range blocks {
			var s string
			if b.Type == "text" && json.Unmarshal(b.Text, &s) == nil {
				if sb.Len() > 0 {
					sb.WriteByte('\n')
				}
				sb.WriteString(s)
			}
		}
		*c = toolResultContent(sb.String())
	}
	return nil
}

// UnmarshalJSONFrom is UnmarshalJSON for go-json-experiment/json. Where
// UnmarshalJSON quietly gives up on an array it cannot read, this fails,
// so that unmarshal falls back to encoding/json: go-json-experiment/json
// refuses some arrays that encoding/json reads.
func (c *toolResultContent) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*c = toolResultContent(tok.String())
		return nil
	case '[':
		var blocks []struct {
			Type string         `json:"type"`
			Text jsontext.Value `json:"text"`
		}
		if err := jsonv2.UnmarshalDecode(dec, &blocks); err != nil {
			return err
		}
		var sb strings.Builder
		for _, b := range blocks {
			// As UnmarshalJSON: a string, or null for "", and nothing else.
			if b.Type != "text" || len(b.Text) == 0 {
				continue
			}
			var s string
			switch b.Text.Kind() {
			case '"':
				if err := jsonv2.Unmarshal(b.Text, &s); err != nil {
					return err
				}
			case 'n':
			default:
				continue
			}
			if sb.Len() > 0 {
				sb.WriteByte('\n')
			}
			sb.WriteString(s)
		}
		*c = toolResultContent(sb.String())
		return nil
	}
	return dec.SkipValue()
}

// useFastJSON is false only in tests that check the fast path against
// encoding/json alone.
var useFastJSON = true

// fastOpts make go-json-experiment/json match object names to fields as
// encoding/json does: the exact name first, else one equal under Unicode
// case folding, underscores and dashes included. Its other defaults are
// stricter than encoding/json (duplicate names, invalid UTF-8 and lone
// surrogates are errors, and so is every type mismatch), so whatever it
// accepts, encoding/json accepts too and decodes to the same value.
var fastOpts = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true), jsonv1.MatchCaseSensitiveDelimiter(true))

// unmarshal decodes data into *v, which must be the zero value, exactly
// as encoding/json.Unmarshal does, errors included. It tries
// go-json-experiment/json first, which is several times faster; on any
// error it starts again from zero with encoding/json, whose result and
// error are then the answer, so that every error message stays as it was.
func unmarshal[T any](data []byte, v *T) error {
	if useFastJSON {
		if jsonv2.Unmarshal(data, v, fastOpts) == nil {
			return nil
		}
		var zero T
		*v = zero
	}
	return json.Unmarshal(data, v)
}

// record decodes one record of a batch.
func (d *decoder) record(data []byte) (*analytics.Record, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("record is not valid UTF-8 (first bad byte at offset %d)", badUTF8(data))
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("record is empty")
	}
	if data[0] != '{' {
		return nil, fmt.Errorf("expected a JSON object, got %s", jsonKind(data))
	}
	var env wireEnvelope
	err := unmarshal(data, &env)
	if env.Type != nil {
		// A bare body: its own decoding judges its fields, so type errors
		// in envelope fields it does not have are not its concern, unless
		// the type itself is wrong.
		var te *json.UnmarshalTypeError
		if err != nil && !(errors.As(err, &te) && te.Field != "type") {
			return nil, describeJSONError(err, "")
		}
		if len(data) > d.lim.MaxFieldBytes {
			return nil, d.fieldTooLarge("record", len(data))
		}
		rec, err := d.bare(*env.Type, data)
		if err != nil {
			return nil, err
		}
		if err := d.finish(rec); err != nil {
			return nil, err
		}
		return rec, nil
	}
	if err != nil {
		return nil, describeJSONError(err, "")
	}
	rec, err := d.envelope(&env)
	if err != nil {
		return nil, err
	}
	if err := d.finish(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// bare decodes a body as Anthropic returns it, whose type is typ.
func (d *decoder) bare(typ string, data []byte) (*analytics.Record, error) {
	switch typ {
	case "message":
		return d.message(data, "")
	case "result":
		return d.agentResult(data, "")
	case "error":
		return d.errorBody(data, 0, "")
	}
	return nil, fmt.Errorf("unknown record type %q: %s", d.clip(typ), expectedKinds)
}

// envelope decodes an envelope: metadata, a request and one body.
func (d *decoder) envelope(env *wireEnvelope) (*analytics.Record, error) {
	var present []string
	if !isNull(env.Response) {
		present = append(present, "response")
	}
	if env.Stream != nil {
		present = append(present, "stream")
	}
	if !isNull(env.Error) {
		present = append(present, "error")
	}
	if !isNull(env.Result) {
		present = append(present, "result")
	}
	switch len(present) {
	case 0:
		return nil, fmt.Errorf("record has no type and no response, stream, error or result: %s", expectedKinds)
	case 1:
	case 2:
		return nil, fmt.Errorf("envelope has both %s and %s: send exactly one of response, stream, error, result", present[0], present[1])
	default:
		return nil, fmt.Errorf("envelope has %s and %s: send exactly one of response, stream, error, result",
			strings.Join(present[:len(present)-1], ", "), present[len(present)-1])
	}

	t := d.now
	if env.Time != nil {
		var err error
		if t, err = d.parseTime(*env.Time); err != nil {
			return nil, err
		}
	}
	if env.LatencyMS < 0 {
		return nil, errors.New("latency_ms is negative")
	}
	if env.LatencyMS > analytics.MaxLatencyMS {
		return nil, fmt.Errorf("latency_ms %v is more than 24 hours", env.LatencyMS)
	}
	if env.TTFTMS < 0 {
		return nil, errors.New("ttft_ms is negative")
	}
	if env.TTFTMS > analytics.MaxLatencyMS {
		return nil, fmt.Errorf("ttft_ms %v is more than 24 hours", env.TTFTMS)
	}
	for _, f := range [...]struct{ name, v string }{
		{"app", env.App}, {"environment", env.Environment}, {"session_id", env.SessionID},
		{"user_id", env.UserID}, {"request_id", env.RequestID},
		{"release", env.Release}, {"prompt_version", env.PromptVersion},
	} {
		if err := d.checkID(f.name, f.v); err != nil {
			return nil, err
		}
	}

	var req *analytics.Request
	if !isNull(env.Request) {
		if len(env.Request) > d.lim.MaxFieldBytes {
			return nil, d.fieldTooLarge("request", len(env.Request))
		}
		var err error
		if req, err = d.request(env.Request); err != nil {
			return nil, err
		}
	}

	var rec *analytics.Record
	var err error
	switch present[0] {
	case "response":
		if len(env.Response) > d.lim.MaxFieldBytes {
			return nil, d.fieldTooLarge("response", len(env.Response))
		}
		if env.Response[0] != '{' {
			return nil, fmt.Errorf("response: expected a JSON object, got %s", jsonKind(env.Response))
		}
		rec, err = d.message(env.Response, "response")
	case "stream":
		if len(*env.Stream) > d.lim.MaxFieldBytes {
			return nil, d.fieldTooLarge("stream", len(*env.Stream))
		}
		rec, err = d.stream(*env.Stream)
	case "error":
		if len(env.Error) > d.lim.MaxFieldBytes {
			return nil, d.fieldTooLarge("error", len(env.Error))
		}
		rec, err = d.envError(env.Error)
	case "result":
		if len(env.Result) > d.lim.MaxFieldBytes {
			return nil, d.fieldTooLarge("result", len(env.Result))
		}
		if env.Result[0] != '{' {
			return nil, fmt.Errorf("result: expected a JSON object, got %s", jsonKind(env.Result))
		}
		rec, err = d.agentResult(env.Result, "result")
	}
	if err != nil {
		return nil, err
	}

	rec.Time = t
	rec.LatencyMS = int64(math.Round(env.LatencyMS))
	rec.TTFTMS = int64(math.Round(env.TTFTMS))
	rec.App = env.App
	rec.Environment = env.Environment
	rec.Release = env.Release
	rec.PromptVersion = env.PromptVersion
	rec.UserID = env.UserID
	if env.SessionID != "" {
		rec.SessionID = env.SessionID
	}
	if env.RequestID != "" {
		rec.RequestID = env.RequestID
	}
	if req != nil {
		rec.Req = req
		rec.RequestBody = json.RawMessage(env.Request)
		if rec.Model == "" {
			rec.Model = req.Model
		}
	}
	return rec, nil
}

// finish fills what every record shares, checks its numbers against the
// bounds every way in shares (analytics.Record.CheckBounds) and classifies it.
func (d *decoder) finish(rec *analytics.Record) error {
	if rec.Time.IsZero() {
		rec.Time = d.now
	}
	rec.Source = Source
	if rec.App == "" {
		rec.App = DefaultApp
	}
	if err := rec.CheckBounds(d.now); err != nil {
		return err
	}
	analytics.Classify(rec)
	return nil
}

// message decodes a Messages API response; path names it in errors.
func (d *decoder) message(data []byte, path string) (*analytics.Record, error) {
	var m wireMessage
	if err := unmarshal(data, &m); err != nil {
		return nil, describeJSONError(err, path)
	}
	if m.Type != "message" && m.Type != "" {
		return nil, fmt.Errorf("%s: expected a Messages API response (type message), got type %q", pathOr(path, "response"), d.clip(m.Type))
	}
	rec := &analytics.Record{
		Kind:         analytics.KindMessage,
		MessageID:    m.ID,
		Model:        m.Model,
		Content:      contentSummary(m.Content),
		ResponseBody: json.RawMessage(data),
	}
	if m.StopReason != nil {
		rec.StopReason = analytics.StopReason(*m.StopReason)
	}
	if m.StopSequence != nil {
		rec.StopSequence = *m.StopSequence
	}
	var err error
	if rec.Usage, err = checkUsage(m.Usage, path); err != nil {
		return nil, err
	}
	rec.ServiceTier = m.Usage.ServiceTier
	if err := d.checkIDs(path, "id", m.ID, "model", m.Model, "stop_reason", string(rec.StopReason), "stop_sequence", rec.StopSequence,
		"usage.service_tier", rec.ServiceTier); err != nil {
		return nil, err
	}
	if rec.StopDetails, err = d.stopDetails(m.StopDetails, path); err != nil {
		return nil, err
	}
	return rec, nil
}

func contentSummary(blocks []wireBlock) []analytics.Block {
	if len(blocks) == 0 {
		return nil
	}
	out := make([]analytics.Block, len(blocks))
	for i, b := range blocks {
		out[i] = analytics.Block{Type: b.Type}
		switch {
		case b.Type == "text":
			out[i].Text = b.Text
		case b.Type == "thinking":
			out[i].Text = b.Thinking
		case strings.HasSuffix(b.Type, "tool_use"):
			// tool_use, server_tool_use, mcp_tool_use
			out[i].Name = b.Name
		}
	}
	return out
}

// agentResult decodes an Agent SDK result message.
func (d *decoder) agentResult(data []byte, path string) (*analytics.Record, error) {
	var r wireResult
	if err := unmarshal(data, &r); err != nil {
		return nil, describeJSONError(err, path)
	}
	if r.Type != "result" {
		return nil, fmt.Errorf("%s: expected an Agent SDK result (type result), got type %q", pathOr(path, "result"), d.clip(r.Type))
	}
	switch {
	case r.NumTurns < 0:
		return nil, fmt.Errorf("%s is negative", join(path, "num_turns"))
	case r.DurationMS < 0:
		return nil, fmt.Errorf("%s is negative", join(path, "duration_ms"))
	case r.DurationMS > math.MaxInt64/2:
		return nil, fmt.Errorf("%s is out of range", join(path, "duration_ms"))
	case r.TotalCostUSD < 0:
		return nil, fmt.Errorf("%s is negative", join(path, "total_cost_usd"))
	case r.TotalCostUSD > analytics.MaxCostUSD:
		// CountsOf keeps cost in micro-dollars in an int64.
		return nil, fmt.Errorf("%s %v is more than a million dollars", join(path, "total_cost_usd"), r.TotalCostUSD)
	}
	rec := &analytics.Record{
		Kind:         analytics.KindAgentResult,
		MessageID:    r.UUID,
		SessionID:    r.SessionID,
		Subtype:      r.Subtype,
		NumTurns:     r.NumTurns,
		CostUSD:      r.TotalCostUSD,
		DurationMS:   int64(math.Round(r.DurationMS)),
		ResponseBody: json.RawMessage(data),
	}
	if r.StopReason != nil {
		rec.StopReason = analytics.StopReason(*r.StopReason)
	}
	if len(r.ModelUsage) == 1 {
		for m := range r.ModelUsage {
			rec.Model = m
		}
	}
	if r.Result != "" {
		// The final text, so that text search finds agent runs too.
		rec.Content = []analytics.Block{{Type: "text", Text: r.Result}}
	}
	if r.IsError {
		d.agentError(rec, &r)
	}
	var err error
	if rec.Usage, err = checkUsage(r.Usage, path); err != nil {
		return nil, err
	}
	if err := d.checkIDs(path, "uuid", r.UUID, "session_id", r.SessionID, "subtype", r.Subtype,
		"stop_reason", string(rec.StopReason), "model", rec.Model); err != nil {
		return nil, err
	}
	return rec, nil
}

// agentError reads a result whose is_error is set. Its errors, else its
// text, say what ended it. A run reported as subtype success with is_error
// is read as the OpenInference mapping reads the error the SDK throws for
// it (analytics.AgentRunErrorOf): a run whose API call failed
// (api_error_status, or "API Error: …") is an error_during_execution run
// with the call's HTTP status and without the stop_sequence of Claude
// Code's synthetic message; a refused run stays a success whose refusal
// counts it.
func (d *decoder) agentError(rec *analytics.Record, r *wireResult) {
	text := strings.Join(r.Errors, "; ")
	if text == "" {
		text = r.Result
	}
	rec.ErrorMessage = text
	if rec.Subtype != "" && rec.Subtype != analytics.SubtypeSuccess {
		return
	}
	e := analytics.AgentRunErrorOf(text, rec.StopReason)
	if st := r.APIErrorStatus; st != nil && *st >= 100 && *st <= 599 && rec.StopReason != analytics.StopRefusal {
		e.Subtype, e.APIFailed, e.HTTPStatus = analytics.SubtypeErrorDuringExecution, true, *st
	}
	rec.Subtype = e.Subtype
	if e.APIFailed {
		rec.StopReason = analytics.StopNull
		rec.HTTPStatus = e.HTTPStatus
	}
}

// errorBody decodes a Messages API error body. A zero status is recovered
// from the error type.
func (d *decoder) errorBody(data []byte, status int, path string) (*analytics.Record, error) {
	var e wireErrorBody
	if err := unmarshal(data, &e); err != nil {
		return nil, describeJSONError(err, path)
	}
	if status == 0 {
		status = analytics.StatusForErrorType(e.Error.Type)
	}
	if err := d.checkIDs(path, "error.type", e.Error.Type, "request_id", e.RequestID); err != nil {
		return nil, err
	}
	return &analytics.Record{
		Kind:         analytics.KindError,
		RequestID:    e.RequestID,
		HTTPStatus:   status,
		ErrorType:    e.Error.Type,
		ErrorMessage: e.Error.Message,
		ResponseBody: json.RawMessage(data),
	}, nil
}

// envError decodes an envelope's error: {"status": 529, "body": {...}}. An
// error body put there directly is taken too.
func (d *decoder) envError(data []byte) (*analytics.Record, error) {
	if data[0] != '{' {
		return nil, fmt.Errorf("error: expected a JSON object with status and body, got %s", jsonKind(data))
	}
	var e wireEnvError
	if err := unmarshal(data, &e); err != nil {
		return nil, describeJSONError(err, "error")
	}
	if e.Type == "error" {
		return d.errorBody(data, 0, "error")
	}
	if e.Status != 0 && (e.Status < 100 || e.Status > 599) {
		return nil, fmt.Errorf("error.status %d is not an HTTP status (100 to 599)", e.Status)
	}
	if isNull(e.Body) {
		if e.Status == 0 {
			return nil, errors.New("error has neither status nor body")
		}
		return &analytics.Record{Kind: analytics.KindError, HTTPStatus: e.Status}, nil
	}
	switch e.Body[0] {
	case '{':
		return d.errorBody(e.Body, e.Status, "error.body")
	case '"':
		// Proxies and gateways answer with text, not Anthropic's body.
		var s string
		if err := unmarshal(e.Body, &s); err != nil {
			return nil, describeJSONError(err, "error.body")
		}
		return &analytics.Record{Kind: analytics.KindError, HTTPStatus: e.Status, ErrorMessage: s, ResponseBody: e.Body}, nil
	}
	return nil, fmt.Errorf("error.body: expected an error body object or a string, got %s", jsonKind(e.Body))
}

// request summarises a Messages API request body.
func (d *decoder) request(data []byte) (*analytics.Request, error) {
	if data[0] != '{' {
		return nil, fmt.Errorf("request: expected a JSON object, got %s", jsonKind(data))
	}
	var r wireRequest
	if err := unmarshal(data, &r); err != nil {
		return nil, describeJSONError(err, "request")
	}
	if r.MaxTokens < 0 {
		return nil, errors.New("request.max_tokens is negative")
	}
	if err := d.checkID("request.model", r.Model); err != nil {
		return nil, err
	}
	req := &analytics.Request{Model: r.Model, MaxTokens: r.MaxTokens, StopSequences: r.StopSequences}
	if len(r.Messages) > 0 {
		req.Messages = make([]analytics.Message, len(r.Messages))
		for i, m := range r.Messages {
			req.Messages[i] = analytics.Message{Role: m.Role, Blocks: m.Content}
			if req.Messages[i].Blocks == nil {
				req.Messages[i].Blocks = []analytics.Block{}
			}
		}
	}
	return req, nil
}

// parseTime reads an envelope's time; finish checks it is within the
// window of analytics.Record.CheckBounds.
func (d *decoder) parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not RFC 3339 (like 2025-06-01T12:00:00Z)", d.clip(s))
	}
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("time %s is more than 10 years before the server's clock (%s)",
			t.Format(time.RFC3339), d.now.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// stopDetails converts stop_details (nil for null) and bounds its fields.
// The explanation is clipped to MaxIDBytes rather than refused: it is
// Anthropic's text, and the refusal matters more than its wording.
func (d *decoder) stopDetails(w *wireStopDetails, path string) (*analytics.StopDetails, error) {
	if w == nil {
		return nil, nil
	}
	sd := &analytics.StopDetails{Type: w.Type}
	if w.Category != nil {
		sd.Category = analytics.RefusalCategory(*w.Category)
	}
	if w.Explanation != nil {
		sd.Explanation = clipUTF8(*w.Explanation, d.lim.MaxIDBytes)
	}
	if w.RecommendedModel != nil {
		sd.RecommendedModel = *w.RecommendedModel
	}
	if err := d.checkIDs(path, "stop_details.type", sd.Type, "stop_details.category", string(sd.Category),
		"stop_details.recommended_model", sd.RecommendedModel); err != nil {
		return nil, err
	}
	return sd, nil
}

// clipUTF8 cuts s to at most n bytes, at a rune boundary.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// checkUsage converts usage and rejects impossible token counts. The
// tokens of compaction iterations, which the message's own counts leave
// out, are summed into CompactionInputTokens (input, cache read and cache
// creation) and CompactionOutputTokens.
func checkUsage(u wireUsage, path string) (analytics.Usage, error) {
	type field struct {
		name string
		v    int64
	}
	check := func(fs ...field) error {
		for _, f := range fs {
			if f.v < 0 {
				return fmt.Errorf("%s is negative", join(path, "usage."+f.name))
			}
			if f.v > MaxTokens {
				return fmt.Errorf("%s is %d, above the bound of %d", join(path, "usage."+f.name), f.v, MaxTokens)
			}
		}
		return nil
	}
	if err := check(
		field{"input_tokens", u.InputTokens}, field{"output_tokens", u.OutputTokens},
		field{"cache_creation_input_tokens", u.CacheCreationInputTokens},
		field{"cache_read_input_tokens", u.CacheReadInputTokens},
		field{"cache_creation.ephemeral_5m_input_tokens", u.CacheCreation.Ephemeral5mInputTokens},
		field{"cache_creation.ephemeral_1h_input_tokens", u.CacheCreation.Ephemeral1hInputTokens},
	); err != nil {
		return analytics.Usage{}, err
	}
	out := analytics.Usage{
		InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheCreationInputTokens: u.CacheCreationInputTokens, CacheReadInputTokens: u.CacheReadInputTokens,
		CacheCreation1hInputTokens: u.CacheCreation.Ephemeral1hInputTokens,
	}
	for i, it := range u.Iterations {
		if it.Type != "compaction" {
			continue
		}
		p := fmt.Sprintf("iterations[%d].", i)
		if err := check(
			field{p + "input_tokens", it.InputTokens}, field{p + "output_tokens", it.OutputTokens},
			field{p + "cache_creation_input_tokens", it.CacheCreationInputTokens},
			field{p + "cache_read_input_tokens", it.CacheReadInputTokens},
		); err != nil {
			return analytics.Usage{}, err
		}
		out.CompactionInputTokens += it.InputTokens + it.CacheReadInputTokens + it.CacheCreationInputTokens
		out.CompactionOutputTokens += it.OutputTokens
	}
	if err := check(field{"iterations (compaction input)", out.CompactionInputTokens},
		field{"iterations (compaction output)", out.CompactionOutputTokens}); err != nil {
		return analytics.Usage{}, err
	}
	return out, nil
}

// checkIDs checks pairs of field name and value against MaxIDBytes.
func (d *decoder) checkIDs(path string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := d.checkID(join(path, pairs[i]), pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) checkID(name, v string) error {
	if len(v) > d.lim.MaxIDBytes {
		return fmt.Errorf("%s is %d bytes, above the limit of %s (raise it with -%s)",
			name, len(v), formatBytes(int64(d.lim.MaxIDBytes)), FlagMaxIDBytes)
	}
	return nil
}

func (d *decoder) fieldTooLarge(name string, n int) error {
	return fmt.Errorf("%s is %d bytes, above the limit of %s per body (raise it with -%s)",
		name, n, formatBytes(int64(d.lim.MaxFieldBytes)), FlagMaxFieldBytes)
}

// clip shortens a value quoted in an error.
func (d *decoder) clip(s string) string { return clip(s, 64) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// describeJSONError turns a decoding error into one a user can act on;
// path is prefixed to field names.
func describeJSONError(err error, path string) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := join(path, te.Field)
		if field == "" {
			field = "record"
		}
		return fmt.Errorf("%s: expected %s, got %s", field, describeType(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("%s: invalid JSON at byte %d: %v", pathOr(path, "record"), se.Offset, se)
	}
	return fmt.Errorf("%s: %v", pathOr(path, "record"), err)
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t {
	case reflect.TypeFor[reqContent]():
		return "a string or an array of content blocks"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem()) + " or null"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// jsonKind names the kind of the JSON value that starts data.
func jsonKind(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return "nothing"
	}
	switch data[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "something that is not JSON"
}

// jsonTypeName names a JSON value's type as encoding/json's errors do.
func jsonTypeName(data []byte) string {
	switch data[0] {
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	}
	return "number"
}

func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	if field == "" {
		return path
	}
	return path + "." + field
}

func pathOr(path, def string) string {
	if path == "" {
		return def
	}
	return path
}

// badUTF8 returns the offset of the first byte of data that is not UTF-8.
func badUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
