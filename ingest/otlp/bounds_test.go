package otlp

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// ts is a time as an OTLP timestamp, for times pcommon cannot convert.
func ts(year int) pcommon.Timestamp {
	return pcommon.Timestamp(uint64(time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Unix()) * 1e9)
}

// TestNumbersOutOfBounds checks that a span whose numbers are out of the
// bounds every way in shares is rejected on its own and named, and the good
// span beside it is kept.
func TestNumbersOutOfBounds(t *testing.T) {
	agent := func(kv ...any) map[string]any {
		m := map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "anthropic"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		bad  spanSpec
		want string
	}{
		{"negative tokens", spanSpec{attrs: anthropicSpan("gen_ai.usage.output_tokens", -5)},
			"usage.output_tokens is -5, below 0"},
		{"2^62 tokens", spanSpec{attrs: anthropicSpan("gen_ai.usage.input_tokens", int64(1)<<62)},
			"usage.input_tokens is 4611686018427387904, above the bound of 1000000000"},
		{"tokens a double of 1e300", spanSpec{attrs: anthropicSpan("gen_ai.usage.input_tokens", 1e300)},
			"attribute gen_ai.usage.input_tokens is 1e+300, not an integer within int64"},
		{"tokens a string of 1e300", spanSpec{attrs: anthropicSpan("llm.token_count.prompt", "1e300")},
			"attribute llm.token_count.prompt is 1e300, not an integer within int64"},
		{"tokens +Inf", spanSpec{attrs: anthropicSpan("gen_ai.usage.output_tokens", math.Inf(1))},
			"attribute gen_ai.usage.output_tokens is Infinity, not an integer within int64"},
		{"tokens NaN", spanSpec{attrs: anthropicSpan("gen_ai.usage.output_tokens", math.NaN())},
			"attribute gen_ai.usage.output_tokens is NaN, not an integer within int64"},
		{"cache tokens that overflow the sum", spanSpec{attrs: anthropicSpan("gen_ai.usage.input_tokens", 10,
			"gen_ai.usage.cache_read.input_tokens", int64(math.MaxInt64), "gen_ai.usage.cache_creation.input_tokens", 1)},
			"usage.cache_read_input_tokens is 9223372036854775807, above the bound of 1000000000"},
		{"compaction iterations that overflow the sum", spanSpec{attrs: anthropicSpan("output.value",
			`{"type":"message","usage":{"input_tokens":1,"output_tokens":1,"iterations":[`+
				`{"type":"compaction","input_tokens":9223372036854775807,"output_tokens":1},{"type":"compaction","input_tokens":2,"output_tokens":1}]}}`)},
			"usage.compaction_input_tokens is 9223372036854775807, above the bound of 1000000000"},
		{"max_tokens too large", spanSpec{attrs: anthropicSpan("gen_ai.request.max_tokens", int64(1)<<62)},
			"request.max_tokens is 4611686018427387904, above the bound of 1000000000"},
		{"cost NaN", spanSpec{attrs: agent("llm.cost.total", math.NaN())}, "total_cost_usd is NaN, not a finite number"},
		{"cost +Inf", spanSpec{attrs: agent("gen_ai.usage.cost", math.Inf(1))}, "total_cost_usd is +Inf, not a finite number"},
		{"cost negative", spanSpec{attrs: agent("gen_ai.usage.cost", -1.5)}, "total_cost_usd is -1.5, below 0"},
		{"cost 1e300", spanSpec{attrs: agent("gen_ai.usage.cost", 1e300)}, "total_cost_usd is 1e+300, above the bound of 1000000"},
		{"negative turns", spanSpec{attrs: agent("gen_ai.agent.num_turns", -3)}, "num_turns is -3, below 0"},
		{"duration 2^62", spanSpec{attrs: agent("gen_ai.agent.duration_ms", int64(1)<<62)},
			"duration_ms is 4611686018427387904, above the bound of 2592000000"},
		{"HTTP status out of range", spanSpec{attrs: anthropicSpan("http.response.status_code", int64(1)<<40)},
			"http_status 1099511627776 is not an HTTP status (100 to 599)"},
		{"latency over a day", spanSpec{attrs: anthropicSpan(), end: pcommon.NewTimestampFromTime(t0.Add(25 * time.Hour))},
			"latency_ms is 90000000, above the bound of 86400000"},
		{"start in the year 2300", spanSpec{attrs: anthropicSpan(), start: ts(2300), end: ts(2300) + 1e9},
			"time 2300-01-01T00:00:00Z is more than 24 hours after the server's clock (2030-01-02T03:04:05Z)"},
		{"start at the largest timestamp", spanSpec{attrs: anthropicSpan(), start: math.MaxUint64},
			"time 2554-07-21T23:34:33.709551615Z is more than 24 hours after the server's clock"},
		{"start in 2019", spanSpec{attrs: anthropicSpan(), start: ts(2019)},
			"time 2019-01-01T00:00:00Z is more than 10 years before the server's clock"},
		{"end in the year 2300", spanSpec{attrs: anthropicSpan(), end: ts(2300)},
			"latency_ms is 8641425600000, above the bound of 86400000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.bad.id = 7
			good := spanSpec{attrs: anthropicSpan("gen_ai.usage.input_tokens", 12, "gen_ai.usage.cost", 0.5), id: 8}
			recs, rejected, msg := Traces(traces(tt.bad, good), testNow)
			if rejected != 1 || len(recs) != 1 || recs[0].SpanID != "0000000000000008" {
				t.Fatalf("got %d records, %d rejected (%q); want the good one stored and the bad one rejected", len(recs), rejected, msg)
			}
			if !strings.HasPrefix(msg, "1 span(s) rejected: span 0000000000000007: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want it to name span 0000000000000007 and say %q", msg, tt.want)
			}
			if err := recs[0].CheckBounds(testNow); err != nil {
				t.Errorf("the good record is out of bounds: %v", err)
			}
		})
	}
}

// TestLogRecordOutOfBounds checks the same for an event of a log export.
func TestLogRecordOutOfBounds(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, tokens := range []any{int64(1) << 62, 12} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(eventInferenceDetails)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(t0))
		lr.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, byte(i + 1)})
		if err := lr.Attributes().FromRaw(anthropicSpan("gen_ai.usage.input_tokens", tokens)); err != nil {
			t.Fatal(err)
		}
	}
	recs, rejected, msg := Logs(ld, testNow)
	if rejected != 1 || len(recs) != 1 || recs[0].Usage.InputTokens != 12 {
		t.Fatalf("got %d records, %d rejected (%q)", len(recs), rejected, msg)
	}
	if want := `1 log record(s) rejected: log record of span "0000000000000001": usage.input_tokens is 4611686018427387904, above the bound of 1000000000`; msg != want {
		t.Errorf("message %q\nwant %q", msg, want)
	}
}

// TestRejectionMessageNamesTheFirstFew checks that an export with many bad
// spans names the first few and counts the rest.
func TestRejectionMessageNamesTheFirstFew(t *testing.T) {
	var specs []spanSpec
	for range 8 {
		specs = append(specs, spanSpec{attrs: anthropicSpan("gen_ai.usage.output_tokens", -1)})
	}
	_, rejected, msg := Traces(traces(specs...), testNow)
	if rejected != 8 || strings.Count(msg, "below 0") != maxRejectReasons || !strings.HasSuffix(msg, "; and 3 more") {
		t.Errorf("%d rejected: %q", rejected, msg)
	}
}

// TestProtobufNestingBounded checks what the mapping relies on for
// protobuf: pdata's decoder refuses attribute values nested past protobuf's
// depth of 100 messages, so reading one (AsString, AsRaw) never recurses
// without bound; OTLP/JSON is bounded by ingest.CheckJSONShape instead.
func TestProtobufNestingBounded(t *testing.T) {
	td := traces(spanSpec{attrs: anthropicSpan()})
	m := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutEmptyMap("deep")
	for range 1000 {
		m = m.PutEmptyMap("a")
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if err := ptraceotlp.NewExportRequest().UnmarshalProto(b); err == nil {
		t.Error("an export nested 1,000 deep was decoded")
	}
}
