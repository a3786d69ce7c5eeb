package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/cmd/dashboard/bench"
)

// TestMain lets the bench start this test binary as its server: with
// bench.ChildEnv set, the binary is the dashboard command.
func TestMain(m *testing.M) {
	if os.Getenv(bench.ChildEnv) != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBenchQuick runs the quick bench end to end and checks that its table
// has every row. It does not judge the figures.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and loads stores")
	}
	var out bytes.Buffer
	if err := bench.Run(context.Background(), []string{"--quick", "--dir", t.TempDir()}, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, row := range []string{
		"| native ingest (NDJSON over HTTP) |",
		"| OTLP ingest (protobuf over HTTP) |",
		"| freshness |",
		"| native ingest, sustained |",
		"| peak server memory (VmHWM) during ingest |",
		"| store ceiling (direct Insert, same rows) |",
		"| native ingest ÷ store ceiling |",
		"| bytes on disk per record | with content",
		"| bytes on disk per record | without content",
		"| bulk load (30 days) |",
		"| summary API, 30 days |",
		"| time series API, 30 days by hour |",
		"| overview page, 24 hours |",
		"| overview page, 30 days |",
		"| overview spikes fragment, 24 hours |",
		"| overview patterns fragment, 24 hours |",
		"| overview chart data, 24 hours |",
		"| compare API, two models over 30 days |",
		"| compare API, 7 days vs the 7 before |",
		"| compare API, 24 hours vs the day before |",
		"| records list, rare value (stop_reason=refusal), 30 days |",
		"| records list, common value (one app), 30 days |",
		"| records list, flag (empty turns), 30 days |",
		"| text search in content, 30 days |",
		"| record page with content |",
		"| native ingest into the largest store |",
		"| peak server memory (VmHWM), largest store |",
		"| store size at 10 M records |",
	} {
		if !strings.Contains(table, row) {
			t.Errorf("the table has no row %q:\n%s", row, table)
		}
	}
}

// TestBenchOtelcorecol runs the quick bench with an OpenTelemetry
// Collector binary named by STOPSCOPE_TEST_OTELCORECOL (docs/performance.md
// says how to build one), and checks its side-by-side rows.
func TestBenchOtelcorecol(t *testing.T) {
	col := os.Getenv("STOPSCOPE_TEST_OTELCORECOL")
	if testing.Short() || col == "" {
		t.Skip("set STOPSCOPE_TEST_OTELCORECOL to an otelcorecol binary")
	}
	var out bytes.Buffer
	if err := bench.Run(context.Background(), []string{"--quick", "--dir", t.TempDir(), "--otelcorecol", col}, &out); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"| OTLP ingest, otelcorecol (otlp receiver, batch, nop exporter) |", "| OTLP ingest vs otelcorecol |"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("the table has no row %q:\n%s", row, out.String())
		}
	}
}

// TestBenchQuickPostgres runs the quick bench against PostgreSQL: ingest and
// the ceiling are measured there, and the table says reads are not.
func TestBenchQuickPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and loads stores")
	}
	db := freshPostgres(t)
	var out bytes.Buffer
	if err := bench.Run(context.Background(), []string{"--quick", "--dir", t.TempDir(), "--db", db}, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, row := range []string{
		"PostgreSQL store",
		"| native ingest (NDJSON over HTTP) |",
		"| OTLP ingest (protobuf over HTTP) |",
		"| store ceiling (direct Insert, same rows) |",
		"| read latency | PostgreSQL | not measured |",
	} {
		if !strings.Contains(table, row) {
			t.Errorf("the table has no %q:\n%s", row, table)
		}
	}
}
