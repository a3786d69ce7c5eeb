package analytics

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCompileRedactions(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		code     string
	}{
		{"none", nil, ""},
		{"valid", []string{`sk-ant-[A-Za-z0-9_-]+`, `\b\d{3}-\d{2}-\d{4}\b`}, ""},
		{"invalid", []string{`ok`, `(unclosed`}, EInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := CompileRedactions(tc.patterns)
			if tc.code == "" {
				if err != nil || len(res) != len(tc.patterns) {
					t.Fatalf("CompileRedactions = %d, %v", len(res), err)
				}
				return
			}
			if ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want code %s", err, tc.code)
			}
		})
	}
}

func TestRedactBodies(t *testing.T) {
	pats, err := CompileRedactions([]string{`sk-ant-\S+`, `\d{3}-\d{2}-\d{4}`})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want string // "" means dropped
	}{
		{"string values and keys, order and numbers kept",
			`{"b": "key sk-ant-abc\"def", "a": [1.50, true, null, {"123-45-6789": "x"}]}`,
			`{"b":"key [REDACTED]","a":[1.50,true,null,{"[REDACTED]":"x"}]}`},
		{"greedy pattern cannot eat JSON syntax",
			`{"t":"sk-ant-x","u":"y"}`,
			`{"t":"[REDACTED]","u":"y"}`},
		{"escapes survive", `"<tag> & \u00e9 \n"`, `"<tag> & é \n"`},
		{"nothing to redact", `[]`, `[]`},
		{"invalid JSON is dropped", `{"t": "sk-ant-x"`, ``},
		{"two documents are dropped", `{} {}`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redactJSON(json.RawMessage(tc.in), pats)
			if string(got) != tc.want {
				t.Errorf("redactJSON(%s) = %s, want %s", tc.in, got, tc.want)
			}
			if got != nil && !json.Valid(got) {
				t.Errorf("redactJSON(%s) is not valid JSON: %s", tc.in, got)
			}
		})
	}
}

func TestRedactStream(t *testing.T) {
	pats, _ := CompileRedactions([]string{`secret\S*`})
	tests := []struct {
		name, in, want string
	}{
		{"data lines as JSON",
			"event: content_block_delta\r\ndata: {\"delta\":{\"text\":\"a secret\\\"x\"}}\r\n\r\n",
			"event: content_block_delta\r\ndata: {\"delta\":{\"text\":\"a [REDACTED]\"}}\r\n\r\n"},
		{"other lines as text", "data: not json secret1\n: secret2", "data: not json [REDACTED]\n: [REDACTED]"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactStream(tc.in, pats); got != tc.want {
				t.Errorf("redactStream(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func privacyRecord() *Record {
	return &Record{
		Kind: KindMessage, StopReason: StopEndTurn, Flags: Flags(0).With(FlagEmptyTurn),
		Causes:       []Cause{CauseTextAfterToolResult},
		ErrorMessage: "token sk-ant-1 leaked",
		Content:      []Block{{Type: "text", Text: "call 555-12-3456"}, {Type: "tool_use", Name: "lookup"}},
		Req: &Request{Model: "m", Messages: []Message{
			{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "ssn 555-12-3456"}, {Type: "text", Text: "ok"}}},
		}},
		RequestBody:  json.RawMessage(`{"messages":[{"content":"ssn 555-12-3456"}]}`),
		ResponseBody: json.RawMessage(`{"content":[{"text":"call 555-12-3456"}]}`),
		StreamBody:   "data: {\"text\":\"555-12-3456\"}\n",
		Usage:        Usage{InputTokens: 10, OutputTokens: 2},
	}
}

func TestRedactRecord(t *testing.T) {
	pats, _ := CompileRedactions([]string{`\d{3}-\d{2}-\d{4}`, `sk-ant-\S+`})
	r := privacyRecord()
	Redact(r, pats)
	want := privacyRecord()
	want.ErrorMessage = "token [REDACTED] leaked"
	want.Content[0].Text = "call [REDACTED]"
	want.Req.Messages[0].Blocks[0].Text = "ssn [REDACTED]"
	want.RequestBody = json.RawMessage(`{"messages":[{"content":"ssn [REDACTED]"}]}`)
	want.ResponseBody = json.RawMessage(`{"content":[{"text":"call [REDACTED]"}]}`)
	want.StreamBody = "data: {\"text\":\"[REDACTED]\"}\n"
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Redact:\n got %+v\nwant %+v", r, want)
	}

	// No patterns: nothing changes.
	r = privacyRecord()
	Redact(r, nil)
	if !reflect.DeepEqual(r, privacyRecord()) {
		t.Errorf("Redact with no patterns changed the record: %+v", r)
	}
}

func TestStripContent(t *testing.T) {
	r := privacyRecord()
	StripContent(r)
	want := privacyRecord()
	want.RequestBody, want.ResponseBody, want.StreamBody, want.ErrorMessage = nil, nil, "", ""
	want.Content = []Block{{Type: "text"}, {Type: "tool_use", Name: "lookup"}}
	want.Req.Messages[0].Blocks = []Block{{Type: "tool_result"}, {Type: "text"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("StripContent:\n got %+v\nwant %+v", r, want)
	}
}

// TestPrivacyStopDetails checks that a refusal's stop_details are metadata
// (StripContent keeps them) but for the explanation, which may quote what
// was asked: StripContent drops it and Redact redacts it.
func TestPrivacyStopDetails(t *testing.T) {
	pats, err := CompileRedactions([]string{`sk-ant-\S+`})
	if err != nil {
		t.Fatal(err)
	}
	r := &Record{StopReason: StopRefusal, StopDetails: &StopDetails{Type: "refusal", Category: RefusalCategoryCyber,
		Explanation: "Asked about key sk-ant-123", RecommendedModel: "claude-sonnet-4-6"},
		Usage: Usage{CompactionInputTokens: 5}}
	stripped := *r
	sd := *r.StopDetails
	stripped.StopDetails = &sd
	StripContent(&stripped)
	if stripped.StopDetails == nil || stripped.StopDetails.Category != RefusalCategoryCyber || stripped.StopDetails.RecommendedModel == "" ||
		stripped.Usage.CompactionInputTokens != 5 || stripped.StopDetails.Explanation != "" {
		t.Fatalf("StripContent: %+v", stripped.StopDetails)
	}
	Redact(r, pats)
	want := StopDetails{Type: "refusal", Category: RefusalCategoryCyber, Explanation: "Asked about key " + Redacted, RecommendedModel: "claude-sonnet-4-6"}
	if *r.StopDetails != want {
		t.Errorf("Redact: %+v, want %+v", *r.StopDetails, want)
	}
}
