package otlp

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// batchSpans is the size of the large benchmark batch.
const batchSpans = 1000

// genAIBatch builds n GenAI client spans with the attribute set current
// instrumentations write (as cmd/dashboard's load benchmark sends them):
// operation, provider, request and response model, response id, finish
// reasons, usage with cache counts, conversation and user ids, max tokens,
// stream flag, and input and output messages as JSON of a few hundred bytes
// to a few KB. About one span in thirty is an API error. Spans are grouped
// under a few resources (app and environment).
func genAIBatch(n int) ptrace.Traces {
	rng := rand.New(rand.NewPCG(1, 2))
	td := ptrace.NewTraces()
	apps := []string{"support-bot", "research-agent", "summarizer"}
	envs := []string{"prod", "staging"}
	scopes := map[string]ptrace.SpanSlice{}
	models := []string{"claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5"}
	reasons := []string{"end_turn", "end_turn", "end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal", "pause_turn"}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for k := range n {
		app, env := apps[k%len(apps)], envs[(k/len(apps))%len(envs)]
		key := app + "/" + env
		spans, ok := scopes[key]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			ra := rs.Resource().Attributes()
			ra.PutStr("service.name", app)
			ra.PutStr("deployment.environment.name", env)
			ra.PutStr("telemetry.sdk.language", "python")
			ra.PutStr("telemetry.sdk.name", "opentelemetry")
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("opentelemetry.instrumentation.anthropic")
			ss.Scope().SetVersion("0.40.0")
			spans = ss.Spans()
			scopes[key] = spans
		}
		sp := spans.AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		for i := range tid {
			tid[i] = byte(rng.Uint32())
		}
		for i := range sid {
			sid[i] = byte(rng.Uint32())
		}
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		model := models[rng.IntN(len(models))]
		sp.SetName("chat " + model)
		sp.SetKind(ptrace.SpanKindClient)
		t := start.Add(time.Duration(k) * time.Second)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t.Add(time.Duration(300+rng.IntN(20000)) * time.Millisecond)))

		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "anthropic")
		a.PutStr("gen_ai.system", "anthropic")
		a.PutStr("gen_ai.request.model", model)
		a.PutStr("server.address", "api.anthropic.com")
		a.PutInt("server.port", 443)
		a.PutStr("gen_ai.conversation.id", fmt.Sprintf("sess_%04d", k/4))
		a.PutStr("user.id", fmt.Sprintf("user_%03d", rng.IntN(200)))
		a.PutInt("gen_ai.request.max_tokens", int64(256<<rng.IntN(6)))
		stops := a.PutEmptySlice("gen_ai.request.stop_sequences")
		if rng.IntN(10) == 0 {
			stops.AppendEmpty().SetStr("END")
		}
		a.PutStr("gen_ai.input.messages", benchInput(rng))
		streamed := rng.IntN(2) == 0
		a.PutBool("gen_ai.request.stream", streamed)
		a.PutStr("anthropic.request.id", fmt.Sprintf("req_bench%06d", k))
		if k%30 == 29 {
			a.PutStr("error.type", "overloaded_error")
			a.PutInt("http.response.status_code", 529)
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage("Overloaded")
			continue
		}
		a.PutStr("gen_ai.response.id", fmt.Sprintf("msg_bench%06d", k))
		a.PutStr("gen_ai.response.model", model)
		reason := reasons[rng.IntN(len(reasons))]
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr(reason)
		read, write := int64(rng.IntN(4000)), int64(rng.IntN(500))
		a.PutInt("gen_ai.usage.input_tokens", int64(10+rng.IntN(3000))+read+write)
		a.PutInt("gen_ai.usage.output_tokens", int64(1+rng.IntN(2000)))
		a.PutInt("gen_ai.usage.cache_read.input_tokens", read)
		a.PutInt("gen_ai.usage.cache_creation.input_tokens", write)
		a.PutStr("gen_ai.output.messages", benchOutput(rng, reason))
	}
	return td
}

// benchWords makes prose of n words, with the odd character JSON escapes.
func benchWords(rng *rand.Rand, n int) string {
	words := []string{"the", "weather", "in", "Paris", "is", "mild", "today,", "and", "tomorrow", "\"rain\"",
		"is", "expected.", "Let", "me", "check", "the", "forecast", "for", "you", "—", "données", "\n"}
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[rng.IntN(len(words))])
	}
	return sb.String()
}

type benchPart struct {
	Type      string         `json:"type"`
	Content   string         `json:"content,omitempty"`
	ID        string         `json:"id,omitempty"`
	Name      string         `json:"name,omitempty"`
	Arguments map[string]any `json:"arguments,omitempty"`
	Response  string         `json:"response,omitempty"`
}

type benchMessage struct {
	Role         string      `json:"role"`
	Parts        []benchPart `json:"parts"`
	FinishReason string      `json:"finish_reason,omitempty"`
}

func benchJSON(ms []benchMessage) string {
	b, err := json.Marshal(ms)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// benchInput writes gen_ai.input.messages: a system prompt, a conversation
// of one to a few turns, sometimes with a tool call and its result.
func benchInput(rng *rand.Rand) string {
	ms := []benchMessage{{Role: "system", Parts: []benchPart{{Type: "text", Content: benchWords(rng, 20+rng.IntN(40))}}}}
	turns := 1 + rng.IntN(4)
	for i := range turns {
		ms = append(ms, benchMessage{Role: "user", Parts: []benchPart{{Type: "text", Content: benchWords(rng, 5+rng.IntN(80))}}})
		if i == turns-1 {
			break
		}
		if rng.IntN(2) == 0 {
			id := fmt.Sprintf("toolu_%d", rng.IntN(1e6))
			ms = append(ms,
				benchMessage{Role: "assistant", Parts: []benchPart{{Type: "text", Content: benchWords(rng, 8)},
					{Type: "tool_call", ID: id, Name: "get_weather", Arguments: map[string]any{"city": "Paris", "days": 3}}}},
				benchMessage{Role: "tool", Parts: []benchPart{{Type: "tool_call_response", ID: id, Response: benchWords(rng, 10+rng.IntN(30))}}})
		} else {
			ms = append(ms, benchMessage{Role: "assistant", Parts: []benchPart{{Type: "text", Content: benchWords(rng, 10+rng.IntN(60))}}})
		}
	}
	return benchJSON(ms)
}

// benchOutput writes gen_ai.output.messages for a response ending with reason.
func benchOutput(rng *rand.Rand, reason string) string {
	parts := []benchPart{{Type: "text", Content: benchWords(rng, 3+rng.IntN(150))}}
	if reason == "tool_use" {
		parts = append(parts, benchPart{Type: "tool_call", ID: "toolu_x", Name: "web_search", Arguments: map[string]any{"query": "forecast"}})
	}
	return benchJSON([]benchMessage{{Role: "assistant", Parts: parts, FinishReason: reason}})
}

// BenchmarkTracesBatch decodes and converts one export of batchSpans GenAI
// spans: "proto" as the receiver does (UnmarshalProto, then Traces),
// "convert" Traces alone.
func BenchmarkTracesBatch(b *testing.B) {
	td := genAIBatch(batchSpans)
	data, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("proto", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(data); err != nil {
				b.Fatal(err)
			}
			if recs, _, _ := Traces(req.Traces(), testNow); len(recs) != batchSpans {
				b.Fatalf("got %d records", len(recs))
			}
		}
		b.ReportMetric(float64(batchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
	})
	b.Run("convert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if recs, _, _ := Traces(td, testNow); len(recs) != batchSpans {
				b.Fatalf("got %d records", len(recs))
			}
		}
		b.ReportMetric(float64(batchSpans)*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
	})
}
