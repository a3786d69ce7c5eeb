package otlp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/stopscope/stopscope/analytics"
)

// The metrics of Claude Code that Metrics keeps.
const (
	metricTokenUsage = "claude_code.token.usage"
	metricCostUsage  = "claude_code.cost.usage"
)

// Metrics reads the producer totals in md: the data points of Claude Code's
// claude_code.token.usage (one per token type) and claude_code.cost.usage,
// per session (session.id), with the user, model and token type their
// attributes name. Each point says whether it is a delta or cumulative, as
// its sum's aggregation temporality does: Claude Code exports delta or
// cumulative depending on the exporter's settings, and the store adds up
// deltas and keeps the latest cumulative value per series. Every other
// metric, of Claude Code or of any other producer, is accepted and
// skipped. rejected counts the points of the kept metrics that cannot be
// used (not a sum, no temporality, no value, negative, not a number, a
// token point without a type, a time after 2200, a text over
// MaxPointText) and rejectMsg says why ("" when none).
func Metrics(md pmetric.Metrics) (pts []analytics.MetricPoint, rejected int, rejectMsg string) {
	var why string
	reject := func(n int, reason string) {
		rejected += n
		if why == "" {
			why = reason
		}
	}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		resAttrs := rm.Resource().Attributes()
		res := readResource(resAttrs)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			sm := rm.ScopeMetrics().At(j)
			for k := 0; k < sm.Metrics().Len(); k++ {
				m := sm.Metrics().At(k)
				var metric analytics.ProducerMetric
				switch m.Name() {
				case metricTokenUsage:
					metric = analytics.ProducerTokens
				case metricCostUsage:
					metric = analytics.ProducerCost
				default:
					continue
				}
				if m.Type() != pmetric.MetricTypeSum {
					reject(dataPoints(m), fmt.Sprintf("%s must be a sum, not a %s", m.Name(), m.Type()))
					continue
				}
				sum := m.Sum()
				var delta bool
				switch sum.AggregationTemporality() {
				case pmetric.AggregationTemporalityDelta:
					delta = true
				case pmetric.AggregationTemporalityCumulative:
				default:
					reject(sum.DataPoints().Len(), m.Name()+" has no aggregation temporality")
					continue
				}
				for d := 0; d < sum.DataPoints().Len(); d++ {
					dp := sum.DataPoints().At(d)
					if dp.Flags().NoRecordedValue() {
						continue
					}
					p, reason := point(dp, res, metric, delta)
					if reason != "" {
						reject(1, m.Name()+": "+reason)
						continue
					}
					p.Series = seriesID(resAttrs, sm.Scope().Name(), m.Name(), dp.Attributes())
					pts = append(pts, p)
				}
			}
		}
	}
	if rejected > 0 {
		rejectMsg = fmt.Sprintf("%d data point(s) rejected: %s", rejected, why)
	}
	return pts, rejected, rejectMsg
}

// point reads one data point, or says why it cannot be used.
func point(dp pmetric.NumberDataPoint, res resource, metric analytics.ProducerMetric, delta bool) (analytics.MetricPoint, string) {
	var v float64
	switch dp.ValueType() {
	case pmetric.NumberDataPointValueTypeDouble:
		v = dp.DoubleValue()
	case pmetric.NumberDataPointValueTypeInt:
		v = float64(dp.IntValue())
	default:
		return analytics.MetricPoint{}, "a data point has no value"
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return analytics.MetricPoint{}, fmt.Sprintf("a data point's value %v is not a count", v)
	}
	if dp.Timestamp() == 0 {
		return analytics.MetricPoint{}, "a data point has no time"
	}
	attrs := dp.Attributes()
	p := analytics.MetricPoint{
		App: res.app, Environment: res.env, Metric: metric, Delta: delta, Value: v,
		SessionID: attrString(attrs, "session.id"),
		UserID:    attrString(attrs, "user.id"),
		Model:     attrString(attrs, "model"),
		End:       dp.Timestamp().AsTime().UTC(),
	}
	if dp.StartTimestamp() != 0 {
		p.Start = dp.StartTimestamp().AsTime().UTC()
	}
	if e := attrString(attrs, "deployment.environment.name"); e != "" && p.Environment == "" {
		p.Environment = e
	}
	if metric == analytics.ProducerTokens {
		p.Type = attrString(attrs, "type")
		if p.Type == "" {
			return analytics.MetricPoint{}, "a token data point has no type attribute"
		}
	}
	if !p.Start.IsZero() && p.End.Before(p.Start) {
		return analytics.MetricPoint{}, "a data point ends before it starts"
	}
	if p.End.Year() >= 2200 {
		return analytics.MetricPoint{}, "a data point's time is after 2200"
	}
	for _, f := range []string{p.App, p.Environment, p.SessionID, p.UserID, p.Model, p.Type} {
		if len(f) > MaxPointText {
			return analytics.MetricPoint{}, fmt.Sprintf("a data point's session, user, model, type or app is over %d bytes", MaxPointText)
		}
	}
	return p, ""
}

// MaxPointText bounds each text a producer point keeps (app, environment,
// session, user, model, token type): the store refuses longer ones.
const MaxPointText = 256

func attrString(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func dataPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// seriesID hashes what identifies a series in OpenTelemetry: the resource,
// the scope, the metric's name and the point's attributes, each set in key
// order, so that the same series has the same id in every export.
func seriesID(res pcommon.Map, scope, name string, attrs pcommon.Map) string {
	h := fnv.New128a()
	write := func(s string) {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	writeMap := func(m pcommon.Map) {
		keys := make([]string, 0, m.Len())
		m.Range(func(k string, _ pcommon.Value) bool {
			keys = append(keys, k)
			return true
		})
		sort.Strings(keys)
		write(fmt.Sprint(len(keys)))
		for _, k := range keys {
			v, _ := m.Get(k)
			write(k)
			write(v.Type().String() + ":" + v.AsString())
		}
	}
	writeMap(res)
	write(scope)
	write(name)
	writeMap(attrs)
	return hex.EncodeToString(h.Sum(nil))
}

// The producers Producer names.
const (
	ProducerClaudeCode     = "claude-code"
	ProducerAgentSDK       = "agent-sdk"
	ProducerOpenLLMetry    = "openllmetry"
	ProducerOpenInference  = "openinference"
	ProducerAnthropicSDK   = "anthropic-sdk"
	ProducerClaudePlatform = "claude-platform"
	ProducerOtelclaude     = "otelclaude"
	ProducerOther          = "other"
)

// Producer names what sent a resource's telemetry, from its instrumentation
// scope and its resource attributes: Claude Code (scopes
// com.anthropic.claude_code*, or service.name claude-code), the OpenInference
// instrumentation of the Claude Agent SDK, other OpenInference and
// OpenLLMetry (Traceloop) instrumentations, the Anthropic SDKs' own spans
// (com.anthropic.sdk.*), the Claude API's spans (service.name or scope
// claude-platform), stopscope's otelclaude middleware, or "other".
func Producer(res pcommon.Map, scope string) string {
	s := strings.ToLower(scope)
	switch {
	case strings.HasPrefix(s, "com.anthropic.claude_code"):
		return ProducerClaudeCode
	case strings.HasPrefix(s, "com.anthropic.claude-platform"):
		return ProducerClaudePlatform
	case strings.HasPrefix(s, "com.anthropic.sdk"):
		return ProducerAnthropicSDK
	case strings.Contains(s, "openinference") && strings.Contains(strings.ReplaceAll(s, "_", "-"), "claude-agent-sdk"):
		return ProducerAgentSDK
	case strings.Contains(s, "openinference"):
		return ProducerOpenInference
	case strings.Contains(s, "traceloop") || strings.HasPrefix(s, "opentelemetry.instrumentation."):
		return ProducerOpenLLMetry
	case s == "github.com/stopscope/stopscope/ingest/otelclaude":
		return ProducerOtelclaude
	}
	switch attrString(res, "service.name") {
	case "claude-code":
		return ProducerClaudeCode
	case "claude-platform":
		return ProducerClaudePlatform
	}
	return ProducerOther
}

// Producers lists every producer Producer can name, in display order.
var Producers = []string{
	ProducerClaudeCode, ProducerAgentSDK, ProducerOpenLLMetry, ProducerOpenInference,
	ProducerAnthropicSDK, ProducerClaudePlatform, ProducerOtelclaude, ProducerOther,
}

// TracesProducers, LogsProducers and MetricsProducers name the producers
// of an export's scopes, once each, in the order they appear.
func TracesProducers(td ptrace.Traces) []string {
	var ps producerSet
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ps.add(Producer(rs.Resource().Attributes(), rs.ScopeSpans().At(j).Scope().Name()))
		}
	}
	return ps
}

// LogsProducers names the producers of a log export; see TracesProducers.
func LogsProducers(ld plog.Logs) []string {
	var ps producerSet
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			ps.add(Producer(rl.Resource().Attributes(), rl.ScopeLogs().At(j).Scope().Name()))
		}
	}
	return ps
}

// MetricsProducers names the producers of a metric export; see
// TracesProducers.
func MetricsProducers(md pmetric.Metrics) []string {
	var ps producerSet
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		for j := 0; j < rm.ScopeMetrics().Len(); j++ {
			ps.add(Producer(rm.Resource().Attributes(), rm.ScopeMetrics().At(j).Scope().Name()))
		}
	}
	return ps
}

type producerSet []string

func (ps *producerSet) add(p string) {
	if !slices.Contains(*ps, p) {
		*ps = append(*ps, p)
	}
}
