package web

import (
	"encoding/json"
	"testing"

	"github.com/stopscope/stopscope/analytics"
)

func TestResponseView(t *testing.T) {
	text := []analytics.Block{{Type: "text", Text: "Paris."}}
	tool := []analytics.Block{{Type: "text", Text: "Let me check."}, {Type: "tool_use", Name: "get_weather"}}
	toolBody := json.RawMessage(`{"type":"message","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","name":"get_weather","input":{"city":"Paris"}}]}`)
	for _, tc := range []struct {
		name string
		rec  analytics.Record
		want string // type:text:name:input per block
	}{
		// The summary shows text whole: the body is not read (here it
		// says something else, which a real record's never does).
		{"native text from the summary", analytics.Record{Source: "native", Kind: analytics.KindMessage, Content: text,
			ResponseBody: json.RawMessage(`{"content":[{"type":"text","text":"not read"}]}`)}, "text:Paris.::|"},
		{"native tool call from the body", analytics.Record{Source: "native", Kind: analytics.KindMessage, Content: tool, ResponseBody: toolBody},
			"text:Let me check.::|tool_use::get_weather:{\n  \"city\": \"Paris\"\n}|"},
		{"otlp from the body", analytics.Record{Source: "otlp", Kind: analytics.KindMessage, Content: text,
			ResponseBody: json.RawMessage(`{"content":[{"type":"text","text":"from the body"}]}`)}, "text:from the body::|"},
		{"stream from the summary", analytics.Record{Source: "native", Kind: analytics.KindMessage, Streamed: true, Content: tool},
			"text:Let me check.::|tool_use::get_weather:|"},
		{"error shows none", analytics.Record{Source: "native", Kind: analytics.KindError, ResponseBody: toolBody}, ""},
	} {
		var got string
		for _, b := range responseView(&tc.rec) {
			got += b.Type + ":" + b.Text + ":" + b.Name + ":" + b.Input + "|"
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
