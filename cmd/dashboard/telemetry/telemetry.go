// Package telemetry is the service's own metrics pipeline: a Prometheus
// registry for GET /metrics, and an OTLP push when the standard variables
// ask for it.
package telemetry

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"

	"github.com/stopscope/stopscope/web"
)

// Telemetry is the running pipeline.
type Telemetry struct {
	// Instruments are what the web server and ingest record to.
	Instruments *web.Telemetry
	// Metrics serves the Prometheus exposition.
	Metrics  http.Handler
	provider *sdkmetric.MeterProvider
}

// New sets up the meter provider. OTLP push is on when
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set;
// the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
func New(ctx context.Context, getenv func(string) string) (*Telemetry, error) {
	reg := prometheus.NewRegistry()
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	opts := []sdkmetric.Option{
		sdkmetric.WithReader(promExp),
		sdkmetric.WithResource(resource.NewSchemaless(semconv.ServiceName("stopscope"))),
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != "" {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	inst, err := web.NewTelemetry(mp)
	if err != nil {
		return nil, errors.Join(err, mp.Shutdown(ctx))
	}
	return &Telemetry{
		Instruments: inst,
		Metrics:     promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		provider:    mp,
	}, nil
}

// Close flushes and stops the pipeline.
func (t *Telemetry) Close(ctx context.Context) error { return t.provider.Shutdown(ctx) }
