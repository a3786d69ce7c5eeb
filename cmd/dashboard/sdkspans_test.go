package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/stopscope/stopscope/ingest/otelclaude"
)

// withRequestIDs wraps the stand-in Messages API so that every answer has a
// request-id header, as the real API's do (the SDK records it as
// anthropic.request.id; failed calls have no other identity).
func withRequestIDs(t *testing.T, prefix string) *httptest.Server {
	t.Helper()
	inner := messagesStandIn(t)
	t.Cleanup(inner.Close)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", fmt.Sprintf("req_%s_%d", prefix, n.Add(1)))
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// callEveryFixture makes one call per message, stream and error fixture
// with client, streams with NewStreaming, and returns the fixtures' names.
func callEveryFixture(t *testing.T, client anthropic.Client, exp map[string]expectation) []string {
	t.Helper()
	ctx := context.Background()
	var names []string
	for name := range exp {
		if !strings.HasPrefix(name, "agent_sdk/") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		params := anthropic.MessageNewParams{
			Model:     "claude-sonnet-4-6",
			MaxTokens: 1024,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fixture:" + name))},
		}
		if strings.HasPrefix(name, "streams/") {
			stream := client.Messages.NewStreaming(ctx, params)
			for stream.Next() {
			}
			stream.Close()
			continue
		}
		_, _ = client.Messages.New(ctx, params) // the error fixtures fail, as they should
	}
	return names
}

// TestGoSDKOwnSpansEndToEnd: the real anthropic-sdk-go client, with no
// middleware, traces itself (anthropic.messages.create CLIENT spans, on by
// default once it has a tracer provider); its spans go over real OTLP/HTTP
// protobuf to the real receiver, and every call is counted as expected.json
// says. A streamed request refused with 429 before its stream began is one
// more failed request, not an incomplete stream.
func TestGoSDKOwnSpansEndToEnd(t *testing.T) {
	m := startMain(t)
	api := withRequestIDs(t, "sdk")
	ctx := context.Background()
	tp, err := otelclaude.NewTracerProvider(ctx, otelclaude.WithEndpoint(m.URL()), otelclaude.WithServiceName("go-sdk-spans"))
	if err != nil {
		t.Fatal(err)
	}
	var _ *sdktrace.TracerProvider = tp // the SDK's own tracer provider type, nothing of stopscope's in the spans
	client := anthropic.NewClient(
		option.WithBaseURL(api.URL),
		option.WithAPIKey("test"),
		option.WithMaxRetries(0),
		option.WithTracerProvider(tp),
	)
	exp := loadExpected(t)
	names := callEveryFixture(t, client, exp)

	// A streamed request the API refuses with 429 before any event.
	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model: "claude-sonnet-4-6", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("fixture:errors/429.json"))},
	})
	for stream.Next() {
	}
	if stream.Err() == nil {
		t.Error("streamed 429: no error")
	}
	stream.Close()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export spans: %v", err)
	}

	want := wantSummary(exp, names)
	want.Total++
	want.Kinds["error"]++
	want.Errors.Total++
	want.Errors.ByType["rate_limit_error"]++
	want.Errors.ByStatus["429"]++
	var got summary
	getJSON(t, m.URL()+"/api/v1/summary?app=go-sdk-spans", &got)
	compareSummary(t, got, want)
}

// TestGoSDKSpansWithMiddleware: with both the SDK's own spans and
// otelclaude's middleware on, each call is still one record.
func TestGoSDKSpansWithMiddleware(t *testing.T) {
	m := startMain(t)
	api := withRequestIDs(t, "both")
	ctx := context.Background()
	tp, err := otelclaude.NewTracerProvider(ctx, otelclaude.WithEndpoint(m.URL()), otelclaude.WithServiceName("go-both"))
	if err != nil {
		t.Fatal(err)
	}
	client := anthropic.NewClient(
		option.WithBaseURL(api.URL),
		option.WithAPIKey("test"),
		option.WithMaxRetries(0),
		option.WithTracerProvider(tp),
		option.WithMiddleware(otelclaude.Middleware(otelclaude.WithTracerProvider(tp))),
	)
	exp := loadExpected(t)
	names := callEveryFixture(t, client, exp)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export spans: %v", err)
	}
	var got summary
	getJSON(t, m.URL()+"/api/v1/summary?app=go-both", &got)
	compareSummary(t, got, wantSummary(exp, names))
}
