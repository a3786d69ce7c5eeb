package otelclaude

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

const testRequestID = "req_test_0001"

// readFixture returns a fixture: under own/, one of this package's own
// (testdata/own); otherwise a shared one.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	if !strings.HasPrefix(name, "own/") {
		return testfixtures.Read(t, name)
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reply is what the stand-in Messages API answers.
type reply struct {
	status      int
	contentType string
	body        []byte
	chunk       int // write the body in pieces of this size, flushing each (0: at once)
	header      http.Header
	// cutAt > 0 announces the whole body but sends only its first cutAt
	// bytes, then drops the connection.
	cutAt int
	// pauseAt > 0 sends the first pauseAt bytes, then waits for pause to
	// close before sending the rest.
	pauseAt int
	pause   chan struct{}
}

// stubAPI is an httptest stand-in of the Messages API. It replays one reply
// per request (the last one repeats) and keeps the request bodies it got.
type stubAPI struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	paths   []string
	bodies  [][]byte
}

func newStubAPI(t testing.TB, replies ...reply) *stubAPI {
	t.Helper()
	s := &stubAPI{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *stubAPI) serve(w http.ResponseWriter, r *http.Request) {
	reqBody, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.paths)
	s.paths = append(s.paths, r.URL.Path)
	s.bodies = append(s.bodies, reqBody)
	rep := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()

	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", rep.contentType)
	w.Header().Set("request-id", testRequestID)
	body := rep.body
	if rep.cutAt > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		body = body[:rep.cutAt]
	}
	w.WriteHeader(rep.status)
	flusher, _ := w.(http.Flusher)
	if rep.pauseAt > 0 {
		w.Write(body[:rep.pauseAt])
		flusher.Flush()
		select {
		case <-rep.pause:
		case <-r.Context().Done():
			return
		}
		body = body[rep.pauseAt:]
	}
	if rep.chunk <= 0 {
		w.Write(body)
		return
	}
	for len(body) > 0 {
		n := min(rep.chunk, len(body))
		w.Write(body[:n])
		flusher.Flush()
		body = body[n:]
	}
}

func (s *stubAPI) requestBodies() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

func (s *stubAPI) hostPort(t testing.TB) (string, int64) {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), int64(port)
}

// newRecorder returns a tracer provider that keeps finished spans in memory.
func newRecorder(t testing.TB) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// newClient returns a real SDK client for the stub. With tp nil it has no
// middleware: the baseline that the traced client must match.
func newClient(base string, tp *sdktrace.TracerProvider, opts ...Option) anthropic.Client {
	clientOpts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithAPIKey("test"),
		option.WithMaxRetries(0),
	}
	if tp != nil {
		opts = append([]Option{WithTracerProvider(tp)}, opts...)
		clientOpts = append(clientOpts, option.WithMiddleware(Middleware(opts...)))
	}
	return anthropic.NewClient(clientOpts...)
}

// testParams is the request every test sends: it has every request
// attribute the middleware records.
func testParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:         "claude-sonnet-4-6",
		MaxTokens:     1024,
		StopSequences: []string{"END", "STOP"},
		Temperature:   anthropic.Float(0.5),
		TopP:          anthropic.Float(0.9),
		TopK:          anthropic.Int(40),
		System:        []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("What is the capital of France?")),
		},
	}
}

// requestAttrs are the attributes every span of testParams starts with.
func requestAttrs(host string, port int64) map[string]any {
	return map[string]any{
		"gen_ai.operation.name":         "chat",
		"gen_ai.provider.name":          "anthropic",
		"gen_ai.request.model":          "claude-sonnet-4-6",
		"gen_ai.request.max_tokens":     int64(1024),
		"gen_ai.request.stop_sequences": []string{"END", "STOP"},
		"gen_ai.request.temperature":    0.5,
		"gen_ai.request.top_p":          0.9,
		"gen_ai.request.top_k":          int64(40),
		"server.address":                host,
		"server.port":                   port,
		"http.response.status_code":     int64(200),
		"anthropic.request.id":          testRequestID,
	}
}

// merge returns a copy of base with extra added; a nil value in extra deletes the key.
func merge(base, extra map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// checkAttrs compares a span's attributes with want, exactly: a missing, an
// extra or a different attribute fails.
func checkAttrs(t *testing.T, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	seen := map[string]bool{}
	for _, kv := range got {
		k := string(kv.Key)
		seen[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("unexpected attribute %s = %s", k, kv.Value.String())
			continue
		}
		if g := kv.Value.AsInterface(); !reflect.DeepEqual(g, w) {
			t.Errorf("attribute %s = %#v, want %#v", k, g, w)
		}
	}
	for k, w := range want {
		if !seen[k] {
			t.Errorf("missing attribute %s (want %#v)", k, w)
		}
	}
}

func attrValue(kvs []attribute.KeyValue, key string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// sameJSON reports whether two JSON documents are equal as values.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("invalid JSON %q: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("invalid want JSON %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// onlySpan returns the one span the exporter holds.
func onlySpan(t *testing.T, exp *tracetest.InMemoryExporter) tracetest.SpanStub {
	t.Helper()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1: %v", len(spans), spanNames(spans))
	}
	return spans[0]
}

func spanNames(spans tracetest.SpanStubs) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}
