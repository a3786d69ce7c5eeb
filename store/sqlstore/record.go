package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/stopscope/stopscope/analytics"
)

// Record times are stored as unix nanoseconds; this is the range accepted,
// chosen well inside int64 nanoseconds so that rounding a bound to a day
// can never overflow.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// insertCols are the columns Insert writes, in the order encodeRecord
// appends their values: the cause columns (counts.go) come last.
var insertCols = append([]string{
	"time_ns", "source", "app", "environment", "session_id", "user_id",
	"request_id", "message_id", "trace_id", "span_id", "identity", "kind",
	"model", "streamed", "stop_reason", "stop_reason_ambiguous",
	"stop_sequence", "tools", "flags", "causes", "input_tokens",
	"output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
	"latency_ms", "http_status", "error_type", "error_message", "subtype",
	"num_turns", "cost_usd", "cost_micro_usd",
	"duration_ms", "stop_details", "refusal_category",
	"compaction_input_tokens", "compaction_output_tokens", "content_unrecorded",
	"stop_reason_unrecorded", "ttft_ms", "attempts", "release",
	"prompt_version", "rollup_release", "rollup_prompt_version",
	"service_tier", "prompt_id", "keyed_by_request", "cache_creation_1h_input_tokens",
}, causeCols...)

// emptiedCols are the columns records kept content in before migration
// 0018, NOT NULL ones: Insert writes them empty, and reads take their
// values from record_content (withContent). The nullable ones (content_z,
// req_z and the bodies) are left NULL.
const emptiedCols, emptiedVals = "content, req, content_text", "'', '', ''"

// contentCols are the columns of record_content after record_id, in the
// order encodeRecord returns their values.
var contentCols = []string{
	"content", "content_z", "content_text", "req", "req_z",
	"request_body", "response_body", "stream_body",
}

// withContent is what the reads of content select from: a record's
// content is in record_content, or, for a record stored before migration
// 0018 and not yet moved (MoveContent), still in its row, which a move
// leaves with empty strings and NULLs there. The columns of contentCols
// are read as COALESCE(c.col, records.col).
const withContent = "records LEFT JOIN record_content c ON c.record_id = records.id"

// listCols are the columns List reads from withContent: everything but the
// request summary and the bodies, which can be large.
const listCols = `id, time_ns, source, app, environment, session_id, user_id,
request_id, message_id, trace_id, span_id, kind, model, streamed, stop_reason,
stop_reason_ambiguous, stop_sequence, tools, flags, causes, input_tokens,
output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
latency_ms, http_status, error_type, error_message, subtype, num_turns,
cost_usd, duration_ms, COALESCE(c.content, records.content), stop_details, compaction_input_tokens,
compaction_output_tokens, content_unrecorded, stop_reason_unrecorded,
ttft_ms, attempts, release, prompt_version, service_tier, prompt_id,
keyed_by_request, cache_creation_1h_input_tokens, COALESCE(c.content_z, records.content_z)`

// getCols are the columns Get reads: listCols and the rest.
const getCols = listCols + `, ` + reqCols + `, COALESCE(c.request_body, records.request_body),
COALESCE(c.response_body, records.response_body), COALESCE(c.stream_body, records.stream_body)`

// reqCols are the columns of the request summary.
const reqCols = `COALESCE(c.req, records.req), COALESCE(c.req_z, records.req_z)`

// checkTime rejects a record time the store cannot keep.
func checkTime(t time.Time) error {
	if t.IsZero() {
		return analytics.Errorf(analytics.EInvalid, "record has no time")
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return analytics.Errorf(analytics.EInvalid, "record time %s is outside 1970..2200", t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// clean makes a string storable as TEXT by both engines: PostgreSQL rejects
// NUL bytes and invalid UTF-8, so both are replaced by U+FFFD. Both engines
// store the same value so that they read back the same.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// cleanRecord returns r, or a shallow copy of it with every text field
// cleaned when one needs it. Dims and rollups are computed from the result,
// so they match what is stored.
func cleanRecord(r *analytics.Record) *analytics.Record {
	fields := []*string{
		&r.Source, &r.App, &r.Environment, &r.SessionID, &r.UserID,
		&r.RequestID, &r.MessageID, &r.TraceID, &r.SpanID, &r.Model,
		(*string)(&r.StopReason), &r.StopSequence, &r.ErrorType,
		&r.ErrorMessage, &r.Subtype, (*string)(&r.Kind), &r.StopReasonUnrecorded,
		&r.Release, &r.PromptVersion, &r.ServiceTier, &r.PromptID,
	}
	if sd := r.StopDetails; sd != nil {
		fields = append(fields, &sd.Type, (*string)(&sd.Category), &sd.Explanation, &sd.RecommendedModel)
	}
	dirty := false
	for _, f := range fields {
		if clean(*f) != *f {
			dirty = true
			break
		}
	}
	if !dirty {
		return r
	}
	c := *r
	fields = []*string{
		&c.Source, &c.App, &c.Environment, &c.SessionID, &c.UserID,
		&c.RequestID, &c.MessageID, &c.TraceID, &c.SpanID, &c.Model,
		(*string)(&c.StopReason), &c.StopSequence, &c.ErrorType,
		&c.ErrorMessage, &c.Subtype, (*string)(&c.Kind), &c.StopReasonUnrecorded,
		&c.Release, &c.PromptVersion, &c.ServiceTier, &c.PromptID,
	}
	if r.StopDetails != nil {
		sd := *r.StopDetails
		c.StopDetails = &sd
		fields = append(fields, &sd.Type, (*string)(&sd.Category), &sd.Explanation, &sd.RecommendedModel)
	}
	for _, f := range fields {
		*f = clean(*f)
	}
	return &c
}

// appendStopDetails appends sd as encoding/json would marshal it.
func appendStopDetails(b []byte, sd *analytics.StopDetails) []byte {
	b = append(b, '{')
	for _, f := range [...]struct{ name, v string }{
		{"type", sd.Type}, {"category", string(sd.Category)},
		{"explanation", sd.Explanation}, {"recommended_model", sd.RecommendedModel},
	} {
		if f.v == "" {
			continue
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = appendQuoted(b, f.v)
	}
	return append(b, '}')
}

// The JSON columns (tools, causes, content, req) are written by hand:
// encoding/json's reflection was a tenth of Insert's time. Strings are
// quoted by jsontext, which, like encoding/json, replaces invalid UTF-8
// with U+FFFD (the error it then returns says only that).

// appendQuoted appends s as a JSON string.
func appendQuoted(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
}

// appendStrings appends list as a JSON array of strings.
func appendStrings[S ~string](b []byte, list []S) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, string(s))
	}
	return append(b, ']')
}

// appendBlocks appends blocks as encoding/json would marshal them.
func appendBlocks(b []byte, blocks []analytics.Block) []byte {
	b = append(b, '[')
	for i, bl := range blocks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = appendQuoted(b, bl.Type)
		if bl.Text != "" {
			b = append(b, `,"text":`...)
			b = appendQuoted(b, bl.Text)
		}
		if bl.Name != "" {
			b = append(b, `,"name":`...)
			b = appendQuoted(b, bl.Name)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendRequest appends r as encoding/json would marshal it.
func appendRequest(b []byte, r *analytics.Request) []byte {
	b = append(b, '{')
	sep := func() {
		if len(b) > 0 && b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if r.Model != "" {
		b = append(b, `"model":`...)
		b = appendQuoted(b, r.Model)
	}
	if r.MaxTokens != 0 {
		sep()
		b = append(b, `"max_tokens":`...)
		b = strconv.AppendInt(b, r.MaxTokens, 10)
	}
	if len(r.StopSequences) > 0 {
		sep()
		b = append(b, `"stop_sequences":`...)
		b = appendStrings(b, r.StopSequences)
	}
	if len(r.Messages) > 0 {
		sep()
		b = append(b, `"messages":[`...)
		for i, m := range r.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"role":`...)
			b = appendQuoted(b, m.Role)
			b = append(b, `,"blocks":`...)
			if m.Blocks == nil {
				b = append(b, "null"...)
			} else {
				b = appendBlocks(b, m.Blocks)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// contentText is what the free-text filter searches: the response's block
// texts, lower-cased so that a LIKE finds them case-insensitively in both
// engines (PostgreSQL's LIKE is case-sensitive, SQLite's folds only ASCII).
func contentText(blocks []analytics.Block) string {
	var b strings.Builder
	for _, bl := range blocks {
		if bl.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(bl.Text)
	}
	return clean(strings.ToLower(b.String()))
}

// encodeRecord appends, in dl's form, the values of insertCols for r, which must be clean,
// with d the dims its rollups count it under (their Release and
// PromptVersion are stored as rollup_release and rollup_prompt_version),
// and returns them with the values of contentCols, nil when r has no
// content, request summary or body.
// buf is scratch space for the JSON columns, returned for the next call.
func (dl *Dialect) encodeRecord(args []any, r *analytics.Record, c *analytics.Counts, d *analytics.Dims, buf []byte) ([]any, []any, []byte) {
	var tools, causes, content, req, stopDetails, text string
	var contentZ, reqZ any
	if r.StopDetails != nil {
		buf = appendStopDetails(buf[:0], r.StopDetails)
		stopDetails = string(buf)
	}
	if len(r.Tools) > 0 {
		buf = appendStrings(buf[:0], r.Tools)
		tools = string(buf)
	}
	if len(r.Causes) > 0 {
		buf = appendStrings(buf[:0], r.Causes)
		causes = string(buf)
	}
	if len(r.Content) > 0 {
		buf = appendBlocks(buf[:0], r.Content)
		if content, contentZ = dl.storedJSON(buf); contentZ == nil {
			// Content stored compressed is searched by the dialect's
			// TextSearch, which derives the text from it.
			text = contentText(r.Content)
		}
	}
	if r.Req != nil {
		buf = appendRequest(buf[:0], r.Req)
		req, reqZ = dl.storedJSON(buf)
	}
	var identity any
	if id := r.Identity(); id != "" {
		identity = id
	}
	args = append(args,
		r.Time.UnixNano(), r.Source, r.App, r.Environment, r.SessionID, r.UserID,
		r.RequestID, r.MessageID, r.TraceID, r.SpanID, identity, string(r.Kind),
		r.Model, r.Streamed, string(r.StopReason), r.StopReasonAmbiguous,
		r.StopSequence, tools, int64(r.Flags), causes, r.Usage.InputTokens,
		r.Usage.OutputTokens, r.Usage.CacheCreationInputTokens, r.Usage.CacheReadInputTokens,
		r.LatencyMS, int64(r.HTTPStatus), r.ErrorType, r.ErrorMessage, r.Subtype,
		r.NumTurns, r.CostUSD, c.CostMicroUSD,
		r.DurationMS, stopDetails, string(r.RefusalCategory()),
		r.Usage.CompactionInputTokens, r.Usage.CompactionOutputTokens, r.ContentUnrecorded,
		r.StopReasonUnrecorded, r.TTFTMS, r.Attempts, r.Release,
		r.PromptVersion, d.Release, d.PromptVersion, r.ServiceTier, r.PromptID,
		r.KeyedByRequest, r.Usage.CacheCreation1hInputTokens,
	)
	for _, n := range c.Caused {
		args = append(args, n)
	}
	var cont []any
	reqBody, respBody, streamBody := dl.body(r.RequestBody), dl.body(r.ResponseBody), dl.body([]byte(r.StreamBody))
	if content != "" || contentZ != nil || req != "" || reqZ != nil || reqBody != nil || respBody != nil || streamBody != nil {
		cont = []any{content, contentZ, text, req, reqZ, reqBody, respBody, streamBody}
	}
	return args, cont, buf
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanRecord reads the columns of listCols, or of getCols when full is set.
func scanRecord(sc scanner, full bool) (*analytics.Record, error) {
	var (
		r                          analytics.Record
		timeNS, flags, status      int64
		kind, stop, tools, causes  string
		content, req, stopDetails  string
		reqBody, respBody, streamB []byte
		contentZ, reqZ             []byte
	)
	dest := []any{
		&r.ID, &timeNS, &r.Source, &r.App, &r.Environment, &r.SessionID, &r.UserID,
		&r.RequestID, &r.MessageID, &r.TraceID, &r.SpanID, &kind, &r.Model, &r.Streamed, &stop,
		&r.StopReasonAmbiguous, &r.StopSequence, &tools, &flags, &causes, &r.Usage.InputTokens,
		&r.Usage.OutputTokens, &r.Usage.CacheCreationInputTokens, &r.Usage.CacheReadInputTokens,
		&r.LatencyMS, &status, &r.ErrorType, &r.ErrorMessage, &r.Subtype, &r.NumTurns,
		&r.CostUSD, &r.DurationMS, &content, &stopDetails, &r.Usage.CompactionInputTokens,
		&r.Usage.CompactionOutputTokens, &r.ContentUnrecorded, &r.StopReasonUnrecorded,
		&r.TTFTMS, &r.Attempts, &r.Release, &r.PromptVersion, &r.ServiceTier, &r.PromptID,
		&r.KeyedByRequest, &r.Usage.CacheCreation1hInputTokens, &contentZ,
	}
	if full {
		dest = append(dest, &req, &reqZ, &reqBody, &respBody, &streamB)
	}
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	r.Time = time.Unix(0, timeNS).UTC()
	r.Kind = analytics.Kind(kind)
	r.StopReason = analytics.StopReason(stop)
	r.Flags = analytics.Flags(flags)
	r.HTTPStatus = int(status)
	if err := decodeJSON(tools, &r.Tools); err != nil {
		return nil, fmt.Errorf("record %d tools: %w", r.ID, err)
	}
	if err := decodeJSON(causes, &r.Causes); err != nil {
		return nil, fmt.Errorf("record %d causes: %w", r.ID, err)
	}
	if err := decodeStoredJSON(content, contentZ, &r.Content); err != nil {
		return nil, fmt.Errorf("record %d content: %w", r.ID, err)
	}
	if stopDetails != "" {
		r.StopDetails = new(analytics.StopDetails)
		if err := json.Unmarshal([]byte(stopDetails), r.StopDetails); err != nil {
			return nil, fmt.Errorf("record %d stop_details: %w", r.ID, err)
		}
	}
	if full {
		if req != "" || reqZ != nil {
			r.Req = new(analytics.Request)
			if err := decodeStoredJSON(req, reqZ, r.Req); err != nil {
				return nil, fmt.Errorf("record %d req: %w", r.ID, err)
			}
		}
		var err error
		if reqBody, err = decompressBody(reqBody); err != nil {
			return nil, fmt.Errorf("record %d request_body: %w", r.ID, err)
		}
		if respBody, err = decompressBody(respBody); err != nil {
			return nil, fmt.Errorf("record %d response_body: %w", r.ID, err)
		}
		if streamB, err = decompressBody(streamB); err != nil {
			return nil, fmt.Errorf("record %d stream_body: %w", r.ID, err)
		}
		if len(reqBody) > 0 {
			r.RequestBody = reqBody
		}
		if len(respBody) > 0 {
			r.ResponseBody = respBody
		}
		r.StreamBody = string(streamB)
	}
	// Numbers stored before ingest bounded them are read within the
	// bounds: no sum over them overflows and JSON can write each.
	r.Readable()
	return &r, nil
}

func decodeJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}
