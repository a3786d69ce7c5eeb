package main

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/config"
	"github.com/stopscope/stopscope/cmd/dashboard/maint"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/store"
)

// ingestSink builds the chain ingest writes through: privacy, then group
// commit, then the store. It starts the Batcher, which Close drains.
func (m *Main) ingestSink(st store.Store) (store.Inserter, error) {
	m.batcher = store.NewBatcher(st, m.Ops.Batch)
	var sink store.Inserter = m.batcher
	if m.Ops.MetadataOnly || len(m.Ops.Redact) > 0 {
		res, err := analytics.CompileRedactions(m.Ops.Redact)
		if err != nil {
			return nil, err
		}
		sink = maint.Privacy{Next: sink, MetadataOnly: m.Ops.MetadataOnly, Redact: res}
	}
	n := m.Ops.MaxConcurrentIngest
	if n <= 0 {
		n = config.DefaultMaxConcurrentIngest
	}
	m.ingestSlots = make(chan struct{}, n)
	lim := m.Ops.Limits.WithDefaults()
	m.Logger.Info("ingest settings",
		"max_concurrent", n, "max_queued_records", m.Ops.Batch.MaxQueued, "max_batch_records", m.Ops.Batch.MaxBatch,
		"max_body_bytes", lim.MaxBodyBytes, "max_decompressed_bytes", lim.MaxDecompressedBytes,
		"max_records", lim.MaxRecords, "metadata_only", m.Ops.MetadataOnly, "redact_patterns", len(m.Ops.Redact),
		"retention_days", m.Ops.RetentionDays, "rollup_retention_days", m.Ops.RollupRetentionDays)
	return sink, nil
}

// errIngestBusy is the answer to an ingest request past
// MaxConcurrentIngest.
func errIngestBusy() error {
	return analytics.Errorf(analytics.EUnavailable, "stopscope is handling as many ingest requests as it is set to (-ingest-max-concurrent); retry after a second")
}

// limitIngest wraps an ingest handler so that at most MaxConcurrentIngest
// run at once; the others are refused before their body is read. The body
// of one that runs must arrive in time (see config.Operations.IngestBodyTimeout).
func (m *Main) limitIngest(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		release, err := m.admitIngest()
		if err != nil {
			// Answered before the body is read: close the connection and
			// read no more of it, or net/http would first read what is
			// left of the body to reuse the connection, and a client
			// trickling its body would hold it (and never see the 503).
			c.Response().Header().Set(echo.HeaderConnection, "close")
			_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Now())
			return err
		}
		defer release()
		receiver.PaceBody(c.Response(), c.Request(), m.Ops.IngestBodyTimeout, m.Ops.IngestMinBodyRate)
		return h(c)
	}
}

// admitIngest takes one of the MaxConcurrentIngest slots, or refuses with
// errIngestBusy; limitIngest (HTTP) and the OTLP/gRPC server's
// receiver.LimitInterceptor share it.
func (m *Main) admitIngest() (release func(), err error) {
	select {
	case m.ingestSlots <- struct{}{}:
		return func() { <-m.ingestSlots }, nil
	default:
		return nil, errIngestBusy()
	}
}

// applyGCPercent sets the garbage collector's target heap growth to
// percent (config.Operations.GCPercent), unless percent is 0 or GOGC is
// set, which the runtime has already applied. It is the serve command's,
// not Main's: the setting is the process's, and end-to-end tests run many
// Mains in one test binary.
func applyGCPercent(percent int, getenv func(string) string, log *slog.Logger) {
	switch {
	case getenv("GOGC") != "":
		log.Info("garbage collection", "gogc", getenv("GOGC"), "from", "GOGC")
	case percent > 0:
		debug.SetGCPercent(percent)
		log.Info("garbage collection", "gc_percent", percent, "from", "-gc-percent")
	}
}

// ready is /readyz's check beyond the store's ping: ingest must be taking
// records.
func (m *Main) ready(ctx context.Context) error {
	if m.batcher == nil {
		return analytics.Errorf(analytics.EUnavailable, "not started")
	}
	return m.batcher.Ready()
}
