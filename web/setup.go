package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
)

func (s *Server) pageSetup(c echo.Context) error {
	st, err := s.setupStatus(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, setupPage(setupData{Base: baseURL(c), Status: st}))
}

// uiSetupStatus answers GET /ui/setup-status: the "has data arrived" box,
// which the Setup page polls.
func (s *Server) uiSetupStatus(c echo.Context) error {
	st, err := s.setupStatus(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, setupStatusBox(st))
}

func (s *Server) setupStatus(ctx context.Context) (setupStatus, error) {
	a, err := s.Query.Arrivals(ctx)
	if err != nil || a.Last == nil {
		return setupStatus{}, err
	}
	last := a.Last
	return setupStatus{Any: true, LastTime: last.Time.UTC().Format("2006-01-02 15:04:05"), LastApp: last.App, LastID: last.ID, Count24h: a.Last24h}, nil
}

// baseURL is this server's URL as the browser reached it.
func baseURL(c echo.Context) string {
	host := c.Request().Host
	if host == "" {
		host = "127.0.0.1:8080"
	}
	return "http://" + host
}

func curlSetup(base string) string {
	return `curl -sS ` + base + `/v1/responses \
  -H 'Content-Type: application/json' \
  -d '{
    "app": "my-app",
    "environment": "production",
    "session_id": "conv-42",
    "latency_ms": 812,
    "request": {"model": "claude-sonnet-4-6", "max_tokens": 1024,
                "messages": [{"role": "user", "content": "What is the capital of France?"}]},
    "response": {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                 "content": [{"type": "text", "text": "Paris."}],
                 "stop_reason": "end_turn", "stop_sequence": null,
                 "usage": {"input_tokens": 14, "output_tokens": 4}}
  }'`
}

func goSetup() string {
	return `import (
	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/stopscope/stopscope/ingest/otelclaude"
)

shutdown, err := otelclaude.Setup(ctx) // OTLP/HTTP to stopscope
if err != nil {
	return err
}
defer shutdown(context.Background())

client := anthropic.NewClient(
	option.WithMiddleware(otelclaude.Middleware()),
	option.WithoutOpenTelemetry(), // the SDK's own span would duplicate ours
)`
}

func openLLMetrySetup(base string) string {
	return `pip install traceloop-sdk anthropic

from traceloop.sdk import Traceloop
Traceloop.init(app_name="my-app", api_endpoint="` + base + `")

import anthropic
client = anthropic.Anthropic()  # every call is now traced to stopscope`
}

func openInferenceSetup(base string) string {
	return `pip install openinference-instrumentation-anthropic opentelemetry-sdk opentelemetry-exporter-otlp-proto-http

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from openinference.instrumentation.anthropic import AnthropicInstrumentor

provider = TracerProvider(resource=Resource.create({"service.name": "my-app"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint="` + base + `/v1/traces")))
trace.set_tracer_provider(provider)
AnthropicInstrumentor().instrument()`
}

func otlpEnvSetup(base string) string {
	return `export OTEL_EXPORTER_OTLP_ENDPOINT=` + base + `
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=my-app
export OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=production
# or gRPC: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc`
}
