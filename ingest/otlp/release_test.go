package otlp

import "testing"

func TestReleaseAndPromptVersion(t *testing.T) {
	tests := []struct {
		name        string
		version     string // service.version on the resource, "" for none
		attrs       map[string]any
		release, pv string
	}{
		{"none", "", anthropicSpan(), "", ""},
		{"service.version", "r42", anthropicSpan(), "r42", ""},
		{"name and version", "r42", anthropicSpan("gen_ai.prompt.name", "support", "gen_ai.prompt.version", "3"), "r42", "support@3"},
		{"version alone", "", anthropicSpan("gen_ai.prompt.version", "v4"), "", "v4"},
		{"name alone", "", anthropicSpan("gen_ai.prompt.name", "support"), "", "support"},
		{"OpenInference template version", "", anthropicSpan("llm.prompt_template.version", "t7"), "", "t7"},
		{"gen_ai wins over OpenInference", "", anthropicSpan("gen_ai.prompt.version", "v4", "llm.prompt_template.version", "t7"), "", "v4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td := traces(spanSpec{attrs: tc.attrs})
			if tc.version != "" {
				td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.version", tc.version)
			}
			recs, rejected, msg := Traces(td, testNow)
			if rejected != 0 || len(recs) != 1 {
				t.Fatalf("got %d records, %d rejected (%s)", len(recs), rejected, msg)
			}
			if r := recs[0]; r.Release != tc.release || r.PromptVersion != tc.pv {
				t.Errorf("release %q prompt version %q, want %q %q", r.Release, r.PromptVersion, tc.release, tc.pv)
			}
			// The legacy gen_ai.prompt.N.* content reader is not fooled by
			// the prompt's name and version.
			if recs[0].Req != nil && len(recs[0].Req.Messages) > 0 {
				t.Errorf("messages read from prompt metadata: %+v", recs[0].Req.Messages)
			}
		})
	}
}

// A span nested in the app's span takes the release of the outer one's
// resource when its own has none.
func TestReleaseOfNestedSpan(t *testing.T) {
	td := traces(
		spanSpec{attrs: anthropicSpan("gen_ai.prompt.version", "v9"), id: 1},
		spanSpec{attrs: anthropicSpan("anthropic.message.stop_reason", "end_turn"), id: 2, parent: 1},
	)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.version", "r7")
	recs, _, _ := Traces(td, testNow)
	if len(recs) != 1 || recs[0].Release != "r7" || recs[0].PromptVersion != "v9" {
		t.Fatalf("records %+v", recs)
	}
}
