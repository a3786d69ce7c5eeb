package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stopscope/stopscope/ingest/testfixtures"
)

// TestPatternsEndToEnd posts two tool conversations through POST
// /v1/responses: one whose last request puts text after the tool_result
// and gets an empty end_turn back, and its corrected twin, which sends the
// tool_result alone and gets an answer. GET /api/v1/patterns finds the
// pattern in the first and not in the twin.
func TestPatternsEndToEnd(t *testing.T) {
	m := startMain(t)
	read := func(name string) json.RawMessage {
		return testfixtures.Read(t, name)
	}
	// The first call of both: the question, answered with a tool call.
	firstReq := json.RawMessage(`{"model":"claude-sonnet-4-6","max_tokens":1024,"messages":[{"role":"user","content":"Calculate the sum of 1234 and 5678"}]}`)
	firstResp := func(id string) json.RawMessage {
		return json.RawMessage(`{"id":"` + id + `","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"tool_use","id":"toolu_123","name":"calculator","input":{"operation":"add","a":1234,"b":5678}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":30}}`)
	}
	envs := []map[string]any{
		{"app": "bad", "environment": "test", "session_id": "conv-bad", "request": firstReq, "response": firstResp("msg_bad_1")},
		{"app": "bad", "environment": "test", "session_id": "conv-bad", "request": read("requests/text_after_tool_result.json"), "response": read("messages/empty_end_turn.json")},
		{"app": "good", "environment": "test", "session_id": "conv-good", "request": firstReq, "response": firstResp("msg_good_1")},
		{"app": "good", "environment": "test", "session_id": "conv-good", "request": read("requests/tool_result_only.json"), "response": read("messages/end_turn.json")},
	}
	var batch bytes.Buffer
	for _, e := range envs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		batch.Write(append(b, '\n'))
	}
	if status, body := post(t, m.URL()+"/v1/responses", "application/x-ndjson", batch.Bytes()); status != 200 {
		t.Fatalf("POST /v1/responses: %d %s", status, body)
	}

	type pattern struct {
		Kind       string  `json:"kind"`
		Count      int     `json:"count"`
		ExampleIDs []int64 `json:"example_ids"`
	}
	type answer struct {
		Records  int       `json:"records"`
		Patterns []pattern `json:"patterns"`
	}
	var listed struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	getJSON(t, m.URL()+"/api/v1/responses?range=1h&app=bad&stop_reason=end_turn", &listed)
	if len(listed.Items) != 1 {
		t.Fatalf("the empty end_turn was not stored: %+v", listed)
	}
	emptyID := listed.Items[0].ID

	tests := []struct {
		app  string
		want []int64 // example ids of empty_turn_text_after_tool_result
	}{
		{"bad", []int64{emptyID}},
		{"good", nil},
		{"", []int64{emptyID}},
	}
	for _, tc := range tests {
		var got answer
		getJSON(t, m.URL()+"/api/v1/patterns?range=1h&app="+tc.app, &got)
		var ids []int64
		for _, p := range got.Patterns {
			if p.Kind == "empty_turn_text_after_tool_result" {
				ids = p.ExampleIDs
			}
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("app %q: patterns %+v from %d records; want empty_turn_text_after_tool_result at %v", tc.app, got.Patterns, got.Records, tc.want)
		}
	}
}
