package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

func TestTextAfterToolResult(t *testing.T) {
	for _, c := range []struct {
		request string
		want    []analytics.Cause
	}{
		{"requests/text_after_tool_result.json", []analytics.Cause{analytics.CauseTextAfterToolResult}},
		{"requests/tool_result_only.json", nil},
		{"requests/continuation_prompt.json", nil},
	} {
		t.Run(c.request, func(t *testing.T) {
			for _, response := range []string{"messages/empty_end_turn.json", "streams/empty_end_turn.sse"} {
				data := envelope(t, response, map[string]any{"request": json.RawMessage(fixture(t, c.request))})
				rec, err := DecodeRecord(data, testOpts)
				if err != nil {
					t.Fatal(err)
				}
				if !rec.Flags.Has(analytics.FlagEmptyTurn) {
					t.Errorf("%s: flags %v, want empty_turn", response, rec.Flags.List())
				}
				if !slices.Equal(rec.Causes, c.want) {
					t.Errorf("%s: causes %v, want %v", response, rec.Causes, c.want)
				}
				var want bytes.Buffer
				if err := json.Compact(&want, fixture(t, c.request)); err != nil {
					t.Fatal(err)
				}
				if rec.Req == nil || len(rec.Req.Messages) != 3 || string(rec.RequestBody) != want.String() {
					t.Errorf("%s: request not kept: %+v", response, rec.Req)
				}
			}
		})
	}
}

func TestRequestSummary(t *testing.T) {
	req := `{"model":"m","max_tokens":7,"stop_sequences":["END"],"system":[{"type":"text","text":"sys"}],"messages":[
		{"role":"user","content":[
			{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"image","source":{}},{"type":"text","text":"b"}]},
			{"type":"search_result","content":[{"type":"text","text":"ignored"}],"title":"x"},
			{"type":"image","source":{"type":"base64","data":"AAAA"}},
			{"type":"text","text":"hi"}]},
		{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"server_tool_use","name":"web_search","input":{}},{"type":"web_search_tool_result","content":{"type":"error"}}]},
		{"role":"user","content":null}]}`
	rec, err := DecodeRecord([]byte(`{"request":`+req+`,"response":`+string(fixture(t, "messages/docs_example.json"))+`}`), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := &analytics.Request{Model: "m", MaxTokens: 7, StopSequences: []string{"END"}, Messages: []analytics.Message{
		{Role: "user", Blocks: []analytics.Block{{Type: "tool_result", Text: "a\nb"}, {Type: "search_result"}, {Type: "image"}, {Type: "text", Text: "hi"}}},
		{Role: "assistant", Blocks: []analytics.Block{{Type: "thinking", Text: "hmm"}, {Type: "server_tool_use", Name: "web_search"}, {Type: "web_search_tool_result"}}},
		{Role: "user", Blocks: []analytics.Block{}},
	}}
	got, _ := json.Marshal(rec.Req)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("request summary\n got %s\nwant %s", got, wantJSON)
	}
	if rec.Model != "m" {
		t.Errorf("model %q: a response without one takes the request's", rec.Model)
	}
}

func TestMessageFields(t *testing.T) {
	msg := `{"id":"msg_1","type":"message","model":"claude-x","stop_reason":"stop_sequence","stop_sequence":"END",
		"content":[{"type":"thinking","thinking":"let me see","signature":"sig"},{"type":"redacted_thinking","data":"x"},
		{"type":"text","text":"hello"},{"type":"mcp_tool_use","name":"lookup","server_name":"s","input":{}},{"type":"some_new_block","text":"t"}],
		"usage":{"input_tokens":1,"output_tokens":2,"cache_creation_input_tokens":3,"cache_read_input_tokens":4,"server_tool_use":{"web_search_requests":1}}}`
	rec, err := DecodeRecord([]byte(msg), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := analytics.Record{
		Time: testNow, Source: "native", App: DefaultApp, MessageID: "msg_1", Kind: analytics.KindMessage,
		Model: "claude-x", StopReason: analytics.StopStopSequence, StopSequence: "END",
		Usage: analytics.Usage{InputTokens: 1, OutputTokens: 2, CacheCreationInputTokens: 3, CacheReadInputTokens: 4},
		Content: []analytics.Block{{Type: "thinking", Text: "let me see"}, {Type: "redacted_thinking"}, {Type: "text", Text: "hello"},
			{Type: "mcp_tool_use", Name: "lookup"}, {Type: "some_new_block"}},
		ResponseBody: json.RawMessage(msg),
	}
	analytics.Classify(&want)
	got, _ := json.Marshal(rec)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("record\n got %s\nwant %s", got, wantJSON)
	}
}

func TestUnknownStopReasonKept(t *testing.T) {
	// Exactly as sent, in a bare body and through the SDK's stream replay.
	stream := strings.Replace(string(fixture(t, "streams/end_turn.sse")), `"stop_reason":"end_turn"`, `"stop_reason":"brand_new_reason"`, 1)
	for name, decode := range map[string]func() (*analytics.Record, error){
		"bare": func() (*analytics.Record, error) {
			return DecodeRecord(fixture(t, "messages/unknown_future_reason.json"), testOpts)
		},
		"stream": func() (*analytics.Record, error) { return DecodeStream(stream, testOpts) },
	} {
		rec, err := decode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.StopReason.Known() || !rec.Flags.Has(analytics.FlagUnknownStopReason) {
			t.Errorf("%s: stop reason %q flags %v", name, rec.StopReason, rec.Flags.List())
		}
	}
}

func TestEnvelopeMetadata(t *testing.T) {
	data := envelope(t, "agent_sdk/success.json", map[string]any{
		"time": "2025-05-31T10:00:00+02:00", "app": "a", "environment": "e", "user_id": "u",
		"request_id": "r", "latency_ms": 12.6, "ttft_ms": 4.4, "ignored_field": map[string]any{"x": 1},
		"release": "r42", "prompt_version": "support@3",
	})
	rec, err := DecodeRecord(data, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if want := "2025-05-31T08:00:00Z"; rec.Time.Format("2006-01-02T15:04:05Z07:00") != want {
		t.Errorf("time %v, want %s", rec.Time, want)
	}
	if rec.App != "a" || rec.Environment != "e" || rec.UserID != "u" || rec.RequestID != "r" || rec.LatencyMS != 13 || rec.TTFTMS != 4 ||
		rec.Release != "r42" || rec.PromptVersion != "support@3" {
		t.Errorf("metadata not kept: %+v", rec)
	}
	if rec.SessionID != "7f1c2a9e-2b8d-4a51-9d0e-1f6c3e0a9b11" {
		t.Errorf("session id %q: want the result's", rec.SessionID)
	}
	rec, err = DecodeRecord(envelope(t, "agent_sdk/success.json", map[string]any{"session_id": "mine"}), testOpts)
	if err != nil || rec.SessionID != "mine" {
		t.Errorf("the envelope's session id wins: %v %v", rec, err)
	}
	rec, err = DecodeRecord(envelope(t, "errors/529.json", map[string]any{"app": ""}), testOpts)
	if err != nil || rec.App != DefaultApp {
		t.Errorf("empty app: %v %v", rec, err)
	}
}

func TestEnvelopeErrorShapes(t *testing.T) {
	for _, c := range []struct {
		name, error    string
		status         int
		typ, message   string
		responseBodyOK bool
	}{
		{"status and body", `{"status":503,"body":{"type":"error","error":{"type":"overloaded_error","message":"m"}}}`, 503, "overloaded_error", "m", true},
		{"body only", `{"body":{"type":"error","error":{"type":"rate_limit_error","message":"m"}}}`, 429, "rate_limit_error", "m", true},
		{"status only", `{"status":502}`, 502, "", "", false},
		{"text body from a proxy", `{"status":502,"body":"Bad Gateway"}`, 502, "", "Bad Gateway", true},
		{"unknown type", `{"body":{"type":"error","error":{"type":"new_error","message":"m"}}}`, 0, "new_error", "m", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := DecodeRecord([]byte(`{"error":`+c.error+`}`), testOpts)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Kind != analytics.KindError || rec.HTTPStatus != c.status || rec.ErrorType != c.typ || rec.ErrorMessage != c.message {
				t.Errorf("got %s %d %q %q", rec.Kind, rec.HTTPStatus, rec.ErrorType, rec.ErrorMessage)
			}
			if (len(rec.ResponseBody) > 0) != c.responseBodyOK {
				t.Errorf("response body %q", rec.ResponseBody)
			}
		})
	}
}

func TestStreamEdges(t *testing.T) {
	endTurn := string(fixture(t, "streams/end_turn.sse"))
	for _, c := range []struct {
		name, transcript string
		stop             analytics.StopReason
		kind             analytics.Kind
		text             string
	}{
		{"CRLF line ends", strings.ReplaceAll(endTurn, "\n", "\r\n"), analytics.StopEndTurn, analytics.KindMessage, "Paris is the capital of France."},
		{"no final blank line", strings.TrimRight(endTurn, "\n"), analytics.StopEndTurn, analytics.KindMessage, "Paris is the capital of France."},
		{"comments and pings", ": hello\n\nevent: ping\ndata: {}\n\n" + endTurn, analytics.StopEndTurn, analytics.KindMessage, "Paris is the capital of France."},
		{"split text deltas", strings.Replace(endTurn, `"text":"Paris is the capital of France."}}`,
			`"text":"Paris "}}`+"\n\nevent: content_block_delta\ndata: "+`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"is the capital of France."}}`, 1),
			analytics.StopEndTurn, analytics.KindMessage, "Paris is the capital of France."},
		{"unknown event types", strings.Replace(endTurn, "event: message_stop", "event: brand_new\ndata: {\"type\":\"brand_new\"}\n\nevent: message_stop", 1),
			analytics.StopEndTurn, analytics.KindMessage, "Paris is the capital of France."},
		{"error before anything", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			analytics.StopNull, analytics.KindError, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := DecodeStream(c.transcript, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			var text string
			for _, b := range rec.Content {
				text += b.Text
			}
			if rec.StopReason != c.stop || rec.Kind != c.kind || text != c.text || !rec.Streamed || rec.StreamBody != c.transcript {
				t.Errorf("got %q %s %q streamed=%v", rec.StopReason, rec.Kind, text, rec.Streamed)
			}
		})
	}
}

// TestRejections checks that each kind of bad record gets an error that
// says what to fix.
func TestRejections(t *testing.T) {
	msg := string(fixture(t, "messages/end_turn.json"))
	small := Options{Now: testNow, Limits: Limits{MaxFieldBytes: 2000, MaxIDBytes: 24}}
	for _, c := range []struct {
		name   string
		record string
		opts   Options
		want   string // the whole error, or its start when it ends in "…"
	}{
		{"unknown type", `{"type":"foo"}`, testOpts,
			`record 0: unknown record type "foo": expected a Messages API response (type message), an Agent SDK result (type result), an error body (type error) or an envelope with one of response, stream, error, result`},
		{"no type nor body", `{"app":"a"}`, testOpts,
			`record 0: record has no type and no response, stream, error or result: expected a Messages API response (type message), …`},
		{"both response and stream", `{"response":` + msg + `,"stream":"event: ping\n\n"}`, testOpts,
			`record 0: envelope has both response and stream: send exactly one of response, stream, error, result`},
		{"three bodies", `{"response":{},"error":{},"result":{}}`, testOpts, `record 0: envelope has response, error and result: …`},
		{"null bodies are absent", `{"response":null,"stream":null,"result":` + string(fixture(t, "agent_sdk/success.json")) + `}`, testOpts, ``},
		{"bad time", `{"time":"x","response":` + msg + `}`, testOpts, `record 0: time "x" is not RFC 3339 (like 2025-06-01T12:00:00Z)`},
		{"time in the future", `{"time":"2025-06-03T12:00:00Z","response":` + msg + `}`, testOpts,
			`record 0: time 2025-06-03T12:00:00Z is more than 24 hours after the server's clock (2025-06-01T12:00:00Z)`},
		{"time a little ahead", `{"time":"2025-06-02T11:00:00Z","response":` + msg + `}`, testOpts, ``},
		{"time zero", `{"time":"0001-01-01T00:00:00Z","response":` + msg + `}`, testOpts,
			`record 0: time 0001-01-01T00:00:00Z is more than 10 years before the server's clock (2025-06-01T12:00:00Z)`},
		{"time before 1970", `{"time":"1969-12-31T00:00:00Z","response":` + msg + `}`, testOpts,
			`record 0: time 1969-12-31T00:00:00Z is more than 10 years before the server's clock (2025-06-01T12:00:00Z)`},
		{"time eleven years ago", `{"time":"2014-06-01T00:00:00Z","response":` + msg + `}`, testOpts,
			`record 0: time 2014-06-01T00:00:00Z is more than 10 years before the server's clock (2025-06-01T12:00:00Z)`},
		{"time nine years ago", `{"time":"2016-06-01T00:00:00Z","response":` + msg + `}`, testOpts, ``},
		{"latency over a day", `{"latency_ms":86400001,"response":` + msg + `}`, testOpts, `record 0: latency_ms 8.6400001e+07 is more than 24 hours`},
		{"huge cost", `{"type":"result","total_cost_usd":1e300}`, testOpts, `record 0: total_cost_usd 1e+300 is more than a million dollars`},
		{"negative cost", `{"type":"result","total_cost_usd":-0.5}`, testOpts, `record 0: total_cost_usd is negative`},
		{"too many turns", `{"type":"result","num_turns":1000001}`, testOpts, `record 0: num_turns is 1000001, above the bound of 1000000`},
		{"run over thirty days", `{"type":"result","duration_ms":2592000001}`, testOpts, `record 0: duration_ms is 2592000001, above the bound of 2592000000`},
		{"max_tokens too large", `{"request":{"max_tokens":4611686018427387904},"response":` + msg + `}`, testOpts,
			`record 0: request.max_tokens is 4611686018427387904, above the bound of 1000000000`},
		{"negative tokens", strings.Replace(msg, `"output_tokens": 9`, `"output_tokens": -1`, 1), testOpts, `record 0: usage.output_tokens is negative`},
		{"negative tokens in an envelope", `{"response":` + strings.Replace(msg, `"input_tokens": 12`, `"input_tokens": -1`, 1) + `}`, testOpts,
			`record 0: response.usage.input_tokens is negative`},
		{"too many tokens", strings.Replace(msg, `"output_tokens": 9`, `"output_tokens": 1000000001`, 1), testOpts,
			`record 0: usage.output_tokens is 1000000001, above the bound of 1000000000`},
		{"2^62 tokens", strings.Replace(msg, `"output_tokens": 9`, `"output_tokens": 4611686018427387904`, 1), testOpts,
			`record 0: usage.output_tokens is 4611686018427387904, above the bound of 1000000000`},
		{"invalid UTF-8", strings.Replace(msg, "Paris", "Par\xffis", 1), testOpts, `record 0: record is not valid UTF-8 (first bad byte at offset …`},
		{"stop_reason a number", `{"type":"message","stop_reason":5}`, testOpts, `record 0: stop_reason: expected a string, got number`},
		{"tokens a string", `{"type":"message","usage":{"input_tokens":"12"}}`, testOpts, `record 0: usage.input_tokens: expected an integer, got string`},
		{"tokens a fraction", `{"type":"message","usage":{"input_tokens":1.5}}`, testOpts, `record 0: usage.input_tokens: expected an integer, got number 1.5`},
		{"content a string", `{"type":"message","content":"hi"}`, testOpts, `record 0: content: expected an array, got string`},
		{"text a number", `{"type":"message","content":[{"type":"text","text":1}]}`, testOpts, `record 0: content.text: expected a string, got number`},
		{"type a number", `{"type":1}`, testOpts, `record 0: type: expected a string, got number`},
		{"app a number", `{"app":1,"response":` + msg + `}`, testOpts, `record 0: app: expected a string, got number`},
		{"stream an object", `{"stream":{}}`, testOpts, `record 0: stream: expected a string, got object`},
		{"response a string", `{"response":"hi"}`, testOpts, `record 0: response: expected a JSON object, got a string`},
		{"response of another type", `{"response":` + string(fixture(t, "errors/529.json")) + `}`, testOpts,
			`record 0: response: expected a Messages API response (type message), got type "error"`},
		{"result of another type", `{"result":` + msg + `}`, testOpts, `record 0: result: expected an Agent SDK result (type result), got type "message"`},
		{"request content a number", `{"request":{"messages":[{"role":"user","content":5}]},"response":` + msg + `}`, testOpts,
			`record 0: request.messages.content: expected a string or an array of content blocks, got number`},
		{"request an array", `{"request":[],"response":` + msg + `}`, testOpts, `record 0: request: expected a JSON object, got an array`},
		{"not an object", `[1]`, testOpts, `record 0: expected a JSON object, got a number`},
		{"negative latency", `{"latency_ms":-1,"response":` + msg + `}`, testOpts, `record 0: latency_ms is negative`},
		{"negative time to first token", `{"ttft_ms":-1,"response":` + msg + `}`, testOpts, `record 0: ttft_ms is negative`},
		{"time to first token over a day", `{"ttft_ms":86400001,"response":` + msg + `}`, testOpts, `record 0: ttft_ms 8.6400001e+07 is more than 24 hours`},
		{"bad HTTP status", `{"error":{"status":42}}`, testOpts, `record 0: error.status 42 is not an HTTP status (100 to 599)`},
		{"error without status or body", `{"error":{}}`, testOpts, `record 0: error has neither status nor body`},
		{"negative turns", `{"type":"result","num_turns":-1}`, testOpts, `record 0: num_turns is negative`},
		{"empty stream", `{"stream":""}`, testOpts, `record 0: stream: no message_start event: …`},
		{"stream of garbage", `{"stream":"event: message_start\ndata: {nope\n\n"}`, testOpts, `record 0: stream: event 1 (message_start) is not valid JSON: …`},
		{"stream delta first", `{"stream":"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n"}`, testOpts,
			`record 0: stream: event 1 (message_delta) comes before message_start`},
		{"stream delta for a missing block", `{"stream":` + jsonString(strings.Replace(string(fixture(t, "streams/end_turn.sse")), `"index":0,"delta"`, `"index":3,"delta"`, 1)) + `}`, testOpts,
			`record 0: stream: event 3 (content_block_delta): received event of type content_block_delta for content block at index 3 but there are only 1 content blocks`},
		{"stream with negative usage", `{"stream":` + jsonString(strings.Replace(string(fixture(t, "streams/end_turn.sse")), `"output_tokens":9`, `"output_tokens":-9`, 1)) + `}`, testOpts,
			`record 0: stream message.usage.output_tokens is negative`},
		{"bare record too large", msg, Options{Now: testNow, Limits: Limits{MaxFieldBytes: 100}},
			fmt.Sprintf("record 0: record is %d bytes, above the limit of 100 bytes per body (raise it with -ingest-max-field-bytes)", len(strings.TrimSpace(msg)))},
		{"request too large", `{"request":{"messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]},"response":` + msg + `}`, small,
			`record 0: request is 2043 bytes, above the limit of 2000 bytes per body (raise it with -ingest-max-field-bytes)`},
		{"stream too large", `{"stream":"` + strings.Repeat("x", 2001) + `"}`, small, `record 0: stream is 2001 bytes, above the limit of 2000 bytes per body …`},
		{"app too long", `{"app":"` + strings.Repeat("a", 25) + `","response":` + msg + `}`, small,
			`record 0: app is 25 bytes, above the limit of 24 bytes (raise it with -ingest-max-id-bytes)`},
		{"stop reason too long", strings.Replace(msg, `"end_turn"`, `"`+strings.Repeat("z", 25)+`"`, 1), small,
			`record 0: stop_reason is 25 bytes, above the limit of 24 bytes (raise it with -ingest-max-id-bytes)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := c.record
			ctype := "application/x-ndjson"
			if strings.HasPrefix(body, "[") {
				ctype = "application/json"
			}
			recs, rejected, err := DecodeBatch([]byte(body), ctype, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				if len(rejected) != 0 || len(recs) != 1 {
					t.Fatalf("want the record accepted, got %v", rejected)
				}
				return
			}
			if len(rejected) != 1 || len(recs) != 0 {
				t.Fatalf("want one rejection, got %d records and %v", len(recs), rejected)
			}
			got := rejected[0].Error
			if prefix, ok := strings.CutSuffix(c.want, "…"); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Errorf("error\n got %s\nwant %s", got, c.want)
				}
			} else if got != c.want {
				t.Errorf("error\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
