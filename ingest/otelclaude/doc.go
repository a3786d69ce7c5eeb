// Package otelclaude traces the Claude calls that a Go application makes with
// the official SDK, github.com/anthropics/anthropic-sdk-go, as OpenTelemetry
// GenAI spans, and sends them to a stopscope server, which sorts them by why
// they stopped.
//
// It is a client library, linked into users' applications, not a part of
// the server: of stopscope it imports only the standalone SSE reader,
// github.com/stopscope/stopscope/ingest/sse (standard library only), and
// nothing of the service (ingest, store, web) comes with it.
//
// Since v1.81 the SDK traces itself (see "The SDK's own spans" below), so
// one line sets it up:
//
//	shutdown, err := otelclaude.Setup(ctx) // OTLP/HTTP to stopscope, global tracer provider
//	defer shutdown(context.Background())
//
//	client := anthropic.NewClient() // its anthropic.messages.create spans go to stopscope
//
// [Middleware] is for SDK versions before v1.81, and for one span per HTTP
// attempt:
//
//	client := anthropic.NewClient(option.WithMiddleware(otelclaude.Middleware()))
//
// # Setup
//
// [Setup] builds an OTLP/HTTP exporter, a batch span processor and a tracer
// provider, and registers the provider globally with otel.SetTracerProvider.
// It honours the standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*, OTEL_TRACES_SAMPLER
// and so on). When neither endpoint variable is set, spans go to
// http://127.0.0.1:8080/v1/traces, stopscope's default address. [WithEndpoint]
// and [WithServiceName] override the environment. [NewTracerProvider] builds
// the same provider without registering it, for tests and programs that pass
// it to [Middleware] with [WithTracerProvider].
//
// # Spans
//
// [Middleware] records every call to POST /v1/messages, plain or streamed, as
// one CLIENT span named "chat {model}" per HTTP attempt (a retry by the SDK is
// a second span). Other endpoints pass through untraced. The span follows the
// current OpenTelemetry GenAI semantic conventions:
//
//   - gen_ai.operation.name = "chat", gen_ai.provider.name = "anthropic"
//   - gen_ai.request.model, gen_ai.request.max_tokens,
//     gen_ai.request.stop_sequences, gen_ai.request.temperature,
//     gen_ai.request.top_p, gen_ai.request.top_k when the request has them,
//     and gen_ai.request.stream = true for a streamed call
//   - gen_ai.response.id, gen_ai.response.model
//   - gen_ai.response.finish_reasons: the stop_reason exactly as Anthropic sent
//     it (["end_turn"], ["tool_use"], ["some_future_reason"]), never mapped to
//     another vocabulary; the same value is also in anthropic.message.stop_reason.
//     A response without a stop reason (a stream cut before message_delta) has
//     neither attribute.
//   - gen_ai.usage.input_tokens, gen_ai.usage.output_tokens,
//     gen_ai.usage.cache_read.input_tokens,
//     gen_ai.usage.cache_creation.input_tokens, and
//     anthropic.usage.cache_creation.ephemeral_1h_input_tokens (the part of
//     the cache writes made with the 1-hour lifetime) when the response
//     splits them
//   - server.address, server.port, http.response.status_code, and
//     anthropic.request.id from the request-id response header
//
// Token usage: the conventions define gen_ai.usage.input_tokens as ALL input
// tokens, cached ones included, while Anthropic's usage.input_tokens counts
// only the uncached ones. So for Anthropic
//
//	gen_ai.usage.input_tokens = usage.input_tokens
//	                          + usage.cache_read_input_tokens
//	                          + usage.cache_creation_input_tokens
//
// and the two cache attributes carry the cache reads and writes on their own.
// A reader that wants Anthropic's own input_tokens subtracts them.
//
// A failed call (HTTP status 400 or more) gets span status Error,
// http.response.status_code, error.type set to the API error type from the
// body (rate_limit_error, overloaded_error, ...) or to the status code as a
// string when the body has none, and an "exception" event with the API's
// message. A stream that ends in "event: error" is failed the same way, with
// the type from the event. A stream that the server ends before message_delta
// is not failed: it simply has no finish reason.
//
// Streams are observed as they pass to the application: the response body is
// wrapped in a reader that hands each SSE line to an incremental parser
// (package ingest/sse, fed piece by piece) and ends the span when the body
// reaches EOF or is closed. The bytes the
// application reads are the server's bytes, unchanged and undelayed; nothing
// is held but the current line and the data of the current event when it
// matters (message_start, message_delta, error; with content recording on,
// also the blocks of the answer). A plain JSON response is copied as the SDK reads it and
// parsed at its end.
//
// # Content
//
// Prompts and answers are not recorded unless the application opts in with
// [WithContent](true). Then the span also has gen_ai.input.messages,
// gen_ai.system_instructions and gen_ai.output.messages as JSON in the
// conventions' shape, for example
//
//	[{"role":"assistant","parts":[{"type":"text","content":"Let me check."},
//	  {"type":"tool_call","id":"toolu_01A","name":"get_weather","arguments":{"city":"Paris"}}],
//	  "finish_reason":"tool_use"}]
//
// # The SDK's own spans
//
// anthropic-sdk-go (since v1.81; v1.84.0 in stopscope's go.mod) emits a
// CLIENT span named "anthropic.messages.create" per call, plain or
// streamed, through the global tracer provider once one is registered:
// anthropic.message.stop_reason, gen_ai.usage.* (input cache-inclusive),
// anthropic.usage.compaction.*, anthropic.request.id, the service tier,
// error.type on failure, and the content only with
// option.WithOpenTelemetryTracesContentMode(option.OpenTelemetryContentModeContent).
// stopscope counts those spans exactly, so with [Setup] registered nothing
// else is needed; Setup's propagator also lets the SDK send each call's
// traceparent, which puts the Claude API's own spans (a telemetry
// destination) in the app's trace.
//
// With the SDK's spans and [Middleware] both on, each call has the SDK's
// span with this package's "chat {model}" span as its child, and stopscope
// still makes one record of the two (one trace; or, in separate exports,
// one message id). option.WithoutOpenTelemetry() turns the SDK's spans off
// for an application that wants the middleware's alone.
package otelclaude
