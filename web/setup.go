package web

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/query"
)

// setupReconcileRows is how many sessions the Setup page reconciles.
const setupReconcileRows = 20

func (s *Server) pageSetup(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.setupStatus(ctx)
	if err != nil {
		return err
	}
	rec, err := s.Query.Reconcile(ctx, setupReconcileRows)
	if err != nil {
		return err
	}
	d := setupData{Base: baseURL(c), GRPC: grpcURL(c, s.OTLPGRPCAddr), Status: st, Reconcile: rec}
	d.KeyRequired, d.Keys = s.ingestKeys(ctx)
	return render(c, http.StatusOK, setupPage(d))
}

// ingestKeys says whether ingest keys are configured (Auth with an ingest
// check) and whether one is required now.
func (s *Server) ingestKeys(ctx context.Context) (required, configured bool) {
	if s.Auth == nil || s.Auth.Ingest == nil {
		return false, false
	}
	if s.Auth.Ingest.Always {
		return true, true
	}
	n, err := s.Auth.Store.CountActiveAPIKeys(ctx)
	return err == nil && n > 0, true
}

// grpcURL is the OTLP/gRPC endpoint as a client should name it: the host
// gRPC listens on, or, when it listens on every address, the host the
// browser reached this page by, with gRPC's real port; "" when gRPC is off.
func grpcURL(c echo.Context, addr string) string {
	if addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = c.Request().Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if host == "" {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// producerRow is one producer of the "last received" table.
type producerRow struct {
	Label   string
	Signals []string // the signals the producer sends, in column order
	Last    map[string]string
}

// setupProducers are the producers of the "last received" table, with
// the names package otlp and the receiver give them and the signals each
// sends.
var setupProducers = []struct {
	key, label string
	signals    []string
}{
	{"claude-code", "Claude Code (CLI or spawned by the Agent SDK)", []string{"traces", "logs", "metrics"}},
	{"agent-sdk", "Claude Agent SDK (OpenInference)", []string{"traces"}},
	{"openllmetry", "OpenLLMetry", []string{"traces", "logs"}},
	{"openinference", "OpenInference", []string{"traces"}},
	{"anthropic-sdk", "Anthropic SDK built-in spans", []string{"traces"}},
	{"claude-platform", "Claude API (telemetry destination)", []string{"traces"}},
	{"otelclaude", "otelclaude (Go middleware)", []string{"traces"}},
	{"native", "Native POST /v1/responses", []string{"native"}},
	{"other", "Other OpenTelemetry", []string{"traces", "logs", "metrics"}},
}

// setupSignals are the columns of the "last received" table.
var setupSignals = []string{"traces", "logs", "metrics", "native"}

func (s *Server) receivedRows() []producerRow {
	var last map[string]map[string]time.Time
	if s.Received != nil {
		last = s.Received()
	}
	rows := make([]producerRow, 0, len(setupProducers))
	for _, p := range setupProducers {
		r := producerRow{Label: p.label, Signals: p.signals, Last: map[string]string{}}
		for _, sig := range p.signals {
			r.Last[sig] = "never"
			if t := last[p.key][sig]; !t.IsZero() {
				r.Last[sig] = t.UTC().Format("2006-01-02 15:04:05") + " UTC"
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func hasSignal(r producerRow, sig string) bool {
	_, ok := r.Last[sig]
	return ok
}

// usd formats a cost to the micro-dollar.
func usd(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// reconcileShown says whether the Setup page has totals to reconcile.
func reconcileShown(r query.Reconciliation) bool { return len(r.Sessions) > 0 }

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
	st := setupStatus{Producers: s.receivedRows()}
	a, err := s.Query.Arrivals(ctx)
	if err != nil || a.Last == nil {
		return st, err
	}
	last := a.Last
	st.Any, st.LastTime, st.LastApp, st.LastID, st.Count24h = true, last.Time.UTC().Format("2006-01-02 15:04:05"), last.App, last.ID, a.Last24h
	return st, nil
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
	"github.com/stopscope/stopscope/ingest/otelclaude"
)

// A tracer provider exporting over OTLP/HTTP to stopscope, and the
// trace-context propagator: anthropic-sdk-go (v1.81 and later) then
// writes its own anthropic.messages.create span for every call.
shutdown, err := otelclaude.Setup(ctx)
if err != nil {
	return err
}
defer shutdown(context.Background())

client := anthropic.NewClient()
// Older SDKs trace nothing themselves: add
// option.WithMiddleware(otelclaude.Middleware()). With both, each call is
// still one record.`
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

func otlpEnvSetup(base, grpc string) string {
	out := `export OTEL_EXPORTER_OTLP_ENDPOINT=` + base + `
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=my-app
export OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=production`
	if grpc != "" {
		out += "\n# or gRPC: OTEL_EXPORTER_OTLP_ENDPOINT=" + grpc + " OTEL_EXPORTER_OTLP_PROTOCOL=grpc"
	}
	return out
}

// headersLine is the OTEL_EXPORTER_OTLP_HEADERS line of a recipe: set when
// ingest keys are required, a comment when they are configured but none
// is required yet, nothing without ingest keys.
func headersLine(required, configured bool) string {
	const line = `export OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20sk_ss_…"  # an ingest key: dashboard keys create`
	switch {
	case required:
		return line + "\n"
	case configured:
		return "# once ingest keys exist: " + line + "\n"
	}
	return ""
}

// claudeCodeSetup is the environment of Claude Code (the CLI, or the
// process the Agent SDK spawns) that sends its telemetry here.
func claudeCodeSetup(base, grpc string, keyRequired, keys bool) string {
	out := `export CLAUDE_CODE_ENABLE_TELEMETRY=1
export OTEL_METRICS_EXPORTER=otlp          # token and cost totals per session
export OTEL_LOGS_EXPORTER=otlp             # one event per API call and per error
export OTEL_TRACES_EXPORTER=otlp           # spans: only with the beta below
export CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1  # per-call stop reasons
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_EXPORTER_OTLP_ENDPOINT=` + base + "\n" + headersLine(keyRequired, keys) +
		`# optional, without the beta: stop reasons from the logs (puts prompts and answers in them)
# export OTEL_LOG_RAW_API_BODIES=1`
	if grpc != "" {
		out += "\n# or gRPC: OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT=" + grpc
	}
	return out
}

// agentSDKSetup passes Claude Code's telemetry switches to the process the
// Agent SDK spawns, and traces the SDK itself with OpenInference.
func agentSDKSetup(base string) string {
	return `npm install @anthropic-ai/claude-agent-sdk @arizeai/openinference-instrumentation-claude-agent-sdk

import { query } from "@anthropic-ai/claude-agent-sdk";

for await (const m of query({
  prompt: "…",
  options: {
    env: {
      ...process.env,
      CLAUDE_CODE_ENABLE_TELEMETRY: "1",
      CLAUDE_CODE_ENHANCED_TELEMETRY_BETA: "1",
      OTEL_METRICS_EXPORTER: "otlp",
      OTEL_LOGS_EXPORTER: "otlp",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_ENDPOINT: "` + base + `",
    },
  },
})) { /* … */ }
// The SDK's own query() spans: register OpenInference's instrumentation
// with an OTLP trace exporter to ` + base + `/v1/traces.`
}

// goSDKSpansSetup registers a tracer provider, which the official Go SDK's
// built-in spans go through.
func goSDKSpansSetup(base string) string {
	return `import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTEL_EXPORTER_OTLP_ENDPOINT=` + base + `
exp, err := otlptracehttp.New(ctx)
if err != nil {
	return err
}
tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
defer tp.Shutdown(context.Background())
otel.SetTracerProvider(tp) // before the first call: the SDK traces through it
client := anthropic.NewClient()`
}
