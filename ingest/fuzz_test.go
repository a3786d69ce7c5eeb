package ingest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

// FuzzDecodeBatch feeds DecodeBatch arbitrary bodies. It must never panic;
// every record it accepts must be whole (a valid kind, the native source, an
// app, a time) and must survive a JSON round trip; rejections must come in
// body order.
func FuzzDecodeBatch(f *testing.F) {
	var ndjson []string
	for _, name := range fixtureNames(f) {
		data := fixture(f, name)
		env := envelope(f, name, map[string]any{"app": "a", "time": "2025-05-31T08:30:00Z"})
		f.Add(env, false)
		ndjson = append(ndjson, string(env))
		if !strings.HasSuffix(name, ".sse") {
			f.Add(data, false)
		}
	}
	f.Add([]byte(strings.Join(ndjson, "\n")), true)
	f.Add([]byte("["+strings.Join(ndjson, ",")+"]"), false)
	f.Add(envelope(f, "messages/empty_end_turn.json", map[string]any{"request": json.RawMessage(fixture(f, "requests/text_after_tool_result.json"))}), true)
	f.Add([]byte(`{"type":"message"}`+"\n{bad\n"+`[{"type":"foo"}]`), true)
	f.Add([]byte(`[{"type":"message"},{"response":{},"stream":""},{x}]`), false)
	// Numbers at and past their bounds, and nesting past its limit.
	f.Add([]byte(`{"type":"message","usage":{"input_tokens":1000000000,"output_tokens":4611686018427387904}}`+"\n"+
		`{"latency_ms":1e300,"time":"2300-01-01T00:00:00Z","response":{"type":"message"}}`+"\n"+
		`{"type":"result","total_cost_usd":-1e-300,"num_turns":9223372036854775807,"duration_ms":2592000000.4}`), true)
	f.Add([]byte(`{"type":"message","content":[`+strings.Repeat("[", MaxJSONDepth)+strings.Repeat("]", MaxJSONDepth)+`]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		ctype := "application/json"
		if ndjson {
			ctype = "application/x-ndjson"
		}
		recs, rejected, err := DecodeBatch(body, ctype, Options{Now: testNow, Limits: Limits{MaxRecords: 100}})
		if err != nil {
			if code := analytics.ErrorCode(err); code != analytics.EInvalid && code != analytics.ETooLarge {
				t.Fatalf("error %v has code %s", err, code)
			}
			return
		}
		for _, rec := range recs {
			checkRecord(t, rec)
		}
		if !slices.IsSortedFunc(rejected, func(a, b Rejection) int { return a.Index - b.Index }) {
			t.Errorf("rejections out of order: %v", rejected)
		}
		for _, r := range rejected {
			if r.Error == "" {
				t.Errorf("rejection %d without an error", r.Index)
			}
		}
	})
}

// FuzzDecodeStream feeds DecodeStream arbitrary transcripts.
func FuzzDecodeStream(f *testing.F) {
	for _, name := range fixtureNames(f) {
		if strings.HasSuffix(name, ".sse") {
			f.Add(string(fixture(f, name)))
		}
	}
	f.Add("event: message_start\ndata: {\"type\":\"message_start\",\"message\":null}\n\n")
	f.Add("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":-1}\n\n")
	f.Fuzz(func(t *testing.T, transcript string) {
		rec, err := DecodeStream(transcript, Options{Now: testNow})
		if err != nil {
			return
		}
		checkRecord(t, rec)
		if !rec.Streamed || rec.StreamBody != transcript {
			t.Errorf("streamed %v, transcript kept %v", rec.Streamed, rec.StreamBody == transcript)
		}
	})
}

func checkRecord(t *testing.T, rec *analytics.Record) {
	t.Helper()
	if !slices.Contains(analytics.Kinds, rec.Kind) {
		t.Fatalf("record of kind %q", rec.Kind)
	}
	if rec.Source != Source || rec.App == "" || rec.Time.IsZero() {
		t.Errorf("record source %q app %q time %v", rec.Source, rec.App, rec.Time)
	}
	if err := rec.CheckBounds(testNow); err != nil {
		t.Errorf("an accepted record is out of bounds: %v", err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("record does not marshal: %v", err)
	}
	var back analytics.Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("record does not unmarshal: %v", err)
	}
	if back.StopReason != rec.StopReason || back.Kind != rec.Kind {
		t.Errorf("round trip changed the record: %q %q", back.StopReason, back.Kind)
	}
}

// FuzzFastPaths checks that the fast decoders (go-json-experiment/json for
// records, the hand-read SSE events and deltas for streams) give what
// encoding/json and the SDK's decoder give, errors included, for any body.
func FuzzFastPaths(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(envelope(f, name, map[string]any{"app": "a"}), false)
		f.Add(fixture(f, name), true)
	}
	f.Add(envelope(f, "messages/empty_end_turn.json", map[string]any{"request": json.RawMessage(fixture(f, "requests/text_after_tool_result.json"))}), false)
	f.Add([]byte(`{"type":"message","ROLE":"assistant","Stop_Reason":"end_turn","content":[{"type":"text","text":"\ud800"}]}`), false)
	f.Add([]byte(`{"type":"message","type":"message","usage":{"output_tokens":1.5}}`), true)
	f.Add([]byte(`{"type":"message","content":"x","usage":{"input_tokens":"3"}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		ctype := "application/json"
		if ndjson {
			ctype = "application/x-ndjson"
		}
		opts := Options{Now: testNow, Limits: Limits{MaxRecords: 100}}
		type result struct {
			Recs     []*analytics.Record
			Rejected []Rejection
			Err      string
		}
		decode := func(fast bool) (r result) {
			useFastJSON, useFastEvents = fast, fast
			defer func() { useFastJSON, useFastEvents = true, true }()
			var err error
			r.Recs, r.Rejected, err = DecodeBatch(body, ctype, opts)
			if err != nil {
				r.Err = err.Error()
			}
			return r
		}
		fast, slow := decode(true), decode(false)
		if !reflect.DeepEqual(fast, slow) {
			fj, _ := json.Marshal(fast)
			sj, _ := json.Marshal(slow)
			t.Errorf("fast paths give\n%s\nencoding/json gives\n%s", fj, sj)
		}
	})
}
