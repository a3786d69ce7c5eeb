package otlp

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/stopscope/stopscope/analytics"
)

var mt0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// metricSpec is one metric of a test export.
type metricSpec struct {
	name  string
	kind  pmetric.MetricType
	temp  pmetric.AggregationTemporality
	pts   []pointSpec
	scope string
}

type pointSpec struct {
	attrs      map[string]string
	value      float64
	intValue   int64
	isInt      bool
	noValue    bool
	noRecorded bool
	start, end time.Duration // after mt0
}

func buildMetrics(service string, ms ...metricSpec) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	for _, m := range ms {
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(m.scope)
		om := sm.Metrics().AppendEmpty()
		om.SetName(m.name)
		var dps pmetric.NumberDataPointSlice
		switch m.kind {
		case pmetric.MetricTypeGauge:
			dps = om.SetEmptyGauge().DataPoints()
		default:
			s := om.SetEmptySum()
			s.SetAggregationTemporality(m.temp)
			s.SetIsMonotonic(true)
			dps = s.DataPoints()
		}
		for _, p := range m.pts {
			dp := dps.AppendEmpty()
			for k, v := range p.attrs {
				dp.Attributes().PutStr(k, v)
			}
			switch {
			case p.noValue:
			case p.isInt:
				dp.SetIntValue(p.intValue)
			default:
				dp.SetDoubleValue(p.value)
			}
			if p.noRecorded {
				dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
			}
			dp.SetStartTimestamp(pcommon.NewTimestampFromTime(mt0.Add(p.start)))
			dp.SetTimestamp(pcommon.NewTimestampFromTime(mt0.Add(p.end)))
		}
	}
	return md
}

func sess(typ string) map[string]string {
	m := map[string]string{"session.id": "s1", "user.id": "u1", "model": "claude-sonnet-4-6", "query_source": "main"}
	if typ != "" {
		m["type"] = typ
	}
	return m
}

func TestMetrics(t *testing.T) {
	const cc = "com.anthropic.claude_code"
	delta, cumul := pmetric.AggregationTemporalityDelta, pmetric.AggregationTemporalityCumulative
	tests := []struct {
		name         string
		md           pmetric.Metrics
		want         []analytics.MetricPoint // Series left out
		wantRejected int
		wantMsg      string
	}{
		{
			name: "delta tokens and cost",
			md: buildMetrics("claude-code",
				metricSpec{name: "claude_code.token.usage", scope: cc, temp: delta, pts: []pointSpec{
					{attrs: sess("input"), value: 12, start: 0, end: time.Second},
					{attrs: sess("output"), isInt: true, intValue: 9, start: 0, end: time.Second},
				}},
				metricSpec{name: "claude_code.cost.usage", scope: cc, temp: delta, pts: []pointSpec{
					{attrs: sess(""), value: 0.000171, start: 0, end: time.Second},
				}},
			),
			want: []analytics.MetricPoint{
				{App: "claude-code", SessionID: "s1", UserID: "u1", Model: "claude-sonnet-4-6", Metric: analytics.ProducerTokens, Type: "input", Delta: true, Start: mt0, End: mt0.Add(time.Second), Value: 12},
				{App: "claude-code", SessionID: "s1", UserID: "u1", Model: "claude-sonnet-4-6", Metric: analytics.ProducerTokens, Type: "output", Delta: true, Start: mt0, End: mt0.Add(time.Second), Value: 9},
				{App: "claude-code", SessionID: "s1", UserID: "u1", Model: "claude-sonnet-4-6", Metric: analytics.ProducerCost, Delta: true, Start: mt0, End: mt0.Add(time.Second), Value: 0.000171},
			},
		},
		{
			name: "cumulative is read as cumulative",
			md: buildMetrics("cc", metricSpec{name: "claude_code.token.usage", scope: cc, temp: cumul, pts: []pointSpec{
				{attrs: sess("cacheRead"), value: 40, start: 0, end: time.Minute},
			}}),
			want: []analytics.MetricPoint{
				{App: "cc", SessionID: "s1", UserID: "u1", Model: "claude-sonnet-4-6", Metric: analytics.ProducerTokens, Type: "cacheRead", Start: mt0, End: mt0.Add(time.Minute), Value: 40},
			},
		},
		{
			name: "other metrics and producers are skipped",
			md: buildMetrics("web",
				metricSpec{name: "claude_code.session.count", scope: cc, temp: delta, pts: []pointSpec{{attrs: sess(""), value: 1, end: time.Second}}},
				metricSpec{name: "http.server.request.duration", scope: "go.opentelemetry.io/otel", kind: pmetric.MetricTypeGauge, pts: []pointSpec{{value: 3, end: time.Second}}},
				metricSpec{name: "claude_code.token.usage", scope: cc, temp: delta, pts: []pointSpec{{attrs: sess("input"), noRecorded: true, noValue: true, end: time.Second}}},
			),
		},
		{
			name: "unusable points are rejected",
			md: buildMetrics("cc",
				metricSpec{name: "claude_code.token.usage", scope: cc, kind: pmetric.MetricTypeGauge, pts: []pointSpec{{attrs: sess("input"), value: 1, end: time.Second}}},
				metricSpec{name: "claude_code.cost.usage", scope: cc, temp: pmetric.AggregationTemporalityUnspecified, pts: []pointSpec{{attrs: sess(""), value: 1, end: time.Second}}},
				metricSpec{name: "claude_code.token.usage", scope: cc, temp: delta, pts: []pointSpec{
					{attrs: sess(""), value: 1, end: time.Second},
					{attrs: sess("input"), value: -1, end: time.Second},
					{attrs: sess("input"), noValue: true, end: time.Second},
					{attrs: sess("input"), value: 1, start: time.Minute, end: time.Second},
					{attrs: map[string]string{"type": "input", "session.id": strings.Repeat("s", 257)}, value: 1, end: time.Second},
					{attrs: sess("input"), value: 1, end: 200 * 365 * 24 * time.Hour},
				}},
			),
			wantRejected: 8,
			wantMsg:      "8 data point(s) rejected: claude_code.token.usage must be a sum, not a Gauge",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts, rejected, msg := Metrics(tc.md)
			if rejected != tc.wantRejected || msg != tc.wantMsg {
				t.Errorf("rejected %d %q, want %d %q", rejected, msg, tc.wantRejected, tc.wantMsg)
			}
			if len(pts) != len(tc.want) {
				t.Fatalf("%d points, want %d: %+v", len(pts), len(tc.want), pts)
			}
			for i, p := range pts {
				if p.Series == "" {
					t.Errorf("point %d has no series", i)
				}
				p.Series = ""
				if p != tc.want[i] {
					t.Errorf("point %d = %+v\nwant %+v", i, p, tc.want[i])
				}
			}
		})
	}
}

// TestMetricsSeries checks that a series keeps its id across exports and
// that series differing in any attribute get different ids.
func TestMetricsSeries(t *testing.T) {
	const cc = "com.anthropic.claude_code"
	mk := func(src string, v float64, end time.Duration) pmetric.Metrics {
		a := sess("input")
		a["query_source"] = src
		return buildMetrics("claude-code", metricSpec{name: "claude_code.token.usage", scope: cc,
			temp: pmetric.AggregationTemporalityCumulative, pts: []pointSpec{{attrs: a, value: v, end: end}}})
	}
	a, _, _ := Metrics(mk("main", 1, time.Second))
	b, _, _ := Metrics(mk("main", 5, time.Minute))
	c, _, _ := Metrics(mk("compact", 1, time.Second))
	if a[0].Series != b[0].Series {
		t.Errorf("one series, two ids: %s, %s", a[0].Series, b[0].Series)
	}
	if a[0].Series == c[0].Series {
		t.Errorf("two series, one id %s", a[0].Series)
	}
}

func TestProducer(t *testing.T) {
	tests := []struct {
		service, scope, want string
	}{
		{"claudecode-http-json-end_turn", "com.anthropic.claude_code.tracing", ProducerClaudeCode},
		{"x", "com.anthropic.claude_code", ProducerClaudeCode},
		{"claude-code", "", ProducerClaudeCode},
		{"agentsdk-oi", "@arizeai/openinference-instrumentation-claude-agent-sdk", ProducerAgentSDK},
		{"app", "openinference.instrumentation.claude_agent_sdk", ProducerAgentSDK},
		{"app", "openinference.instrumentation.anthropic", ProducerOpenInference},
		{"support-bot", "@traceloop/instrumentation-anthropic", ProducerOpenLLMetry},
		{"app", "opentelemetry.instrumentation.anthropic", ProducerOpenLLMetry},
		{"app", "com.anthropic.sdk.go", ProducerAnthropicSDK},
		{"claude-platform", "com.anthropic.claude-platform", ProducerClaudePlatform},
		{"claude-platform", "", ProducerClaudePlatform},
		{"app", "github.com/stopscope/stopscope/ingest/otelclaude", ProducerOtelclaude},
		{"app", "go.opentelemetry.io/contrib/net/http", ProducerOther},
	}
	for _, tc := range tests {
		res := pcommon.NewMap()
		res.PutStr("service.name", tc.service)
		if got := Producer(res, tc.scope); got != tc.want {
			t.Errorf("Producer(%s, %s) = %s, want %s", tc.service, tc.scope, got, tc.want)
		}
	}
	md := buildMetrics("claude-code",
		metricSpec{name: "a", scope: "com.anthropic.claude_code", temp: pmetric.AggregationTemporalityDelta},
		metricSpec{name: "b", scope: "com.anthropic.claude_code", temp: pmetric.AggregationTemporalityDelta},
		metricSpec{name: "c", scope: "go.opentelemetry.io/otel/runtime", temp: pmetric.AggregationTemporalityDelta})
	if got := strings.Join(MetricsProducers(md), ","); got != "claude-code" {
		// service.name claude-code makes the runtime scope Claude Code's too.
		t.Errorf("MetricsProducers = %s", got)
	}
}

// FuzzMetricsJSON checks that any metric export decodes without panicking
// and gives only points the store can take.
func FuzzMetricsJSON(f *testing.F) {
	seed, err := pmetricotlp.NewExportRequestFromMetrics(buildMetrics("claude-code",
		metricSpec{name: "claude_code.token.usage", scope: "com.anthropic.claude_code", temp: pmetric.AggregationTemporalityDelta,
			pts: []pointSpec{{attrs: sess("input"), value: 12, end: time.Second}}},
		metricSpec{name: "claude_code.cost.usage", scope: "com.anthropic.claude_code", temp: pmetric.AggregationTemporalityCumulative,
			pts: []pointSpec{{attrs: sess(""), value: 0.1, end: time.Second}}})).MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"claude_code.token.usage","sum":{"aggregationTemporality":1,"dataPoints":[{"timeUnixNano":"1","asDouble":-1}]}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req := pmetricotlp.NewExportRequest()
		if req.UnmarshalJSON(data) != nil {
			return
		}
		pts, rejected, msg := Metrics(req.Metrics())
		if (rejected > 0) != (msg != "") {
			t.Errorf("rejected %d with message %q", rejected, msg)
		}
		for _, p := range pts {
			if p.Series == "" || p.End.IsZero() || p.End.Year() >= 2200 || len(p.SessionID) > MaxPointText || p.Value < 0 || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) ||
				(p.Metric == analytics.ProducerTokens && p.Type == "") || (!p.Start.IsZero() && p.End.Before(p.Start)) {
				t.Errorf("unusable point %+v", p)
			}
		}
	})
}
