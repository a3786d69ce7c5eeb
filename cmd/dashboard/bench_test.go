package main

import (
	"time"

	"bytes"
	"context"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"os"
	"strings"
	"testing"
)

// TestMain lets the bench start this test binary as its server: with
// benchChildEnv set, the binary is the dashboard command.
func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) != "" {
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
	if err := runBench(context.Background(), []string{"--quick", "--dir", t.TempDir()}, &out); err != nil {
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
		"| native ingest into the largest store |",
		"| peak server memory (VmHWM), largest store |",
	} {
		if !strings.Contains(table, row) {
			t.Errorf("the table has no row %q:\n%s", row, table)
		}
	}
}

// TestOTLPTemplateTimes checks that a stamped OTLP export carries the
// time it was stamped at, and the ids' markers replaced.
func TestOTLPTemplateTimes(t *testing.T) {
	now := time.Now().UTC()
	recs, err := decodeLines(benchEnvelopes(1, now, 40), now)
	if err != nil {
		t.Fatal(err)
	}
	tpls, err := otlpTemplates(recs, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	before := time.Now()
	body := tpls[0].stamp(nil, 12345)
	after := time.Now()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	n := 0
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				n++
				end, start := sp.EndTimestamp().AsTime(), sp.StartTimestamp().AsTime()
				if end.Before(before.Add(-time.Second)) || end.After(after) || start.After(end) {
					t.Errorf("span %d: %v to %v, stamped between %v and %v", n, start, end, before, after)
				}
			}
		}
	}
	if n != 20 {
		t.Errorf("%d spans, want 20", n)
	}
	if bytes.Contains(body, []byte(idMarker)) {
		t.Errorf("the stamped body still holds the marker %q", idMarker)
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
	if err := runBench(context.Background(), []string{"--quick", "--dir", t.TempDir(), "--db", db}, &out); err != nil {
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
