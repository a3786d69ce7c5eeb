package otlp

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/testfixtures"
)

func FuzzTracesJSON(f *testing.F) {
	b := testfixtures.Read(f, captureJSON)
	f.Add(b)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","attributes":[{"key":"gen_ai.system","value":{"stringValue":"anthropic"}},{"key":"llm.input_messages.99999999999.message.role","value":{"intValue":"7"}}]}]}]}]}`))
	// Numbers past their bounds, in every type OTLP/JSON can write them.
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",` +
		`"startTimeUnixNano":"10413792000000000000","endTimeUnixNano":"18446744073709551615","attributes":[` +
		`{"key":"gen_ai.system","value":{"stringValue":"anthropic"}},{"key":"gen_ai.usage.input_tokens","value":{"doubleValue":1e300}},` +
		`{"key":"gen_ai.usage.output_tokens","value":{"intValue":"-9223372036854775808"}},{"key":"llm.token_count.prompt","value":{"stringValue":"NaN"}},` +
		`{"key":"gen_ai.usage.cost","value":{"doubleValue":"Infinity"}},{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}}]}]}]}]}`))
	// Attribute values nested to the limit that receivers check first.
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","attributes":[` +
		`{"key":"gen_ai.system","value":{"stringValue":"anthropic"}},{"key":"gen_ai.input.messages","value":` +
		strings.Repeat(`{"kvlistValue":{"values":[{"key":"a","value":`, 29) + `{}` + strings.Repeat(`}]}}`, 29) + `}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// What the receiver checks before decoding: without it, pdata's
		// JSON decoder recurses without limit.
		if ingest.CheckJSONShape(data) != nil {
			return
		}
		req := ptraceotlp.NewExportRequest()
		if req.UnmarshalJSON(data) != nil {
			return
		}
		checkTraces(t, req.Traces())
	})
}

// checkTraces decodes td and checks that every record is within the bounds
// every way in shares, and that each Claude span is a record or rejected.
func checkTraces(t *testing.T, td ptrace.Traces) {
	t.Helper()
	recs, rejected, msg := Traces(td, testNow)
	for _, r := range recs {
		if err := r.CheckBounds(testNow); err != nil {
			t.Errorf("an accepted record is out of bounds: %v", err)
		}
	}
	if rejected < 0 || rejected > td.SpanCount() || len(recs)+rejected > td.SpanCount() || (rejected > 0) != (msg != "") {
		t.Errorf("%d records and %d rejected (%q) of %d spans", len(recs), rejected, msg, td.SpanCount())
	}
}

func FuzzTracesProto(f *testing.F) {
	b := testfixtures.Read(f, captureProto)
	f.Add(b)
	// A small seed too: mutating the 24 KB capture alone is slow going.
	small, err := ptraceotlp.NewExportRequestFromTraces(traces(spanSpec{attrs: anthropicSpan(
		"anthropic.message.stop_reason", "end_turn", "gen_ai.usage.input_tokens", 5,
		"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"x"}]}]`)})).MarshalProto()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(small)
	// Numbers past their bounds and a time past 2262.
	hostile := traces(spanSpec{attrs: anthropicSpan("gen_ai.usage.input_tokens", 1e300, "gen_ai.usage.output_tokens", int64(1)<<62,
		"llm.token_count.prompt", "-1", "gen_ai.request.max_tokens", -7), start: 10413792000000000000})
	hostile.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutDouble("gen_ai.usage.cost", math.NaN())
	big, err := ptraceotlp.NewExportRequestFromTraces(hostile).MarshalProto()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(big)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := ptraceotlp.NewExportRequest()
		if req.UnmarshalProto(data) != nil {
			return
		}
		checkTraces(t, req.Traces())
	})
}

func BenchmarkTracesProto(b *testing.B) {
	data := testfixtures.Read(b, captureProto)
	spans := readCapture(b, captureProto).SpanCount()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			b.Fatal(err)
		}
		if recs, _, _ := Traces(req.Traces(), testNow); len(recs) != 11 {
			b.Fatalf("got %d records", len(recs))
		}
	}
	b.ReportMetric(float64(spans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// FuzzGenAIMessages checks that the fast reader of gen_ai.input.messages and
// gen_ai.output.messages gives what encoding/json gives, for any attribute.
func FuzzGenAIMessages(f *testing.F) {
	f.Add(`[{"role":"user","parts":[{"type":"text","content":"Hi \u00e9\ud83d\ude00"}]},{"role":"assistant","parts":[{"type":"tool_call","name":"f","id":"t1","arguments":{"a":1}}]},` +
		`{"role":"tool","parts":[{"type":"tool_call_response","response":{"ok":true}}]}]`)
	f.Add(`[{"role":"assistant","parts":[{"type":"text","content":"x"},null],"finish_reason":"stop"},null]`)
	f.Add(`[{"Role":"user","role":"tool","PARTS":[{"Type":"text","content":7,"result":"\ud800"}]}]`)
	f.Add(" [ {\"role\":null,\"parts\":null} ] \n")
	f.Add(`[{"role":"user","parts":[{"type":"text","content":"a\"b\\c\/d\n"}]}] x`)
	f.Fuzz(func(t *testing.T, s string) {
		type view struct {
			OK    bool
			Msgs  []genAIMessage
			Parts []genAIPart
			Texts []string
		}
		read := func(fast bool) (v view) {
			p := getGenAIScratch()
			defer p.release()
			if fast {
				v.OK = p.parse(s)
			} else {
				p.reset()
				p.validated = false
				v.OK = p.parseSlow(s)
			}
			v.Msgs, v.Parts = slices.Clone(p.msgs), slices.Clone(p.parts)
			// A pooled scratch keeps its (empty) slices and a new one has
			// none: sync.Pool decides which, at random under -race.
			if len(v.Msgs) == 0 {
				v.Msgs = nil
			}
			if len(v.Parts) == 0 {
				v.Parts = nil
			}
			for _, pt := range p.parts {
				v.Texts = append(v.Texts, p.rawText(pt.content), p.rawText(pt.response), p.rawText(pt.result))
			}
			return v
		}
		fast, slow := read(true), read(false)
		if !slow.OK {
			slow = view{} // what parse leaves on failure is not read
			fast = view{OK: fast.OK}
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("fast reader gives\n%+v\nencoding/json gives\n%+v", fast, slow)
		}
	})
}
