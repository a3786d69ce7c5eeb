package web

import (
	"context"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Telemetry holds the service's own instruments, published at /metrics and
// over OTLP when configured.
type Telemetry struct {
	records       metric.Int64Counter
	flags         metric.Int64Counter
	requests      metric.Int64Counter
	requestBytes  metric.Int64Histogram
	requestTime   metric.Float64Histogram
	rejected      metric.Int64Counter
	storeWrite    metric.Float64Histogram
	storeFailures metric.Int64Counter
}

// NewTelemetry creates the instruments on a meter of mp.
func NewTelemetry(mp metric.MeterProvider) (*Telemetry, error) {
	m := mp.Meter("github.com/stopscope/stopscope")
	t := &Telemetry{}
	var err error
	for _, step := range []func() error{
		func() error {
			t.records, err = m.Int64Counter("stopscope.records", metric.WithDescription("Records stored, by kind, stop reason, app and model."), metric.WithUnit("{record}"))
			return err
		},
		func() error {
			t.flags, err = m.Int64Counter("stopscope.record_flags", metric.WithDescription("Flags raised on stored records, by flag, app and model."), metric.WithUnit("{record}"))
			return err
		},
		func() error {
			t.requests, err = m.Int64Counter("stopscope.ingest.requests", metric.WithDescription("Ingest requests, by route and HTTP status."), metric.WithUnit("{request}"))
			return err
		},
		func() error {
			t.requestBytes, err = m.Int64Histogram("stopscope.ingest.request.size", metric.WithDescription("Size of ingest request bodies as sent."), metric.WithUnit("By"))
			return err
		},
		func() error {
			t.requestTime, err = m.Float64Histogram("stopscope.ingest.request.duration", metric.WithDescription("Time to answer an ingest request."), metric.WithUnit("s"))
			return err
		},
		func() error {
			t.rejected, err = m.Int64Counter("stopscope.ingest.rejected", metric.WithDescription("Records rejected one by one at ingest, by source and reason."), metric.WithUnit("{record}"))
			return err
		},
		func() error {
			t.storeWrite, err = m.Float64Histogram("stopscope.store.write.duration", metric.WithDescription("Time to commit one batch of records to the store."), metric.WithUnit("s"))
			return err
		},
		func() error {
			t.storeFailures, err = m.Int64Counter("stopscope.store.write.failures", metric.WithDescription("Batches the store failed to commit."), metric.WithUnit("{batch}"))
			return err
		},
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Sink wraps a sink so that every committed batch is counted and timed.
func (t *Telemetry) Sink(s store.Inserter) store.Inserter { return meteredSink{t: t, next: s} }

type meteredSink struct {
	t    *Telemetry
	next store.Inserter
}

func (m meteredSink) Insert(ctx context.Context, recs []*analytics.Record) error {
	start := time.Now()
	err := m.next.Insert(ctx, recs)
	m.t.storeWrite.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		m.t.storeFailures.Add(ctx, 1)
		return err
	}
	// Count per distinct label set, not per record: a batch of thousands
	// has a handful of them, and each Add builds an attribute set.
	type recordKey struct{ kind, stop, app, model string }
	type flagKey struct{ flag, app, model string }
	records := map[recordKey]int64{}
	flags := map[flagKey]int64{}
	for _, r := range recs {
		if r.ID == 0 {
			continue // a duplicate: stored before, counted then
		}
		stop := r.StopReason.Key()
		if r.Kind == analytics.KindError {
			stop = "error"
		}
		records[recordKey{string(r.Kind), stop, r.App, r.Model}]++
		for _, f := range r.Flags.List() {
			flags[flagKey{string(f), r.App, r.Model}]++
		}
	}
	for k, n := range records {
		m.t.records.Add(ctx, n, metric.WithAttributes(
			attribute.String("kind", k.kind), attribute.String("stop_reason", k.stop),
			attribute.String("app", k.app), attribute.String("model", k.model)))
	}
	for k, n := range flags {
		m.t.flags.Add(ctx, n, metric.WithAttributes(
			attribute.String("flag", k.flag), attribute.String("app", k.app), attribute.String("model", k.model)))
	}
	return nil
}

// Rejected counts records refused one by one at ingest, by the way they
// came in (native, otlp) and the reason. Requests refused whole are counted
// by stopscope.ingest.requests with their status.
func (t *Telemetry) Rejected(ctx context.Context, source, reason string, n int) {
	t.rejected.Add(ctx, int64(n), metric.WithAttributes(attribute.String("source", source), attribute.String("reason", reason)))
}

// Middleware counts and times the ingest routes (/v1/...).
func (t *Telemetry) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		route := c.Path()
		if len(route) < 4 || route[:4] != "/v1/" {
			return next(c)
		}
		start := time.Now()
		err := next(c)
		status := c.Response().Status
		if err != nil {
			// The error handler has not run yet; count by the status it will choose.
			status = StatusOf(err)
		}
		ctx := c.Request().Context()
		attrs := metric.WithAttributes(attribute.String("route", route), attribute.String("status", strconv.Itoa(status)))
		t.requests.Add(ctx, 1, attrs)
		t.requestTime.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("route", route)))
		if n := c.Request().ContentLength; n >= 0 {
			t.requestBytes.Record(ctx, n, metric.WithAttributes(attribute.String("route", route)))
		}
		return err
	}
}
