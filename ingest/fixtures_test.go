package ingest

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

// expectation is one entry of expected.json.
type expectation struct {
	StopReason   *string  `json:"stop_reason"`
	StopSequence string   `json:"stop_sequence"`
	Tools        []string `json:"tools"`
	Flags        []string `json:"flags"`
	Subtype      string   `json:"subtype"`
	// StopDetails is the stop_details kept, when the fixture has one.
	StopDetails *analytics.StopDetails `json:"stop_details"`
	// CompactionTokens are the compaction input and output tokens, when
	// the fixture's usage has compaction iterations.
	CompactionTokens []int64 `json:"compaction_tokens"`
	Error            *struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
	} `json:"error"`
}

func loadExpected(t *testing.T) map[string]expectation {
	t.Helper()
	var exp map[string]expectation
	if err := json.Unmarshal(fixture(t, "expected.json"), &exp); err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestExpected decodes every fixture, bare and in an envelope, and checks
// it against expected.json.
func TestExpected(t *testing.T) {
	exp := loadExpected(t)
	names := fixtureNames(t)
	for _, name := range names {
		if _, ok := exp[name]; !ok {
			t.Errorf("%s is not in expected.json", name)
		}
	}
	for name, want := range exp {
		if !slices.Contains(names, name) {
			t.Errorf("expected.json names %s, which is not a fixture", name)
			continue
		}
		ways := map[string]func() (*analytics.Record, error){
			"envelope": func() (*analytics.Record, error) { return DecodeRecord(envelope(t, name, nil), testOpts) },
			"batch envelope": func() (*analytics.Record, error) {
				return only(DecodeBatch(envelope(t, name, map[string]any{"app": "a"}), "application/x-ndjson", testOpts))
			},
		}
		if strings.HasSuffix(name, ".sse") {
			ways["bare"] = func() (*analytics.Record, error) { return DecodeStream(string(fixture(t, name)), testOpts) }
			ways["batch bare"] = func() (*analytics.Record, error) {
				return only(DecodeBatch(fixture(t, name), "text/event-stream; charset=utf-8", testOpts))
			}
		} else {
			ways["bare"] = func() (*analytics.Record, error) { return DecodeRecord(fixture(t, name), testOpts) }
			ways["batch bare"] = func() (*analytics.Record, error) {
				return only(DecodeBatch(fixture(t, name), "application/json", testOpts))
			}
		}
		if filepath.Dir(name) == "errors" {
			// An error body put straight under "error" recovers its status.
			ways["envelope without status"] = func() (*analytics.Record, error) {
				return DecodeRecord([]byte(`{"error":`+string(fixture(t, name))+`}`), testOpts)
			}
		}
		for way, decode := range ways {
			t.Run(name+"/"+way, func(t *testing.T) {
				rec, err := decode()
				if err != nil {
					t.Fatal(err)
				}
				checkExpectation(t, rec, name, want)
			})
		}
	}
}

// only returns the one record of a batch.
func only(recs []*analytics.Record, rejected []Rejection, err error) (*analytics.Record, error) {
	if err != nil {
		return nil, err
	}
	if len(rejected) > 0 || len(recs) != 1 {
		return nil, fmt.Errorf("want one record, got %d and rejections %v", len(recs), rejected)
	}
	return recs[0], nil
}

func checkExpectation(t *testing.T, rec *analytics.Record, name string, want expectation) {
	t.Helper()
	// The stop reason as the record's JSON writes it, so null is null.
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		StopReason *string `json:"stop_reason"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if show(got.StopReason) != show(want.StopReason) {
		t.Errorf("stop_reason = %s, want %s", show(got.StopReason), show(want.StopReason))
	}
	if rec.StopSequence != want.StopSequence {
		t.Errorf("stop_sequence = %q, want %q", rec.StopSequence, want.StopSequence)
	}
	if !slices.Equal(rec.Tools, want.Tools) {
		t.Errorf("tools = %q, want %q", rec.Tools, want.Tools)
	}
	var flags []string
	for _, f := range rec.Flags.List() {
		flags = append(flags, string(f))
	}
	if !slices.Equal(flags, want.Flags) {
		t.Errorf("flags = %q, want %q", flags, want.Flags)
	}
	if rec.Subtype != want.Subtype {
		t.Errorf("subtype = %q, want %q", rec.Subtype, want.Subtype)
	}
	if (rec.StopDetails == nil) != (want.StopDetails == nil) || (rec.StopDetails != nil && *rec.StopDetails != *want.StopDetails) {
		t.Errorf("stop_details = %+v, want %+v", rec.StopDetails, want.StopDetails)
	}
	if got := []int64{rec.Usage.CompactionInputTokens, rec.Usage.CompactionOutputTokens}; want.CompactionTokens != nil && !slices.Equal(got, want.CompactionTokens) ||
		want.CompactionTokens == nil && (got[0] != 0 || got[1] != 0) {
		t.Errorf("compaction tokens = %v, want %v", got, want.CompactionTokens)
	}
	var status int
	var errType string
	if want.Error != nil {
		status, errType = want.Error.Status, want.Error.Type
	}
	if rec.HTTPStatus != status || rec.ErrorType != errType {
		t.Errorf("error = %d %q, want %d %q", rec.HTTPStatus, rec.ErrorType, status, errType)
	}
	wantKind := map[string]analytics.Kind{
		"messages": analytics.KindMessage, "streams": analytics.KindMessage,
		"agent_sdk": analytics.KindAgentResult, "errors": analytics.KindError,
	}[filepath.Dir(name)]
	if want.Error != nil {
		wantKind = analytics.KindError
	}
	if rec.Kind != wantKind {
		t.Errorf("kind = %q, want %q", rec.Kind, wantKind)
	}
	if streamed := filepath.Dir(name) == "streams"; rec.Streamed != streamed {
		t.Errorf("streamed = %v, want %v", rec.Streamed, streamed)
	}
	if rec.Source != Source || rec.App == "" || rec.Time.IsZero() {
		t.Errorf("source %q, app %q, time %v: want native, an app and a time", rec.Source, rec.App, rec.Time)
	}
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

// TestFastEventsMatchSDK checks that decoding the simple stream events with
// encoding/json gives exactly what the SDK's own decoder gives.
func TestFastEventsMatchSDK(t *testing.T) {
	thinking := "event: message_start\ndata: " + `{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}` + "\n\n" +
		"event: content_block_start\ndata: " + `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}` + "\n\n" +
		"event: content_block_delta\ndata: " + `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"let me \u00e9 think"}}` + "\n\n" +
		"event: content_block_delta\ndata: " + `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}` + "\n\n" +
		"event: content_block_stop\ndata: " + `{"type":"content_block_stop","index":0}` + "\n\n" +
		"event: content_block_start\ndata: " + `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: content_block_delta\ndata: " + `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"a <b> & c"}}` + "\n\n" +
		"event: content_block_delta\ndata: " + `{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"x"}}}` + "\n\n" +
		"event: message_delta\ndata: " + `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}` + "\n\n" +
		"event: message_stop\ndata: " + `{"type":"message_stop"}` + "\n\n"
	endTurn := string(fixture(t, "streams/end_turn.sse"))
	delta := func(i int, typ, field, v string) string {
		return fmt.Sprintf("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":%q,%q:%s}}\n\n", i, typ, field, jsonString(v))
	}
	many := strings.Replace(endTurn, "event: content_block_stop", delta(0, "text_delta", "text", " And")+delta(0, "text_delta", "text", "")+delta(0, "text_delta", "text", " more.")+
		"event: content_block_stop", 1)
	many = strings.Replace(many, "event: message_delta", "event: content_block_start\ndata: "+`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`+"\n\n"+
		delta(1, "input_json_delta", "partial_json", `{"a":`)+delta(1, "input_json_delta", "partial_json", "")+delta(1, "input_json_delta", "partial_json", `[1,2]}`)+
		"event: content_block_stop\ndata: "+`{"type":"content_block_stop","index":1}`+"\n\nevent: message_delta", 1)
	transcripts := map[string]string{"thinking and citations": thinking, "many deltas": many}
	for _, name := range fixtureNames(t) {
		if strings.HasSuffix(name, ".sse") {
			transcripts[name] = string(fixture(t, name))
		}
	}
	defer func() { useFastEvents = true }()
	for name, transcript := range transcripts {
		var got [2]string
		for i, fast := range []bool{true, false} {
			useFastEvents = fast
			rec, err := DecodeStream(transcript, testOpts)
			if err != nil {
				t.Fatalf("%s (fast %v): %v", name, fast, err)
			}
			got[i] = string(goldenJSON(t, rec))
		}
		if got[0] != got[1] {
			t.Errorf("%s: fast events give\n%s\nthe SDK gives\n%s", name, got[0], got[1])
		}
	}
}
