package otelclaude

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const model = "claude-sonnet-4-6"

// outcome is what a response should put on its span. in and out are the
// values of gen_ai.usage.input_tokens (cache reads and writes included) and
// gen_ai.usage.output_tokens; noOut means no output tokens are known.
type outcome struct {
	id, model                string
	stop                     string // "" when the response has no stop reason
	in, out                  int64
	noOut                    bool
	cacheRead, cacheCreation int64
	noCache                  bool   // the response has no cache counts
	cache1h                  *int64 // usage.cache_creation.ephemeral_1h_input_tokens
}

func (o outcome) attrs() map[string]any {
	m := map[string]any{
		"gen_ai.response.id":        o.id,
		"gen_ai.usage.input_tokens": o.in,
	}
	if o.model != "" {
		m["gen_ai.response.model"] = o.model
	}
	if o.stop != "" {
		m["gen_ai.response.finish_reasons"] = []string{o.stop}
		m["anthropic.message.stop_reason"] = o.stop
	}
	if !o.noOut {
		m["gen_ai.usage.output_tokens"] = o.out
	}
	if !o.noCache {
		m["gen_ai.usage.cache_read.input_tokens"] = o.cacheRead
		m["gen_ai.usage.cache_creation.input_tokens"] = o.cacheCreation
	}
	if o.cache1h != nil {
		m["anthropic.usage.cache_creation.ephemeral_1h_input_tokens"] = *o.cache1h
	}
	return m
}

func checkSpanBasics(t *testing.T, span tracetest.SpanStub, status codes.Code) {
	t.Helper()
	if span.Name != "chat "+model {
		t.Errorf("span name = %q, want %q", span.Name, "chat "+model)
	}
	if span.SpanKind != trace.SpanKindClient {
		t.Errorf("span kind = %v, want client", span.SpanKind)
	}
	if span.Status.Code != status {
		t.Errorf("span status = %v %q, want %v", span.Status.Code, span.Status.Description, status)
	}
	if span.InstrumentationScope.Name != ScopeName {
		t.Errorf("scope = %q, want %q", span.InstrumentationScope.Name, ScopeName)
	}
	if span.EndTime.IsZero() {
		t.Error("span not ended")
	}
}

func TestPlainMessages(t *testing.T) {
	cases := []struct {
		file string
		want outcome
	}{
		{"messages/end_turn.json", outcome{id: "msg_fake_000001", model: model, stop: "end_turn", in: 12, out: 9}},
		{"messages/docs_example.json", outcome{id: "msg_01234", stop: "end_turn", in: 100, out: 50, noCache: true}},
		{"messages/empty_end_turn.json", outcome{id: "msg_fake_000003", model: model, stop: "end_turn", in: 240, out: 2}},
		{"messages/empty_end_turn_blank_text.json", outcome{id: "msg_fake_empty_text", model: model, stop: "end_turn", in: 240, out: 3}},
		{"messages/max_tokens.json", outcome{id: "msg_fake_000005", model: model, stop: "max_tokens", in: 8, out: 10}},
		{"messages/model_context_window_exceeded.json", outcome{id: "msg_fake_000015", model: model, stop: "model_context_window_exceeded", in: 195000, out: 5000}},
		{"messages/pause_turn.json", outcome{id: "msg_fake_000011", model: model, stop: "pause_turn", in: 500, out: 30}},
		{"messages/refusal.json", outcome{id: "msg_fake_000013", model: model, stop: "refusal", in: 20, out: 3}},
		{"messages/stop_sequence.json", outcome{id: "msg_fake_000007", model: model, stop: "stop_sequence", in: 15, out: 6}},
		{"messages/tool_use.json", outcome{id: "msg_fake_000009", model: model, stop: "tool_use", in: 300, out: 40}},
		{"messages/unknown_future_reason.json", outcome{id: "msg_fake_future", model: model, stop: "some_future_reason", in: 12, out: 9}},
		// 20 uncached + 1000 read from the cache + 300 written to it.
		{"own/cache_tokens.json", outcome{id: "msg_cache_0001", model: model, stop: "end_turn", in: 1320, out: 9, cacheRead: 1000, cacheCreation: 300}},
		// The same, 200 of the 300 written for 1 hour.
		{"own/cache_1h_tokens.json", outcome{id: "msg_cache_0002", model: model, stop: "end_turn", in: 1320, out: 9, cacheRead: 1000, cacheCreation: 300,
			cache1h: new(int64(200))}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body := readFixture(t, tc.file)
			api := newStubAPI(t, reply{status: 200, contentType: "application/json", body: body})
			tp, exp := newRecorder(t)
			ctx := context.Background()

			traced := newClient(api.URL, tp)
			got, err := traced.Messages.New(ctx, testParams())
			if err != nil {
				t.Fatal(err)
			}
			plain := newClient(api.URL, nil)
			base, err := plain.Messages.New(ctx, testParams())
			if err != nil {
				t.Fatal(err)
			}

			// The application gets exactly what it gets without the middleware,
			// and the server exactly the same request.
			if got.RawJSON() != base.RawJSON() {
				t.Errorf("traced response differs:\n%s\nwithout middleware:\n%s", got.RawJSON(), base.RawJSON())
			}
			if got.RawJSON() != string(bytes.TrimSpace(body)) {
				t.Errorf("response is not the fixture:\n%s", got.RawJSON())
			}
			if string(got.StopReason) != tc.want.stop || got.ID != tc.want.id {
				t.Errorf("app got id %q stop %q, want %q %q", got.ID, got.StopReason, tc.want.id, tc.want.stop)
			}
			if bodies := api.requestBodies(); !bytes.Equal(bodies[0], bodies[1]) {
				t.Errorf("request changed by the middleware:\n%s\nwithout:\n%s", bodies[0], bodies[1])
			}

			span := onlySpan(t, exp)
			checkSpanBasics(t, span, codes.Unset)
			host, port := api.hostPort(t)
			checkAttrs(t, span.Attributes, merge(requestAttrs(host, port), tc.want.attrs()))
		})
	}
}

// streamResult is what an application sees of a stream.
type streamResult struct {
	events []string // RawJSON of each event
	msg    anthropic.Message
	err    error
}

func readStream(t *testing.T, client anthropic.Client) streamResult {
	t.Helper()
	var r streamResult
	stream := client.Messages.NewStreaming(context.Background(), testParams())
	for stream.Next() {
		ev := stream.Current()
		r.events = append(r.events, ev.RawJSON())
		if err := r.msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	r.err = stream.Err()
	if err := stream.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	return r
}

func TestStreams(t *testing.T) {
	cases := []struct {
		file    string
		want    outcome
		errType string // the stream ends in event: error
		appIn   int64  // usage.input_tokens as the application accumulates it
		appOut  int64
	}{
		{file: "streams/end_turn.sse", want: outcome{id: "msg_fake_000002", model: model, stop: "end_turn", in: 12, out: 9}, appIn: 12, appOut: 9},
		{file: "streams/empty_end_turn.sse", want: outcome{id: "msg_fake_000004", model: model, stop: "end_turn", in: 240, out: 2}, appIn: 240, appOut: 2},
		{file: "streams/max_tokens.sse", want: outcome{id: "msg_fake_000006", model: model, stop: "max_tokens", in: 8, out: 10}, appIn: 8, appOut: 10},
		{file: "streams/model_context_window_exceeded.sse", want: outcome{id: "msg_fake_000016", model: model, stop: "model_context_window_exceeded", in: 195000, out: 5000}, appIn: 195000, appOut: 5000},
		{file: "streams/pause_turn.sse", want: outcome{id: "msg_fake_000012", model: model, stop: "pause_turn", in: 500, out: 30}, appIn: 500, appOut: 30},
		{file: "streams/refusal.sse", want: outcome{id: "msg_fake_000014", model: model, stop: "refusal", in: 20, out: 3}, appIn: 20, appOut: 3},
		{file: "streams/stop_sequence.sse", want: outcome{id: "msg_fake_000008", model: model, stop: "stop_sequence", in: 15, out: 6}, appIn: 15, appOut: 6},
		{file: "streams/tool_use.sse", want: outcome{id: "msg_fake_000010", model: model, stop: "tool_use", in: 300, out: 40}, appIn: 300, appOut: 40},
		// No message_delta: no finish reason, no final output count, no error.
		{file: "streams/cut_before_message_delta.sse", want: outcome{id: "msg_fake_000002", model: model, in: 12, noOut: true}, appIn: 12, appOut: 1},
		{file: "streams/error_mid_stream.sse", want: outcome{id: "msg_fake_000006", model: model, in: 8, noOut: true}, errType: "overloaded_error", appIn: 8, appOut: 1},
		{file: "own/cache_tokens.sse", want: outcome{id: "msg_cache_0002", model: model, stop: "end_turn", in: 1320, out: 9, cacheRead: 1000, cacheCreation: 300}, appIn: 20, appOut: 9},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body := readFixture(t, tc.file)
			// Odd-sized flushed pieces so that SSE lines straddle reads.
			api := newStubAPI(t, reply{status: 200, contentType: "text/event-stream", body: body, chunk: 37})
			tp, exp := newRecorder(t)

			got := readStream(t, newClient(api.URL, tp))
			base := readStream(t, newClient(api.URL, nil))

			if !slices.Equal(got.events, base.events) {
				t.Errorf("traced events differ:\n%q\nwithout middleware:\n%q", got.events, base.events)
			}
			if got.msg.RawJSON() != base.msg.RawJSON() {
				t.Errorf("accumulated message differs:\n%s\nwithout middleware:\n%s", got.msg.RawJSON(), base.msg.RawJSON())
			}
			if (got.err == nil) != (base.err == nil) || (got.err != nil && got.err.Error() != base.err.Error()) {
				t.Errorf("stream error %v, without middleware %v", got.err, base.err)
			}
			if got.msg.ID != tc.want.id || string(got.msg.StopReason) != tc.want.stop ||
				got.msg.Usage.InputTokens != tc.appIn || got.msg.Usage.OutputTokens != tc.appOut {
				t.Errorf("app accumulated id %q stop %q in %d out %d, want %q %q %d %d", got.msg.ID, got.msg.StopReason,
					got.msg.Usage.InputTokens, got.msg.Usage.OutputTokens, tc.want.id, tc.want.stop, tc.appIn, tc.appOut)
			}
			if bodies := api.requestBodies(); !bytes.Equal(bodies[0], bodies[1]) {
				t.Errorf("request changed by the middleware:\n%s\nwithout:\n%s", bodies[0], bodies[1])
			}

			span := onlySpan(t, exp)
			host, port := api.hostPort(t)
			want := merge(requestAttrs(host, port), tc.want.attrs())
			want["gen_ai.request.stream"] = true
			status := codes.Unset
			if tc.errType != "" {
				status = codes.Error
				want["error.type"] = tc.errType
				var apiErr *anthropic.Error
				if !errors.As(got.err, &apiErr) || string(apiErr.Type()) != tc.errType {
					t.Errorf("app error = %v, want the API's %s", got.err, tc.errType)
				}
				checkException(t, span, tc.errType, "overloaded_error: Overloaded")
			} else if got.err != nil {
				t.Errorf("app error = %v", got.err)
			}
			checkSpanBasics(t, span, status)
			checkAttrs(t, span.Attributes, want)
		})
	}
}

func checkException(t *testing.T, span tracetest.SpanStub, typ, msg string) {
	t.Helper()
	for _, ev := range span.Events {
		if ev.Name != "exception" {
			continue
		}
		gotType, _ := attrValue(ev.Attributes, "exception.type")
		gotMsg, _ := attrValue(ev.Attributes, "exception.message")
		if gotType.AsString() != typ || gotMsg.AsString() != msg {
			t.Errorf("exception event %q %q, want %q %q", gotType.AsString(), gotMsg.AsString(), typ, msg)
		}
		return
	}
	t.Errorf("no exception event; events: %v", span.Events)
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		contentType string
		body        []byte
		stream      bool
		errType     string
		message     string
	}{
		{"429", 429, "application/json", readFixture(t, "errors/429.json"), false, "rate_limit_error", "429 rate_limit_error: Number of request tokens has exceeded your per-minute rate limit"},
		{"500", 500, "application/json", readFixture(t, "errors/500.json"), false, "api_error", "500 api_error: Internal server error"},
		{"529", 529, "application/json", readFixture(t, "errors/529.json"), false, "overloaded_error", "529 overloaded_error: Overloaded"},
		{"529 streaming", 529, "application/json", readFixture(t, "errors/529.json"), true, "overloaded_error", "529 overloaded_error: Overloaded"},
		// No error envelope: the status code is the type.
		{"503 without a body we know", 503, "text/plain", []byte("upstream connect error"), false, "503", "503 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newStubAPI(t, reply{status: tc.status, contentType: tc.contentType, body: tc.body})
			tp, exp := newRecorder(t)
			call := func(c anthropic.Client) error {
				if tc.stream {
					return readStream(t, c).err
				}
				_, err := c.Messages.New(context.Background(), testParams())
				return err
			}
			gotErr := call(newClient(api.URL, tp))
			baseErr := call(newClient(api.URL, nil))

			var apiErr, baseAPIErr *anthropic.Error
			if !errors.As(gotErr, &apiErr) || !errors.As(baseErr, &baseAPIErr) {
				t.Fatalf("errors %v / %v, want API errors", gotErr, baseErr)
			}
			if gotErr.Error() != baseErr.Error() || apiErr.StatusCode != tc.status || apiErr.RawJSON() != baseAPIErr.RawJSON() {
				t.Errorf("app error %q (%d), without middleware %q", gotErr, apiErr.StatusCode, baseErr)
			}

			span := onlySpan(t, exp)
			checkSpanBasics(t, span, codes.Error)
			host, port := api.hostPort(t)
			want := merge(requestAttrs(host, port), map[string]any{
				"http.response.status_code": int64(tc.status),
				"error.type":                tc.errType,
			})
			if tc.stream {
				want["gen_ai.request.stream"] = true
			}
			checkAttrs(t, span.Attributes, want)
			checkException(t, span, tc.errType, tc.message)
		})
	}
}

// A retried call is one span per attempt, and the failed attempt has its
// error type even though the SDK discards that response unread.
func TestRetryIsOneSpanPerAttempt(t *testing.T) {
	api := newStubAPI(t,
		reply{status: 529, contentType: "application/json", body: readFixture(t, "errors/529.json"),
			header: http.Header{"Retry-After-Ms": {"1"}}},
		reply{status: 200, contentType: "application/json", body: readFixture(t, "messages/end_turn.json")},
	)
	tp, exp := newRecorder(t)
	client := anthropic.NewClient(option.WithBaseURL(api.URL), option.WithAPIKey("test"), option.WithMaxRetries(1),
		option.WithMiddleware(Middleware(WithTracerProvider(tp))))
	msg, err := client.Messages.New(context.Background(), testParams())
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "end_turn" {
		t.Errorf("stop reason %q", msg.StopReason)
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	cases := []struct {
		status  codes.Code
		errType string
		stop    []string
	}{
		{codes.Error, "overloaded_error", nil},
		{codes.Unset, "", []string{"end_turn"}},
	}
	for i, tc := range cases {
		s := spans[i]
		errType, _ := attrValue(s.Attributes, "error.type")
		reasons, _ := attrValue(s.Attributes, "gen_ai.response.finish_reasons")
		if s.Status.Code != tc.status || errType.AsString() != tc.errType || !slices.Equal(reasons.AsStringSlice(), tc.stop) {
			t.Errorf("attempt %d: status %v error.type %q finish %v, want %v %q %v", i, s.Status.Code, errType.AsString(), reasons.AsStringSlice(), tc.status, tc.errType, tc.stop)
		}
	}
}

func TestOtherEndpointsAreNotTraced(t *testing.T) {
	api := newStubAPI(t, reply{status: 200, contentType: "application/json", body: []byte(`{"input_tokens": 12}`)})
	tp, exp := newRecorder(t)
	client := newClient(api.URL, tp)
	count, err := client.Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model:    model,
		Messages: testParams().Messages,
	})
	if err != nil {
		t.Fatal(err)
	}
	if count.InputTokens != 12 {
		t.Errorf("input tokens %d", count.InputTokens)
	}
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("count_tokens made spans %v", spanNames(spans))
	}
	if api.paths[0] != "/v1/messages/count_tokens" {
		t.Errorf("path %q", api.paths[0])
	}
}

// The span ends when the application closes a stream it stopped reading,
// without an error, and with what had arrived.
func TestStreamClosedEarly(t *testing.T) {
	body := readFixture(t, "streams/end_turn.sse")
	firstEvent := bytes.Index(body, []byte("\n\n")) + 2
	pause := make(chan struct{})
	defer close(pause)
	api := newStubAPI(t, reply{status: 200, contentType: "text/event-stream", body: body, pauseAt: firstEvent, pause: pause})
	tp, exp := newRecorder(t)

	client := newClient(api.URL, tp)
	stream := client.Messages.NewStreaming(context.Background(), testParams())
	if !stream.Next() || stream.Current().Type != "message_start" {
		t.Fatalf("first event: %v", stream.Err())
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("span ended before the stream: %d", n)
	}
	stream.Close()

	span := onlySpan(t, exp)
	checkSpanBasics(t, span, codes.Unset)
	host, port := api.hostPort(t)
	want := merge(requestAttrs(host, port), outcome{id: "msg_fake_000002", model: model, in: 12, noOut: true}.attrs())
	want["gen_ai.request.stream"] = true
	checkAttrs(t, span.Attributes, want)
}

// A connection that drops mid-stream fails the span.
func TestStreamConnectionDrops(t *testing.T) {
	body := readFixture(t, "streams/end_turn.sse")
	api := newStubAPI(t, reply{status: 200, contentType: "text/event-stream", body: body, cutAt: len(body) / 2})
	tp, exp := newRecorder(t)

	got := readStream(t, newClient(api.URL, tp))
	if got.err == nil {
		t.Error("app saw no error")
	}
	span := onlySpan(t, exp)
	checkSpanBasics(t, span, codes.Error)
	errType, _ := attrValue(span.Attributes, "error.type")
	if errType.AsString() != errorTypeConnection {
		t.Errorf("error.type = %q, want %q", errType.AsString(), errorTypeConnection)
	}
	if _, ok := attrValue(span.Attributes, "gen_ai.response.finish_reasons"); ok {
		t.Error("finish reasons on a cut stream")
	}
}

// CRLF line ends and one-byte pieces: the parser sees lines split anywhere.
func TestStreamLineEndsAndSplits(t *testing.T) {
	body := bytes.ReplaceAll(readFixture(t, "streams/tool_use.sse"), []byte("\n"), []byte("\r\n"))
	api := newStubAPI(t, reply{status: 200, contentType: "text/event-stream", body: body, chunk: 1})
	tp, exp := newRecorder(t)

	got := readStream(t, newClient(api.URL, tp, WithContent(true)))
	if got.err != nil || got.msg.StopReason != "tool_use" {
		t.Fatalf("app: %v %q", got.err, got.msg.StopReason)
	}
	span := onlySpan(t, exp)
	reasons, _ := attrValue(span.Attributes, "gen_ai.response.finish_reasons")
	out, _ := attrValue(span.Attributes, "gen_ai.usage.output_tokens")
	if !reflect.DeepEqual(reasons.AsStringSlice(), []string{"tool_use"}) || out.AsInt64() != 40 {
		t.Errorf("finish %v output %d", reasons.AsStringSlice(), out.AsInt64())
	}
	output, _ := attrValue(span.Attributes, "gen_ai.output.messages")
	want := `[{"role":"assistant","parts":[{"type":"text","content":"Let me check."},{"type":"tool_call","id":"toolu_01A","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_use"}]`
	if !sameJSON(t, output.AsString(), want) {
		t.Errorf("output messages %s, want %s", output.AsString(), want)
	}
}
