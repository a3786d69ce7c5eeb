package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestSetupGRPCAddress: the Setup page named port 4317 whatever gRPC
// listened on, and even when it was off.
func TestSetupGRPCAddress(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tests := []struct {
		addr    string
		want    []string
		wantNot string
	}{
		{addr: "127.0.0.1:5317", want: []string{"over gRPC at <code>http://127.0.0.1:5317</code>", "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:5317"}, wantNot: "4317"},
		{addr: "0.0.0.0:6317", want: []string{"over gRPC at <code>http://127.0.0.1:6317</code>"}, wantNot: "4317"},
		{addr: "", want: []string{"not over gRPC: it is off"}, wantNot: "4317"},
	}
	for _, tc := range tests {
		s := &Server{Store: st, Now: func() time.Time { return now }, OTLPGRPCAddr: tc.addr}
		ts := httptest.NewServer(s.Handler())
		body := getPage(t, ts.URL+"/setup")
		ts.Close()
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("gRPC %q: the page does not say %q", tc.addr, w)
			}
		}
		if strings.Contains(body, tc.wantNot) {
			t.Errorf("gRPC %q: the page says %q", tc.addr, tc.wantNot)
		}
	}
}

// TestSetupClaudeCode: the recipe with its exact switches, the last
// export of each producer and signal ("never" before any), and the
// reconciliation of Claude Code's totals, disagreeing sessions first.
func TestSetupClaudeCode(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	got := map[string]map[string]time.Time{}
	s := &Server{Store: st, Now: func() time.Time { return now }, OTLPGRPCAddr: "127.0.0.1:4317",
		Received: func() map[string]map[string]time.Time { return got }}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	body := getPage(t, ts.URL+"/setup")
	for _, w := range []string{
		"CLAUDE_CODE_ENABLE_TELEMETRY=1", "OTEL_METRICS_EXPORTER=otlp", "OTEL_LOGS_EXPORTER=otlp", "OTEL_TRACES_EXPORTER=otlp",
		"CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1", "OTEL_LOG_RAW_API_BODIES=1", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + ts.URL, "prompts, system prompt, tool results and answers", "options.env",
		"otel.SetTracerProvider", "telemetry destination",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("the Setup page does not say %q", w)
		}
	}
	if strings.Contains(body, "OTEL_EXPORTER_OTLP_HEADERS") {
		t.Error("the page asks for an ingest key, but none is configured")
	}
	if strings.Count(body, "<td>never</td>") != 14 || strings.Contains(body, `id="reconcile"`) {
		t.Errorf("before anything arrived: %d nevers, want 14 and no reconciliation", strings.Count(body, "<td>never</td>"))
	}

	got["claude-code"] = map[string]time.Time{"metrics": now.Add(-time.Minute)}
	got["native"] = map[string]time.Time{"native": now}
	var ps store.ProducerTotalsStore = st
	pt := func(session string, v float64) analytics.MetricPoint {
		return analytics.MetricPoint{App: "claude-code", SessionID: session, Metric: analytics.ProducerTokens, Type: analytics.TokenInput,
			Series: "s", Delta: true, Start: now.Add(-2 * time.Minute), End: now.Add(-time.Minute), Value: v}
	}
	if err := ps.InsertMetricPoints(context.Background(), []analytics.MetricPoint{pt("sess-ok", 12), pt("sess-missing", 24)}); err != nil {
		t.Fatal(err)
	}
	insertAll(t, st, []*analytics.Record{{Time: now.Add(-time.Minute), App: "claude-code", SessionID: "sess-ok", Kind: analytics.KindMessage,
		Model: "m", StopReason: analytics.StopEndTurn, Usage: analytics.Usage{InputTokens: 12}}})
	body = getPage(t, ts.URL+"/setup")
	if !strings.Contains(body, now.Add(-time.Minute).UTC().Format("2006-01-02 15:04:05")+" UTC") || strings.Count(body, "<td>never</td>") != 12 {
		t.Errorf("after Claude Code's metrics and a native call: %d nevers, want 12", strings.Count(body, "<td>never</td>"))
	}
	i, j := strings.Index(body, "sess-missing"), strings.Index(body, "sess-ok")
	if i < 0 || j < 0 || i > j || !strings.Contains(body, "1 disagree") || !strings.Contains(body, "24 / 0") {
		t.Errorf("reconciliation: the disagreeing session first (%d, %d), saying 24 / 0", i, j)
	}
	// The polled box carries the table too.
	if box := getPage(t, ts.URL+"/ui/setup-status"); !strings.Contains(box, `id="received"`) {
		t.Error("the status box has no last-received table")
	}
}

func TestHeadersLine(t *testing.T) {
	if got := headersLine(false, false); got != "" {
		t.Errorf("no ingest keys: %q", got)
	}
	if got := headersLine(true, true); !strings.HasPrefix(got, "export OTEL_EXPORTER_OTLP_HEADERS=") {
		t.Errorf("a key required: %q", got)
	}
	if got := headersLine(false, true); !strings.HasPrefix(got, "# once ingest keys exist: export OTEL_EXPORTER_OTLP_HEADERS=") {
		t.Errorf("keys configured, none yet: %q", got)
	}
}
