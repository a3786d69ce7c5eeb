package bench

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/demo"
	"github.com/stopscope/stopscope/ingest"
)

// idMarker is what every id the demo generator makes contains: the bench
// overwrites the four bytes after it with a per-request counter so that
// each request it sends carries ids never seen before, without re-encoding
// the payload.
const idMarker = demo.IDMarker

// template is one request body and where its ids' markers are.
type template struct {
	body    []byte
	marks   []int // offsets of the 4 bytes after "_"
	records int

	// times are the offsets of the span timestamps of an OTLP body
	// (fixed64, little-endian nanoseconds), written at base: stamp moves
	// them to the time it runs, as live spans carry, rather than send the
	// same times again and again.
	times []int
	base  int64
}

func newTemplate(body []byte, records int) template {
	t := template{body: body, records: records}
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(idMarker))
		if j < 0 {
			break
		}
		t.marks = append(t.marks, i+j+1)
		i += j + len(idMarker)
	}
	return t
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// stamp copies t's body into buf with every marker replaced by a 4-byte
// encoding of n, and returns it.
func (t template) stamp(buf []byte, n uint64) []byte {
	buf = append(buf[:0], t.body...)
	var tag [4]byte
	for i := 3; i >= 0; i-- {
		tag[i] = base62[n%62]
		n /= 62
	}
	for _, off := range t.marks {
		copy(buf[off:off+4], tag[:])
	}
	if len(t.times) > 0 {
		shift := uint64(time.Now().UnixNano() - t.base)
		for _, off := range t.times {
			v := binary.LittleEndian.Uint64(buf[off:])
			binary.LittleEndian.PutUint64(buf[off:], v+shift)
		}
	}
	return buf
}

// spanTimeOffsets returns the offsets in body, an encoded OTLP export, of
// the 8 bytes of every span start and end time in times: a byte that is
// the tag of field 7 or 8 as fixed64 (0x39, 0x41) followed by one of them.
func spanTimeOffsets(body []byte, times map[uint64]bool) []int {
	var offs []int
	for i := 0; i+9 <= len(body); i++ {
		if (body[i] == 0x39 || body[i] == 0x41) && times[binary.LittleEndian.Uint64(body[i+1:])] {
			offs = append(offs, i+1)
			i += 8
		}
	}
	return offs
}

// benchEnvelopes returns n envelopes of the demo's realistic mix (support
// chats, agent loops with tools, truncated summaries, web search pauses,
// stop sequences, cut streams, Agent SDK results, API errors; about half
// streamed), as compact JSON lines, in the hour before now. Times are left
// out, as live traffic stamped on arrival.
func benchEnvelopes(seed uint64, now time.Time, n int) [][]byte {
	return demo.Envelopes(seed, now, n, time.Hour, false)
}

// nativeTemplates packs lines into count NDJSON bodies of batch records.
func nativeTemplates(lines [][]byte, batch, count int) []template {
	var out []template
	k := 0
	for range count {
		var b bytes.Buffer
		for range batch {
			b.Write(lines[k%len(lines)])
			b.WriteByte('\n')
			k++
		}
		out = append(out, newTemplate(b.Bytes(), batch))
	}
	return out
}

// decodeLines decodes and classifies envelopes as the ingest handler does.
func decodeLines(lines [][]byte, now time.Time) ([]*analytics.Record, error) {
	body := bytes.Join(lines, []byte("\n"))
	recs, rej, err := ingest.DecodeBatch(body, "application/x-ndjson", ingest.Options{Now: now})
	if err != nil {
		return nil, err
	}
	if len(rej) > 0 {
		return nil, fmt.Errorf("bench payload rejected: %s", rej[0].Error)
	}
	for _, r := range recs {
		analytics.Classify(r)
	}
	return recs, nil
}

// otlpTemplates builds count OTLP/HTTP protobuf export requests of batch
// GenAI client spans each, from recs: one resource per app and
// environment, spans with the attribute set current GenAI instrumentations
// write (operation, provider, request and response model, response id,
// finish reasons, usage with cache counts, conversation and user ids, max
// tokens, stream flag, and the opt-in input and output messages), and
// error spans with error.type and the HTTP status.
func otlpTemplates(recs []*analytics.Record, batch, count int) ([]template, error) {
	var out []template
	k := 0
	rng := rand.New(rand.NewPCG(7, 7))
	for range count {
		times := map[uint64]bool{}
		td := ptrace.NewTraces()
		scopes := map[string]ptrace.SpanSlice{}
		for range batch {
			r := recs[k%len(recs)]
			k++
			key := r.App + "\x00" + r.Environment
			spans, ok := scopes[key]
			if !ok {
				rs := td.ResourceSpans().AppendEmpty()
				ra := rs.Resource().Attributes()
				ra.PutStr("service.name", r.App)
				ra.PutStr("deployment.environment.name", r.Environment)
				ra.PutStr("telemetry.sdk.language", "python")
				ra.PutStr("telemetry.sdk.name", "opentelemetry")
				ss := rs.ScopeSpans().AppendEmpty()
				ss.Scope().SetName("opentelemetry.instrumentation.anthropic")
				ss.Scope().SetVersion("0.40.0")
				spans = ss.Spans()
				scopes[key] = spans
			}
			sp := spans.AppendEmpty()
			genAISpan(sp, r, rng, k)
			times[uint64(sp.StartTimestamp())], times[uint64(sp.EndTimestamp())] = true, true
		}
		base := time.Now().UnixNano() // the spans ended by now
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			return nil, err
		}
		t := newTemplate(body, batch)
		t.times, t.base = spanTimeOffsets(body, times), base
		if len(t.times) != 2*batch {
			return nil, fmt.Errorf("found %d span times in an export of %d spans", len(t.times), batch)
		}
		out = append(out, t)
	}
	return out, nil
}

// genAISpan writes r as a GenAI client span.
func genAISpan(sp ptrace.Span, r *analytics.Record, rng *rand.Rand, k int) {
	var tid [16]byte
	var sid [8]byte
	for i := range tid {
		tid[i] = byte(rng.Uint32())
	}
	for i := range sid {
		sid[i] = byte(rng.Uint32())
	}
	sp.SetTraceID(pcommon.TraceID(tid))
	sp.SetSpanID(pcommon.SpanID(sid))
	sp.SetName("chat " + r.Model)
	sp.SetKind(ptrace.SpanKindClient)
	start := time.Now().Add(-time.Duration(r.LatencyMS) * time.Millisecond)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(r.LatencyMS) * time.Millisecond)))
	a := sp.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", "anthropic")
	a.PutStr("gen_ai.system", "anthropic")
	model := r.Model
	if model == "" {
		model = "claude-opus-4-6"
	}
	a.PutStr("gen_ai.request.model", model)
	a.PutStr("server.address", "api.anthropic.com")
	a.PutInt("server.port", 443)
	if r.SessionID != "" {
		a.PutStr("gen_ai.conversation.id", r.SessionID)
	}
	if r.UserID != "" {
		a.PutStr("user.id", r.UserID)
	}
	if r.Req != nil {
		if r.Req.MaxTokens > 0 {
			a.PutInt("gen_ai.request.max_tokens", r.Req.MaxTokens)
		}
		ss := a.PutEmptySlice("gen_ai.request.stop_sequences")
		for _, s := range r.Req.StopSequences {
			ss.AppendEmpty().SetStr(s)
		}
		a.PutStr("gen_ai.input.messages", inputMessages(r.Req))
	}
	a.PutBool("gen_ai.request.stream", r.Streamed)
	id := r.RequestID
	if id == "" {
		id = fmt.Sprintf("req_demo%06d", k)
	}
	a.PutStr("anthropic.request.id", id)
	if r.Kind == analytics.KindError {
		a.PutStr("error.type", r.ErrorType)
		a.PutInt("http.response.status_code", int64(r.HTTPStatus))
		sp.Status().SetCode(ptrace.StatusCodeError)
		sp.Status().SetMessage(r.ErrorMessage)
		return
	}
	msgID := r.MessageID
	if msgID == "" {
		msgID = fmt.Sprintf("msg_demo%06d", k)
	}
	a.PutStr("gen_ai.response.id", msgID)
	a.PutStr("gen_ai.response.model", model)
	if r.StopReason != analytics.StopNull {
		a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr(string(r.StopReason))
	}
	a.PutInt("gen_ai.usage.input_tokens", r.Usage.InputTokens+r.Usage.CacheReadInputTokens+r.Usage.CacheCreationInputTokens)
	a.PutInt("gen_ai.usage.output_tokens", r.Usage.OutputTokens)
	a.PutInt("gen_ai.usage.cache_read.input_tokens", r.Usage.CacheReadInputTokens)
	a.PutInt("gen_ai.usage.cache_creation.input_tokens", r.Usage.CacheCreationInputTokens)
	a.PutStr("gen_ai.output.messages", outputMessages(r))
}

// inputMessages writes a request summary as gen_ai.input.messages JSON.
func inputMessages(req *analytics.Request) string {
	type part struct {
		Type    string `json:"type"`
		Content string `json:"content,omitempty"`
		Name    string `json:"name,omitempty"`
	}
	type msg struct {
		Role  string `json:"role"`
		Parts []part `json:"parts"`
	}
	var ms []msg
	for _, m := range req.Messages {
		out := msg{Role: m.Role, Parts: []part{}}
		for _, b := range m.Blocks {
			switch b.Type {
			case "tool_result":
				out.Parts = append(out.Parts, part{Type: "tool_call_response", Content: b.Text})
			case "tool_use":
				out.Parts = append(out.Parts, part{Type: "tool_call", Name: b.Name})
			default:
				out.Parts = append(out.Parts, part{Type: "text", Content: b.Text})
			}
		}
		ms = append(ms, out)
	}
	b, _ := json.Marshal(ms)
	return string(b)
}

// outputMessages writes a response's content as gen_ai.output.messages.
func outputMessages(r *analytics.Record) string {
	var sb strings.Builder
	sb.WriteString(`[{"role":"assistant","parts":[`)
	for i, b := range r.Content {
		if i > 0 {
			sb.WriteByte(',')
		}
		if b.Type == "tool_use" || b.Type == "server_tool_use" {
			j, _ := json.Marshal(map[string]any{"type": "tool_call", "name": b.Name})
			sb.Write(j)
			continue
		}
		j, _ := json.Marshal(map[string]any{"type": "text", "content": b.Text})
		sb.Write(j)
	}
	fr := string(r.StopReason)
	j, _ := json.Marshal(fr)
	sb.WriteString(`],"finish_reason":`)
	sb.Write(j)
	sb.WriteString(`}]`)
	return sb.String()
}
