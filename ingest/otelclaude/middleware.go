package otelclaude

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/option"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope name of the spans that [Middleware] records.
const ScopeName = "github.com/stopscope/stopscope/ingest/otelclaude"

// Attribute keys. They are spelled out here rather than imported from a
// semconv package because the GenAI conventions are still in development and
// left go.opentelemetry.io/otel/semconv after v1.41.0.
const (
	keyOperationName      = attribute.Key("gen_ai.operation.name")
	keyProviderName       = attribute.Key("gen_ai.provider.name")
	keyRequestModel       = attribute.Key("gen_ai.request.model")
	keyRequestMaxTokens   = attribute.Key("gen_ai.request.max_tokens")
	keyRequestStopSeqs    = attribute.Key("gen_ai.request.stop_sequences")
	keyRequestTemperature = attribute.Key("gen_ai.request.temperature")
	keyRequestTopP        = attribute.Key("gen_ai.request.top_p")
	keyRequestTopK        = attribute.Key("gen_ai.request.top_k")
	keyRequestStream      = attribute.Key("gen_ai.request.stream")
	keyResponseID         = attribute.Key("gen_ai.response.id")
	keyResponseModel      = attribute.Key("gen_ai.response.model")
	keyFinishReasons      = attribute.Key("gen_ai.response.finish_reasons")
	keyUsageInput         = attribute.Key("gen_ai.usage.input_tokens")
	keyUsageOutput        = attribute.Key("gen_ai.usage.output_tokens")
	keyUsageCacheRead     = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	keyUsageCacheCreation = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	// The part of the cache writes made with the 1-hour lifetime, as the
	// Claude SDKs name it.
	keyUsageCacheCreation1h = attribute.Key("anthropic.usage.cache_creation.ephemeral_1h_input_tokens")
	keyInputMessages        = attribute.Key("gen_ai.input.messages")
	keyOutputMessages       = attribute.Key("gen_ai.output.messages")
	keySystemInstructions   = attribute.Key("gen_ai.system_instructions")
	keyStopReason           = attribute.Key("anthropic.message.stop_reason")
	keyRequestID            = attribute.Key("anthropic.request.id")
	keyErrorType            = attribute.Key("error.type")
	keyHTTPStatusCode       = attribute.Key("http.response.status_code")
	keyServerAddress        = attribute.Key("server.address")
	keyServerPort           = attribute.Key("server.port")
	keyExceptionType        = attribute.Key("exception.type")
	keyExceptionMessage     = attribute.Key("exception.message")
	providerAnthropic       = "anthropic"
	operationChat           = "chat"
	maxErrorBodyBytes       = 1 << 20
	maxJSONBodyBytes        = 64 << 20
	errorTypeOther          = "_OTHER"
	errorTypeTimeout        = "timeout"
	errorTypeConnection     = "connection_error"
)

// Option configures [Middleware].
type Option func(*config)

type config struct {
	provider trace.TracerProvider
	content  bool
}

// WithTracerProvider makes the middleware record its spans with provider
// instead of the global tracer provider (the one that [Setup] registers).
func WithTracerProvider(provider trace.TracerProvider) Option {
	return func(c *config) { c.provider = provider }
}

// WithContent turns the recording of prompts and answers on or off. It is off
// by default; when on, spans carry gen_ai.input.messages,
// gen_ai.system_instructions and gen_ai.output.messages.
func WithContent(on bool) Option {
	return func(c *config) { c.content = on }
}

// Middleware returns an anthropic-sdk-go middleware that records each Messages
// API call (POST /v1/messages) as a GenAI span; see the package documentation
// for the attributes. Pass it to the client with option.WithMiddleware:
//
//	client := anthropic.NewClient(option.WithMiddleware(otelclaude.Middleware()))
//
// Requests to other endpoints pass through untouched.
func Middleware(opts ...Option) option.Middleware {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	provider := cfg.provider
	if provider == nil {
		// The global provider delegates to whatever Setup registers later, so
		// a middleware built before Setup still exports.
		provider = otel.GetTracerProvider()
	}
	tracer := provider.Tracer(ScopeName)
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/v1/messages") {
			return next(req)
		}
		return traceCall(tracer, cfg.content, req, next)
	}
}

// requestMeta is what every span records of a Messages request body.
type requestMeta struct {
	Model         string   `json:"model"`
	MaxTokens     *int64   `json:"max_tokens"`
	Temperature   *float64 `json:"temperature"`
	TopP          *float64 `json:"top_p"`
	TopK          *int64   `json:"top_k"`
	StopSequences []string `json:"stop_sequences"`
	Stream        bool     `json:"stream"`
}

// requestContent is the part of a request body recorded only with WithContent(true).
type requestContent struct {
	System   json.RawMessage   `json:"system"`
	Messages []apiMessageParam `json:"messages"`
}

func traceCall(tracer trace.Tracer, content bool, req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	body, err := takeRequestBody(req)
	if err != nil {
		// The request cannot be sent whole; let the transport report it as it would.
		return next(req)
	}
	var meta requestMeta
	_ = json.Unmarshal(body, &meta) // a body we cannot read still gets a span

	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs,
		keyOperationName.String(operationChat),
		keyProviderName.String(providerAnthropic),
	)
	name := operationChat // "chat {model}"
	if meta.Model != "" {
		name += " " + meta.Model
		attrs = append(attrs, keyRequestModel.String(meta.Model))
	}
	if meta.MaxTokens != nil {
		attrs = append(attrs, keyRequestMaxTokens.Int64(*meta.MaxTokens))
	}
	if len(meta.StopSequences) > 0 {
		attrs = append(attrs, keyRequestStopSeqs.StringSlice(meta.StopSequences))
	}
	if meta.Temperature != nil {
		attrs = append(attrs, keyRequestTemperature.Float64(*meta.Temperature))
	}
	if meta.TopP != nil {
		attrs = append(attrs, keyRequestTopP.Float64(*meta.TopP))
	}
	if meta.TopK != nil {
		attrs = append(attrs, keyRequestTopK.Int64(*meta.TopK))
	}
	if meta.Stream {
		attrs = append(attrs, keyRequestStream.Bool(true))
	}
	attrs = append(attrs, serverAttributes(req)...)

	// The attributes go in at the start so that samplers see them.
	ctx, span := tracer.Start(req.Context(), name,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	recording := span.IsRecording()
	if recording && content {
		setInputContent(span, body)
	}
	// Attempts run in the span's context so HTTP instrumentation nests under it.
	resp, err := next(req.WithContext(ctx))
	if err != nil {
		failTransport(span, err)
		span.End()
		return resp, err
	}
	if resp == nil {
		span.End()
		return resp, err
	}
	if !recording {
		span.End()
		return resp, nil
	}
	span.SetAttributes(keyHTTPStatusCode.Int(resp.StatusCode))
	if id := resp.Header.Get("request-id"); id != "" {
		span.SetAttributes(keyRequestID.String(id))
	}
	if resp.StatusCode >= http.StatusBadRequest {
		recordAPIError(span, resp)
		span.End()
		return resp, nil
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		span.End()
		return resp, nil
	}
	rec := &recorder{span: span, content: content}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType == "text/event-stream" {
		resp.Body = &tracedBody{rc: resp.Body, rec: rec, sse: newSSEParser(rec)}
	} else {
		resp.Body = &tracedBody{rc: resp.Body, rec: rec}
	}
	return resp, nil
}

// takeRequestBody reads the request body and puts an identical one back, so
// the transport still sends every byte. The SDK has the body in memory
// already, so the copy is cheap next to the round trip.
func takeRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	closeErr := req.Body.Close()
	if err == nil {
		err = closeErr
	}
	if err != nil {
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// serverAttributes returns server.address and server.port of the URL the
// request goes to.
func serverAttributes(req *http.Request) []attribute.KeyValue {
	host := req.URL.Hostname()
	if host == "" {
		return nil
	}
	port, err := strconv.Atoi(req.URL.Port())
	if err != nil {
		port = 443
		if req.URL.Scheme == "http" {
			port = 80
		}
	}
	return []attribute.KeyValue{keyServerAddress.String(host), keyServerPort.Int(port)}
}

// apiErrorEnvelope is the body of a failed call and the data of a stream's error event.
type apiErrorEnvelope struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// recordAPIError reads the body of an error response (up to 1 MiB), fails
// span with the API's error type, and puts the body back for the SDK. Error
// bodies are read at once rather than at EOF because the SDK closes a retried
// response without reading it.
func recordAPIError(span trace.Span, resp *http.Response) {
	var buf []byte
	if resp.Body != nil && resp.Body != http.NoBody {
		var readErr error
		buf, readErr = io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		rest := io.Reader(resp.Body)
		if readErr != nil {
			rest = errReader{readErr}
		}
		resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(buf), rest), Closer: resp.Body}
	}
	var env apiErrorEnvelope
	_ = json.Unmarshal(buf, &env)
	typ := env.Error.Type
	if typ == "" {
		typ = strconv.Itoa(resp.StatusCode)
	}
	msg := fmt.Sprintf("%d %s", resp.StatusCode, typ)
	if env.Error.Message != "" {
		msg += ": " + env.Error.Message
	}
	fail(span, typ, msg)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// fail gives span status Error, error.type typ, and an exception event with msg.
func fail(span trace.Span, typ, msg string) {
	span.SetStatus(codes.Error, msg)
	span.SetAttributes(keyErrorType.String(typ))
	span.AddEvent("exception", trace.WithAttributes(
		keyExceptionType.String(typ),
		keyExceptionMessage.String(msg),
	))
}

// failTransport records an error that left the call without a (whole)
// response. A canceled context is the application's choice, not a failure.
func failTransport(span trace.Span, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	fail(span, transportErrorType(err), err.Error())
}

func transportErrorType(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return errorTypeTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		if netErr.Timeout() {
			return errorTypeTimeout
		}
		return errorTypeConnection
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errorTypeConnection
	}
	return errorTypeOther
}
