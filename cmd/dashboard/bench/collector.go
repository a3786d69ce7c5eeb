package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// collectorConfig is the OpenTelemetry Collector's configuration for the
// side-by-side row: the OTLP receiver on HTTP only, the batch processor
// and the nop exporter, with its own telemetry off so that it opens no
// other port.
const collectorConfig = `receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
processors:
  batch:
exporters:
  nop:
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [nop]
`

// collector offers the OpenTelemetry Collector binary --otelcorecol the
// same OTLP/HTTP protobuf load as the last OTLP row (the largest batch,
// the most clients), and prints both rates and their ratio.
func (b *bench) collector(ctx context.Context, recs []*analytics.Record) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	conf := filepath.Join(b.cfg.dir, "otelcorecol.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, collectorConfig, addr), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, b.cfg.otelcol, "--config", conf)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--otelcorecol: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	if err := waitListening(addr, exited, &waitErr); err != nil {
		return fmt.Errorf("--otelcorecol %s: %w", b.cfg.otelcol, err)
	}
	batch, clients := b.cfg.batches[len(b.cfg.batches)-1], b.cfg.clients[len(b.cfg.clients)-1]
	tpls, err := otlpTemplates(recs, batch, max(4, 4000/batch))
	if err != nil {
		return err
	}
	col := &benchServer{url: "http://" + addr}
	r, err := b.load(ctx, col, "/v1/traces", "application/x-protobuf", tpls, clients, b.cfg.phase)
	if err != nil {
		return fmt.Errorf("otelcorecol: %w", err)
	}
	b.add("OTLP ingest, otelcorecol (otlp receiver, batch, nop exporter)", fmt.Sprintf("batch %d spans, %d clients", batch, clients), r.rate("spans"), r.latency())
	b.add("OTLP ingest vs otelcorecol", fmt.Sprintf("batch %d spans, %d clients", batch, clients),
		fmt.Sprintf("**%.2f×** (target ≥ 0.25×)", b.otlpLast/r.perSec()),
		fmt.Sprintf("stopscope %s spans/s stored durably, otelcorecol %s spans/s received and dropped", count(int64(b.otlpLast)), count(int64(r.perSec()))))
	return nil
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening waits up to 30 s for addr to take connections, or for
// the process to exit.
func waitListening(addr string, exited <-chan struct{}, waitErr *error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before listening: %v", *waitErr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not listening on %s after 30 s", addr)
}
