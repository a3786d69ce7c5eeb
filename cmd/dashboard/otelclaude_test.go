package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/stopscope/stopscope/ingest/otelclaude"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// messagesStandIn serves POST /v1/messages by replaying the fixture named
// in the request's first user message: a JSON body, an SSE stream, or an
// error status with its body. Message ids are made unique per call, since
// some stream fixtures share one and stopscope stores an id once per app.
func messagesStandIn(t *testing.T) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	ids := regexp.MustCompile(`"id":\s*"msg_`)
	nameRe := regexp.MustCompile(`fixture:([a-z_]+/[a-z0-9_]+\.[a-z]+)`)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		if _, err := fmt.Fprint(&body, readAll(r)); err != nil {
			t.Error(err)
		}
		m := nameRe.FindStringSubmatch(body.String())
		if m == nil {
			http.Error(w, "no fixture named", 400)
			return
		}
		raw, err := testfixtures.FS.ReadFile(m[1])
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		out := ids.ReplaceAllString(string(raw), fmt.Sprintf(`"id":"msg_%d_`, n.Add(1)))
		switch {
		case strings.HasSuffix(m[1], ".sse"):
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
		case strings.HasPrefix(m[1], "errors/"):
			w.Header().Set("Content-Type", "application/json")
			status := 500
			fmt.Sscanf(filepath.Base(m[1]), "%d", &status)
			w.WriteHeader(status)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
		}
		fmt.Fprint(w, out)
	}))
}

func readAll(r *http.Request) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// TestGoInstrumentationEndToEnd: the real anthropic-sdk-go client with the
// otelclaude middleware calls a stand-in Messages API that replays every
// message, stream and error fixture; its spans go over real OTLP/HTTP to
// the real receiver; the summary must count every call as expected.json
// says.
func TestGoInstrumentationEndToEnd(t *testing.T) {
	m := startMain(t)
	api := messagesStandIn(t)
	defer api.Close()

	ctx := context.Background()
	tp, err := otelclaude.NewTracerProvider(ctx, otelclaude.WithEndpoint(m.URL()), otelclaude.WithServiceName("go-instrumented"))
	if err != nil {
		t.Fatal(err)
	}
	client := anthropic.NewClient(
		option.WithBaseURL(api.URL),
		option.WithAPIKey("test"),
		option.WithMaxRetries(0),
		option.WithoutOpenTelemetry(),
		option.WithMiddleware(otelclaude.Middleware(otelclaude.WithTracerProvider(tp))),
	)

	exp := loadExpected(t)
	var names []string
	for name := range exp {
		if strings.HasPrefix(name, "agent_sdk/") {
			continue // Agent SDK results are not Messages API calls
		}
		names = append(names, name)
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
		// Errors are expected for the error fixtures; the span records them.
		_, _ = client.Messages.New(ctx, params)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export spans: %v", err)
	}

	var got summary
	getJSON(t, m.URL()+"/api/v1/summary?app=go-instrumented", &got)
	compareSummary(t, got, wantSummary(exp, names))
}
