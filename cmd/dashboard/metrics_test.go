package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetrics: /metrics shows the records stored by stop reason and flag,
// the ingest requests, the records rejected one by one, and store writes.
func TestMetrics(t *testing.T) {
	m := startMain(t)
	good, _ := json.Marshal(fixtureRecord(t, "messages/refusal.json", "metrics-app"))
	body := string(good) + "\n" + `{"type": "banana"}` + "\n"
	if status, raw := post(t, m.URL()+"/v1/responses", "application/x-ndjson", []byte(body)); status != 200 {
		t.Fatalf("post: %d %s", status, raw)
	}
	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, text)
	}
	for _, want := range []struct{ name, labels, value string }{
		{"stopscope_records_total", `app="metrics-app"`, "1"},
		{"stopscope_records_total", `stop_reason="refusal"`, "1"},
		{"stopscope_record_flags_total", `flag="refusal"`, "1"},
		{"stopscope_ingest_rejected_total", `reason="invalid_record"`, "1"},
		{"stopscope_ingest_requests_total", `status="200"`, "1"},
		{"stopscope_store_write_duration_seconds_count", ``, "1"},
	} {
		if !hasSample(text, want.name, want.labels, want.value) {
			t.Errorf("/metrics has no %s{%s} %s sample:\n%s", want.name, want.labels, want.value, text)
		}
	}
}

// hasSample reports whether a Prometheus text exposition has a sample of
// the metric whose labels include labels and whose value is value.
func hasSample(text, name, labels, value string) bool {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if strings.Contains(line, labels) && strings.HasSuffix(line, " "+value) {
			return true
		}
	}
	return false
}
