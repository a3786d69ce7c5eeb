package otelclaude

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"go.opentelemetry.io/otel"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an httptest stand-in for stopscope's OTLP/HTTP endpoint.
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	problems []string
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		c.problems = append(c.problems, r.Method+" "+r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		c.problems = append(c.problems, "Content-Type "+ct)
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.problems = append(c.problems, err.Error())
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		c.problems = append(c.problems, err.Error())
		return
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(raw, req); err != nil {
		c.problems = append(c.problems, "not protobuf: "+err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.requests = append(c.requests, req)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// find returns our span with the given name and its resource's service.name.
func (c *collector) find(name string) (*tracepb.Span, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				if ss.GetScope().GetName() != ScopeName {
					continue
				}
				for _, s := range ss.Spans {
					if s.Name == name {
						return s, service
					}
				}
			}
		}
	}
	return nil, ""
}

func TestSetup(t *testing.T) {
	cases := []struct {
		name        string
		env         func(collectorURL string) map[string]string
		opts        func(collectorURL string) []SetupOption
		noGlobal    bool // NewTracerProvider instead of Setup
		wantService string
	}{
		{
			name: "from OTEL_* variables",
			env: func(u string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": u, "OTEL_SERVICE_NAME": "support-bot"}
			},
			wantService: "support-bot",
		},
		{
			name: "options win over variables",
			env: func(string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SERVICE_NAME": "not-this"}
			},
			opts: func(u string) []SetupOption {
				return []SetupOption{WithEndpoint(u), WithServiceName("research-agent")}
			},
			wantService: "research-agent",
		},
		{
			name: "NewTracerProvider leaves the global provider alone",
			env: func(u string) map[string]string {
				return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": u + "/v1/traces", "OTEL_RESOURCE_ATTRIBUTES": "service.name=e2e"}
			},
			noGlobal:    true,
			wantService: "e2e",
		},
	}
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector(t)
			for k, v := range tc.env(col.URL) {
				t.Setenv(k, v)
			}
			var opts []SetupOption
			if tc.opts != nil {
				opts = tc.opts(col.URL)
			}
			ctx := context.Background()
			var shutdown func(context.Context) error
			var mwOpts []Option
			if tc.noGlobal {
				before := otel.GetTracerProvider()
				tp, err := NewTracerProvider(ctx, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if otel.GetTracerProvider() != before {
					t.Error("NewTracerProvider changed the global provider")
				}
				shutdown, mwOpts = tp.Shutdown, []Option{WithTracerProvider(tp)}
			} else {
				var err error
				if shutdown, err = Setup(ctx, opts...); err != nil {
					t.Fatal(err)
				}
				// The one-line use below then needs no provider option.
			}

			api := newStubAPI(t, reply{status: 200, contentType: "application/json", body: readFixture(t, "messages/end_turn.json")})
			client := anthropic.NewClient(option.WithBaseURL(api.URL), option.WithAPIKey("test"), option.WithMaxRetries(0),
				option.WithMiddleware(Middleware(mwOpts...)))
			if _, err := client.Messages.New(ctx, testParams()); err != nil {
				t.Fatal(err)
			}
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}

			if len(col.problems) > 0 {
				t.Errorf("collector problems: %v", col.problems)
			}
			span, service := col.find("chat claude-sonnet-4-6")
			if span == nil {
				t.Fatalf("no span %q among %d export requests", "chat claude-sonnet-4-6", len(col.requests))
			}
			if service != tc.wantService {
				t.Errorf("service.name = %q, want %q", service, tc.wantService)
			}
			if span.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("kind %v", span.Kind)
			}
			got := map[string]string{}
			for _, kv := range span.Attributes {
				switch kv.Key {
				case "gen_ai.operation.name", "gen_ai.provider.name", "anthropic.message.stop_reason":
					got[kv.Key] = kv.GetValue().GetStringValue()
				case "gen_ai.response.finish_reasons":
					for _, v := range kv.GetValue().GetArrayValue().GetValues() {
						got[kv.Key] += v.GetStringValue()
					}
				}
			}
			want := map[string]string{
				"gen_ai.operation.name":          "chat",
				"gen_ai.provider.name":           "anthropic",
				"anthropic.message.stop_reason":  "end_turn",
				"gen_ai.response.finish_reasons": "end_turn",
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

func TestSetupEndpointChoice(t *testing.T) {
	cases := []struct {
		name     string
		endpoint string // WithEndpoint
		env      map[string]string
		wantURL  string // "" when the exporter reads the variables itself
	}{
		{name: "nothing set: stopscope's default", wantURL: "http://127.0.0.1:8080/v1/traces"},
		{name: "OTEL_EXPORTER_OTLP_ENDPOINT", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"}},
		{name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otel:4318/v1/traces"}},
		{name: "option over variables", endpoint: "http://stopscope:9000", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"},
			wantURL: "http://stopscope:9000/v1/traces"},
		{name: "option with the path already", endpoint: "http://stopscope:9000/v1/traces/", wantURL: "http://stopscope:9000/v1/traces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := setupConfig{endpoint: tc.endpoint}
			url, ok := cfg.exporterURL(func(k string) string { return tc.env[k] })
			if ok != (tc.wantURL != "") || url != tc.wantURL {
				t.Errorf("exporterURL = %q, %v; want %q", url, ok, tc.wantURL)
			}
		})
	}
}

// TestSetupPropagates: Setup registers the trace-context propagator, without
// which the SDK sends no traceparent and the Claude API's spans of a call
// are not in the app's trace.
func TestSetupPropagates(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	shutdown, err := Setup(context.Background(), WithEndpoint("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	if fields := otel.GetTextMapPropagator().Fields(); !slices.Contains(fields, "traceparent") {
		t.Errorf("propagator fields %v: no traceparent", fields)
	}
}
