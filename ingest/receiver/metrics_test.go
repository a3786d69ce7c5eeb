package receiver

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// pointSink keeps the metric points it is given.
type pointSink struct {
	mu  sync.Mutex
	pts []analytics.MetricPoint
	err error
}

func (s *pointSink) InsertMetricPoints(_ context.Context, pts []analytics.MetricPoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.pts = append(s.pts, pts...)
	return nil
}

// totals sums the points by metric and type, as the store does for deltas.
func (s *pointSink) totals() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	for _, p := range s.pts {
		out[string(p.Metric)+"/"+p.Type] += p.Value
	}
	return out
}

// claudeCodeMetrics reads the metric export Claude Code 2.1.328 sent for
// the cli_end_turn run (one call: 12 in, 9 out, $0.000171).
func claudeCodeMetrics(t *testing.T) pmetricotlp.ExportRequest {
	t.Helper()
	b := testfixtures.Read(t, "claude_code/cli_end_turn_metrics/0001_v1_metrics.json")
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	return req
}

func checkClaudeCodeTotals(t *testing.T, sink *pointSink) {
	t.Helper()
	got := sink.totals()
	want := map[string]float64{"tokens/input": 12, "tokens/output": 9, "tokens/cacheRead": 0, "tokens/cacheCreation": 0, "cost/": 0.000171}
	if len(got) != len(want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, p := range sink.pts {
		if p.SessionID != "280aa083-aa31-40e2-ad95-799b81f6e9a2" || p.App != "claudecode-http-json-end_turn" || !p.Delta || p.Environment != "harness" {
			t.Errorf("point %+v: want the run's session and app, delta", p)
		}
	}
}

// TestHTTPMetrics posts Claude Code's real metric export: POST /v1/metrics
// used to answer 404, so every Claude Code session logged an export error
// every interval.
func TestHTTPMetrics(t *testing.T) {
	req := claudeCodeMetrics(t)
	pb, _ := req.MarshalProto()
	js, _ := req.MarshalJSON()
	tests := []struct {
		name, ct, enc string
		body          []byte
		isJSON        bool
	}{
		{"protobuf", "application/x-protobuf", "", pb, false},
		{"protobuf gzip", "application/x-protobuf", "gzip", gz(t, pb), false},
		{"JSON", "application/json", "", js, true},
		{"JSON gzip", "application/json", "gzip", gz(t, js), true},
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &pointSink{}
			seen := &Seen{Now: func() time.Time { return at }}
			r := &Receiver{Sink: &sliceSink{}, MetricSink: sink, Seen: seen}
			srv := newServer(t, r)
			resp, body := post(t, srv.URL+"/v1/metrics", tt.ct, tt.enc, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			out := pmetricotlp.NewExportResponse()
			if err := unmarshal(out, body, tt.isJSON); err != nil {
				t.Fatal(err)
			}
			if ps := out.PartialSuccess(); ps.RejectedDataPoints() != 0 || ps.ErrorMessage() != "" {
				t.Errorf("partial success %d %q, want none", ps.RejectedDataPoints(), ps.ErrorMessage())
			}
			checkClaudeCodeTotals(t, sink)
			if got := seen.Last()["claude-code"]["metrics"]; !got.Equal(at) {
				t.Errorf("Claude Code's metrics last seen %v, want %v", got, at)
			}
		})
	}
}

func TestHTTPMetricsPartial(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "web")
	sm := rm.ScopeMetrics().AppendEmpty()
	// Another producer's metric: accepted, ignored.
	g := sm.Metrics().AppendEmpty()
	g.SetName("http.server.active_requests")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(3)
	// A token point without a type: rejected.
	m := sm.Metrics().AppendEmpty()
	m.SetName("claude_code.token.usage")
	s := m.SetEmptySum()
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := s.DataPoints().AppendEmpty()
	dp.SetDoubleValue(5)
	dp.SetTimestamp(1)
	js, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()

	sink := &pointSink{}
	srv := newServer(t, &Receiver{MetricSink: sink})
	resp, body := post(t, srv.URL+"/v1/metrics", "application/json", "", js)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	out := pmetricotlp.NewExportResponse()
	if err := out.UnmarshalJSON(body); err != nil {
		t.Fatal(err)
	}
	if ps := out.PartialSuccess(); ps.RejectedDataPoints() != 1 || ps.ErrorMessage() == "" {
		t.Errorf("partial success %d %q, want 1 rejected", ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	if len(sink.pts) != 0 {
		t.Errorf("stored %+v", sink.pts)
	}

	// A store that cannot take them now: 503, for the exporter to retry.
	srv = newServer(t, &Receiver{MetricSink: &pointSink{err: analytics.Errorf(analytics.EUnavailable, "store down")}})
	pb, _ := claudeCodeMetrics(t).MarshalProto()
	if resp, body := post(t, srv.URL+"/v1/metrics", "application/x-protobuf", "", pb); resp.StatusCode != 503 {
		t.Errorf("store down: status %d %s, want 503", resp.StatusCode, body)
	}
}

// TestGRPCMetrics exports over the gRPC MetricsService, which used to be
// unimplemented.
func TestGRPCMetrics(t *testing.T) {
	sink := &pointSink{}
	seen := &Seen{}
	r := &Receiver{MetricSink: sink, Seen: seen}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(GRPCServerOption())
	r.RegisterGRPC(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := pmetricotlp.NewGRPCClient(conn).Export(context.Background(), claudeCodeMetrics(t))
	if err != nil {
		t.Fatal(err)
	}
	if resp.PartialSuccess().RejectedDataPoints() != 0 {
		t.Errorf("rejected %d", resp.PartialSuccess().RejectedDataPoints())
	}
	checkClaudeCodeTotals(t, sink)
	if seen.Last()["claude-code"]["metrics"].IsZero() {
		t.Error("Claude Code's metrics not marked seen")
	}

	body, err := claudeCodeMetrics(t).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Receiver{MetricSink: &pointSink{err: analytics.Errorf(analytics.EUnavailable, "store down")}}).grpcMetrics(context.Background(), body)
	if err == nil || err.Error() != "rpc error: code = Unavailable desc = store down" {
		t.Errorf("error %v, want Unavailable", err)
	}
}

func TestSeen(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := &Seen{Now: func() time.Time { return now }}
	s.Mark(SignalTraces, "claude-code", "openinference")
	now = now.Add(time.Minute)
	s.Mark(SignalLogs, "claude-code")
	got := s.Last()
	if !got["claude-code"][SignalTraces].Equal(now.Add(-time.Minute)) || !got["claude-code"][SignalLogs].Equal(now) ||
		!got["openinference"][SignalTraces].Equal(now.Add(-time.Minute)) || len(got) != 2 {
		t.Errorf("Last = %v", got)
	}
	var none *Seen
	none.Mark(SignalNative, ProducerNative) // a nil Seen remembers nothing
	if len(none.Last()) != 0 {
		t.Error("nil Seen remembered")
	}
}
