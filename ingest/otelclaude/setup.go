package otelclaude

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// DefaultEndpoint is where [Setup] sends spans when neither an option nor
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names an
// endpoint: a stopscope server on its default address.
const DefaultEndpoint = "http://127.0.0.1:8080"

const tracesPath = "/v1/traces"

// SetupOption configures [Setup].
type SetupOption func(*setupConfig)

type setupConfig struct {
	endpoint     string
	serviceName  string
	exporterOpts []otlptracehttp.Option
}

// WithEndpoint sets the base URL of the stopscope server, such as
// "http://stopscope.internal:8080", overriding the OTEL_EXPORTER_OTLP_*
// endpoint variables. Like OTEL_EXPORTER_OTLP_ENDPOINT, "/v1/traces" is
// appended unless the URL already ends with it.
func WithEndpoint(url string) SetupOption {
	return func(c *setupConfig) { c.endpoint = url }
}

// WithServiceName sets the service.name resource attribute, overriding
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. stopscope shows it as the app.
func WithServiceName(name string) SetupOption {
	return func(c *setupConfig) { c.serviceName = name }
}

// WithExporterOptions passes further options (headers, TLS, compression,
// retries) to the OTLP/HTTP exporter. They are applied after the endpoint
// that Setup chooses, so an endpoint among them wins.
func WithExporterOptions(opts ...otlptracehttp.Option) SetupOption {
	return func(c *setupConfig) { c.exporterOpts = append(c.exporterOpts, opts...) }
}

// Setup creates an OTLP/HTTP trace exporter pointed at a stopscope server, a
// tracer provider with a batch span processor and a resource carrying
// service.name, and registers the provider with otel.SetTracerProvider so
// that the Claude SDK's own spans and [Middleware] (both use the global
// provider by default) export through it. It also registers the W3C trace
// context and baggage propagators with otel.SetTextMapPropagator, so that
// the SDK sends each call's traceparent to the Claude API and the API's own
// spans (through a telemetry destination) join the app's trace. The
// standard OTEL_* variables apply; see the package documentation. Call the returned shutdown function before the program
// exits: it flushes the spans still queued.
func Setup(ctx context.Context, opts ...SetupOption) (shutdown func(context.Context) error, err error) {
	provider, err := NewTracerProvider(ctx, opts...)
	if err != nil {
		return nil, err
	}
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return provider.Shutdown, nil
}

// NewTracerProvider builds what [Setup] builds but does not register it
// globally: pass it to [Middleware] with [WithTracerProvider]. It suits tests
// and programs that keep several providers. Shut it down to flush its spans.
func NewTracerProvider(ctx context.Context, opts ...SetupOption) (*sdktrace.TracerProvider, error) {
	var cfg setupConfig
	for _, o := range opts {
		o(&cfg)
	}
	var exporterOpts []otlptracehttp.Option
	if url, ok := cfg.exporterURL(os.Getenv); ok {
		exporterOpts = append(exporterOpts, otlptracehttp.WithEndpointURL(url))
	}
	exporterOpts = append(exporterOpts, cfg.exporterOpts...)
	exporter, err := otlptracehttp.New(ctx, exporterOpts...)
	if err != nil {
		return nil, fmt.Errorf("otelclaude: OTLP exporter: %w", err)
	}
	res, err := cfg.resource(ctx)
	if err != nil {
		_ = exporter.Shutdown(ctx)
		return nil, err
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
	), nil
}

// exporterURL returns the traces URL to give the exporter, or false when the
// OTEL_EXPORTER_OTLP_* variables, which the exporter reads itself, decide.
func (c *setupConfig) exporterURL(getenv func(string) string) (string, bool) {
	if c.endpoint != "" {
		return tracesURL(c.endpoint), true
	}
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		return "", false
	}
	return DefaultEndpoint + tracesPath, true
}

func tracesURL(base string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, tracesPath) {
		return base
	}
	return base + tracesPath
}

// resource builds the resource: SDK facts, a default service.name, then
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, then WithServiceName; a
// later source wins. resource.Default is not used because it reads the
// environment only once per process.
func (c *setupConfig) resource(ctx context.Context) (*resource.Resource, error) {
	detectors := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", "unknown_service:"+filepath.Base(os.Args[0]))),
		resource.WithFromEnv(),
	}
	if c.serviceName != "" {
		detectors = append(detectors, resource.WithAttributes(attribute.String("service.name", c.serviceName)))
	}
	res, err := resource.New(ctx, detectors...)
	if err != nil {
		if res != nil && errors.Is(err, resource.ErrPartialResource) {
			// A malformed OTEL_RESOURCE_ATTRIBUTES should not stop tracing.
			otel.Handle(err)
			return res, nil
		}
		return nil, fmt.Errorf("otelclaude: resource: %w", err)
	}
	return res, nil
}
