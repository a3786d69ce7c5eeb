package otelclaude

import (
	"context"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
)

// toolRoundTrip is a request whose history has a tool call and its result.
func toolRoundTrip() anthropic.MessageNewParams {
	p := testParams()
	p.Messages = []anthropic.MessageParam{
		anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Paris?")),
		anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_01A", map[string]any{"city": "Paris"}, "get_weather")),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_01A", "18°C, sunny", false)),
	}
	return p
}

func TestContent(t *testing.T) {
	const (
		simpleInput = `[{"role":"user","parts":[{"type":"text","content":"What is the capital of France?"}]}]`
		toolInput   = `[{"role":"user","parts":[{"type":"text","content":"What is the weather in Paris?"}]},
			{"role":"assistant","parts":[{"type":"tool_call","id":"toolu_01A","name":"get_weather","arguments":{"city":"Paris"}}]},
			{"role":"user","parts":[{"type":"tool_call_response","id":"toolu_01A","response":[{"type":"text","text":"18°C, sunny"}]}]}]`
		system     = `[{"type":"text","content":"Be brief."}]`
		paris      = `[{"role":"assistant","parts":[{"type":"text","content":"Paris is the capital of France."}],"finish_reason":"end_turn"}]`
		toolOutput = `[{"role":"assistant","parts":[{"type":"text","content":"Let me check."},{"type":"tool_call","id":"toolu_01A","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_use"}]`
		webSearch  = `[{"role":"assistant","parts":[{"type":"tool_call","id":"srvtoolu_01","name":"web_search","arguments":{"query":"latest AI news"}}],"finish_reason":"pause_turn"}]`
	)
	cases := []struct {
		name    string
		file    string
		params  anthropic.MessageNewParams
		content bool
		input   string // "" when no content attributes are expected at all
		output  string
	}{
		{name: "plain, content off", file: "messages/end_turn.json", params: testParams()},
		{name: "stream, content off", file: "streams/tool_use.sse", params: toolRoundTrip()},
		{name: "plain", file: "messages/end_turn.json", params: testParams(), content: true, input: simpleInput, output: paris},
		{name: "plain tool_use", file: "messages/tool_use.json", params: toolRoundTrip(), content: true, input: toolInput, output: toolOutput},
		{name: "plain empty turn", file: "messages/empty_end_turn.json", params: testParams(), content: true, input: simpleInput,
			output: `[{"role":"assistant","parts":[],"finish_reason":"end_turn"}]`},
		{name: "stream tool_use", file: "streams/tool_use.sse", params: toolRoundTrip(), content: true, input: toolInput, output: toolOutput},
		{name: "stream server tool", file: "streams/pause_turn.sse", params: testParams(), content: true, input: simpleInput, output: webSearch},
		{name: "stream in several deltas", file: "own/cache_tokens.sse", params: testParams(), content: true, input: simpleInput, output: paris},
		// What arrived before the error, and no finish reason.
		{name: "stream error", file: "streams/error_mid_stream.sse", params: testParams(), content: true, input: simpleInput,
			output: `[{"role":"assistant","parts":[{"type":"text","content":"Quantum physics is the study of"}]}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := readFixture(t, tc.file)
			ctype := "application/json"
			stream := strings.HasSuffix(tc.file, ".sse")
			if stream {
				ctype = "text/event-stream"
			}
			api := newStubAPI(t, reply{status: 200, contentType: ctype, body: body, chunk: 53})
			tp, exp := newRecorder(t)
			client := newClient(api.URL, tp, WithContent(tc.content))
			if stream {
				s := client.Messages.NewStreaming(context.Background(), tc.params)
				for s.Next() {
				}
				s.Close()
			} else if _, err := client.Messages.New(context.Background(), tc.params); err != nil {
				t.Fatal(err)
			}

			attrs := onlySpan(t, exp).Attributes
			want := map[string]string{
				"gen_ai.input.messages":      tc.input,
				"gen_ai.system_instructions": system,
				"gen_ai.output.messages":     tc.output,
			}
			for key, w := range want {
				got, ok := attrValue(attrs, key)
				switch {
				case tc.input == "" && ok:
					t.Errorf("%s recorded without WithContent(true): %s", key, got.AsString())
				case tc.input == "":
				case !ok:
					t.Errorf("%s missing", key)
				case !sameJSON(t, got.AsString(), w):
					t.Errorf("%s =\n%s\nwant\n%s", key, got.AsString(), w)
				}
			}
		})
	}
}
