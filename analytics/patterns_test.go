package analytics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func findKind(ps []Pattern, kind, key string) *Pattern {
	for i := range ps {
		if ps[i].Kind == kind && ps[i].Key == key {
			return &ps[i]
		}
	}
	return nil
}

func kinds(ps []Pattern) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind+":"+p.Key)
	}
	return out
}

// TestFindPatternsTwins builds, for each pattern, a conversation where it
// occurs and its corrected twin where it must not.
func TestFindPatternsTwins(t *testing.T) {
	tests := []struct {
		name  string
		kind  string
		key   string
		build func(g *gen) (recs []*Record, example int64)
		// found is false for the corrected twin.
		found  bool
		count  int
		detail map[string]float64
	}{
		{"text after tool_result", PatternEmptyTurnTextAfterToolResult, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("weather in Paris?")
			c.send(StopToolUse, toolUse("get_weather"))
			c.reply().add(Message{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "20C"}, text("thanks")}})
			r := c.send(StopEndTurn)
			return c.recs, r.ID
		}, true, 1, map[string]float64{"unrecovered": 1}},
		{"tool_result alone", PatternEmptyTurnTextAfterToolResult, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("weather in Paris?")
			c.send(StopToolUse, toolUse("get_weather"))
			c.toolRound(StopEndTurn, text("It is 20C."))
			return c.recs, 0
		}, false, 0, nil},

		{"empty turn retried with the same messages", PatternEmptyTurnUnchangedRetry, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("summarise")
			r := c.send(StopEndTurn)
			c.send(StopEndTurn)
			return c.recs, r.ID
		}, true, 1, nil},
		{"empty turn sent back unchanged", PatternEmptyTurnUnchangedRetry, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("summarise")
			r := c.send(StopEndTurn, text("  "))
			c.reply()
			c.send(StopEndTurn)
			return c.recs, r.ID
		}, true, 1, nil},
		{"empty turn retried with a continue prompt", PatternEmptyTurnUnchangedRetry, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("summarise")
			c.send(StopEndTurn)
			c.reply().add(userText("Please continue."))
			c.send(StopEndTurn, text("Here is the summary."))
			return c.recs, 0
		}, false, 0, nil},

		{"continue prompt recovers", PatternEmptyTurnRecovered, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("summarise")
			r := c.send(StopEndTurn)
			c.reply().add(userText("Please continue"))
			c.send(StopEndTurn, text("Here is the summary."))
			return c.recs, r.ID
		}, true, 1, nil},
		{"unchanged retry does not recover", PatternEmptyTurnRecovered, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("summarise")
			c.send(StopEndTurn)
			c.send(StopEndTurn)
			return c.recs, 0
		}, false, 0, nil},
		{"continue prompt answered empty again", PatternEmptyTurnRecovered, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("summarise")
			c.send(StopEndTurn)
			c.reply().add(userText("continue"))
			c.send(StopEndTurn)
			return c.recs, 0
		}, false, 0, nil},

		{"truncation chain that completes", PatternTruncationChain, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("write an essay")
			r := c.send(StopMaxTokens, text("Part one"))
			c.reply() // prefill continuation
			c.send(StopMaxTokens, text(", part two"))
			c.resume() // the prefill grows
			c.send(StopEndTurn, text(", the end."))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"continuations": 2, "max_continuations": 2, "completed": 1}},
		{"truncation chain that completes is not unresolved", PatternTruncationUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("write an essay")
			c.send(StopMaxTokens, text("Part one"))
			c.reply().add(userText("please continue"))
			c.send(StopStopSequence, text("part two"))
			return c.recs, 0
		}, false, 0, nil},
		{"truncation chain that never completes", PatternTruncationUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("write an essay")
			r := c.send(StopMaxTokens, text("Part one"))
			for _, s := range []string{" two", " three"} {
				c.reply().add(userText("continue"))
				c.send(StopMaxTokens, text(s))
			}
			return c.recs, r.ID
		}, true, 1, map[string]float64{"continuations": 2, "completed": 0}},
		{"truncated and abandoned", PatternTruncationUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("write an essay")
			r := c.send(StopMaxTokens, text("Part one"))
			c.reply().add(userText("something else now"))
			c.send(StopEndTurn, text("Sure."))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"never_continued": 1}},

		{"context window exceeded", PatternContextWindowExceeded, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("read all of this")
			c.model = "claude-sonnet-4-5"
			r := c.send(StopModelContextWindowExceeded, text("The documents say"))
			r.Usage = Usage{InputTokens: 150_000, CacheReadInputTokens: 45_000, OutputTokens: 5_000}
			r.Req.MaxTokens = 8192 // 195k + 8k does not fit in 200k
			return c.recs, r.ID
		}, true, 1, map[string]float64{"max_fill": 0.975, "mean_fill": 0.975, "input_plus_max_tokens_over": 1}},
		{"trimmed history fits", PatternContextWindowExceeded, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("read the summary")
			c.model = "claude-sonnet-4-5"
			r := c.send(StopEndTurn, text("The summary says"))
			r.Usage = Usage{InputTokens: 20_000}
			return c.recs, 0
		}, false, 0, nil},

		{"pause_turn resolved in 2", PatternPauseTurnChain, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("research this")
			r := c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			c.resume()
			c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			c.resume()
			c.send(StopEndTurn, text("Findings."))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"resumptions": 2, "resolved": 1}},
		{"pause_turn resolved in 2 is not unresolved", PatternPauseTurnUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("research this")
			c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			c.reply()
			c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			c.reply()
			c.send(StopEndTurn, text("Findings."))
			return c.recs, 0
		}, false, 0, nil},
		{"pause_turn unresolved after 3", PatternPauseTurnUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("research this")
			r := c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			for range 3 {
				c.resume()
				c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			}
			return c.recs, r.ID
		}, true, 1, map[string]float64{"resumptions": 3, "resolved": 0}},
		{"pause_turn resolved only after 4", PatternPauseTurnUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("research this")
			r := c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			for range 3 {
				c.resume()
				c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			}
			c.resume()
			c.send(StopEndTurn, text("Findings."))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"resumptions": 4, "resolved": 1}},

		{"compaction sent back with the history", PatternCompactionChain, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("migrate the service")
			r := c.send(StopCompaction, Block{Type: "compaction", Text: "Summary so far."})
			c.reply()
			c.send(StopEndTurn, text("Done."))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"resumptions": 1, "resolved": 1}},
		{"compaction block sent back in place of what it summarises", PatternCompactionChain, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("migrate the service")
			c.session = "s1"
			r := c.send(StopCompaction, Block{Type: "compaction", Text: "Summary so far."})
			c.msgs = []Message{{Role: "assistant", Blocks: []Block{{Type: "compaction", Text: "Summary so far."}}}, userText("now the adapters")}
			c.send(StopToolUse, toolUse("read_file"))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"resumptions": 1, "resolved": 1}},
		{"compaction never continued", PatternCompactionUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("migrate the service")
			r := c.send(StopCompaction, Block{Type: "compaction", Text: "Summary so far."})
			return c.recs, r.ID
		}, true, 1, map[string]float64{"resumptions": 0, "never_resumed": 1}},
		{"compaction continued is not unresolved", PatternCompactionUnresolved, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("migrate the service")
			c.send(StopCompaction, Block{Type: "compaction", Text: "Summary so far."})
			c.reply()
			c.send(StopEndTurn, text("Done."))
			return c.recs, 0
		}, false, 0, nil},

		{"30 tool_use turns", PatternToolUseLoop, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("fix the build")
			r := c.send(StopToolUse, toolUse("bash"))
			for range 29 {
				c.toolRound(StopToolUse, toolUse("bash"))
			}
			c.toolRound(StopEndTurn, text("Done."))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"longest": 30, "tool:bash": 30}},
		{"5 tool_use turns", PatternToolUseLoop, "", func(g *gen) ([]*Record, int64) {
			c := g.chat("fix the build")
			c.send(StopToolUse, toolUse("bash"))
			for range 4 {
				c.toolRound(StopToolUse, toolUse("bash"))
			}
			c.toolRound(StopEndTurn, text("Done."))
			return c.recs, 0
		}, false, 0, nil},

		{"agent out of turns", PatternAgentSubtype, SubtypeErrorMaxTurns, func(g *gen) ([]*Record, int64) {
			r := &Record{ID: 1, Time: t0, Kind: KindAgentResult, Subtype: SubtypeErrorMaxTurns, StopReason: StopToolUse,
				NumTurns: 10, Usage: Usage{InputTokens: 5000, OutputTokens: 900}}
			return []*Record{r}, 1
		}, true, 1, map[string]float64{"stop_reason:tool_use": 1}},
		{"agent failed before any answer", PatternAgentSubtype, SubtypeErrorDuringExecution, func(g *gen) ([]*Record, int64) {
			r := &Record{ID: 1, Time: t0, Kind: KindAgentResult, Subtype: SubtypeErrorDuringExecution}
			return []*Record{r}, 1
		}, true, 1, map[string]float64{"before_first_answer": 1, "stop_reason:null": 1}},
		{"agent succeeded", PatternAgentSubtype, SubtypeSuccess, func(g *gen) ([]*Record, int64) {
			r := &Record{ID: 1, Time: t0, Kind: KindAgentResult, Subtype: SubtypeSuccess, StopReason: StopEndTurn, NumTurns: 3}
			return []*Record{r}, 0
		}, false, 0, nil},

		{"refusals on a safety-filtered model", PatternRefusalsByModel, "claude-sonnet-4-5", func(g *gen) ([]*Record, int64) {
			c := g.chat("a question")
			c.model = "claude-sonnet-4-5"
			r := c.send(StopRefusal)
			c.send(StopEndTurn, text("An answer"))
			return c.recs, r.ID
		}, true, 1, map[string]float64{"responses": 2, "rate": 0.5, "safety_filtered": 1}},
		{"no refusals", PatternRefusalsByModel, "claude-sonnet-4-5", func(g *gen) ([]*Record, int64) {
			c := g.chat("a question")
			c.model = "claude-sonnet-4-5"
			c.send(StopEndTurn, text("An answer"))
			return c.recs, 0
		}, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, example := tt.build(newGen())
			ps := FindPatterns(shuffled(rand.New(rand.NewPCG(3, 3)), recs), DefaultPatternConfig())
			p := findKind(ps, tt.kind, tt.key)
			if !tt.found {
				if p != nil {
					t.Fatalf("found %s in the corrected conversation: %+v", tt.kind, *p)
				}
				return
			}
			if p == nil {
				t.Fatalf("%s not found; found %v", tt.kind, kinds(ps))
			}
			if p.Count != tt.count || !slices.Contains(p.ExampleIDs, example) {
				t.Errorf("count %d, examples %v; want %d with %d", p.Count, p.ExampleIDs, tt.count, example)
			}
			for k, v := range tt.detail {
				if !near(p.Detail[k], v, 1e-9) {
					t.Errorf("Detail[%q] = %v, want %v (all: %v)", k, p.Detail[k], v, p.Detail)
				}
			}
			if p.Title == "" || p.Remediation == "" {
				t.Errorf("title %q, remediation %q", p.Title, p.Remediation)
			}
		})
	}
}

func TestFindPatternsRemediations(t *testing.T) {
	g := newGen()
	var recs []*Record
	for _, model := range []string{"claude-sonnet-4-5", "claude-haiku-4-5"} {
		c := g.chat("q")
		c.model = model
		c.send(StopRefusal)
		recs = append(recs, c.recs...)
	}
	recs = append(recs, &Record{ID: 100, Time: t0, Kind: KindAgentResult, Subtype: SubtypeErrorDuringExecution})
	ps := FindPatterns(recs, DefaultPatternConfig())
	filtered := findKind(ps, PatternRefusalsByModel, "claude-sonnet-4-5")
	plain := findKind(ps, PatternRefusalsByModel, "claude-haiku-4-5")
	agent := findKind(ps, PatternAgentSubtype, SubtypeErrorDuringExecution)
	if filtered == nil || plain == nil || agent == nil {
		t.Fatalf("patterns = %v", kinds(ps))
	}
	if !strings.Contains(filtered.Remediation, "fallback model") || strings.Contains(plain.Remediation, "fallback model") {
		t.Errorf("refusal advice: filtered %q, plain %q", filtered.Remediation, plain.Remediation)
	}
	if !strings.Contains(agent.Remediation, "API key") {
		t.Errorf("agent advice %q does not mention setup", agent.Remediation)
	}
	// Kinds come in display order.
	if idx := slices.IndexFunc(ps, func(p Pattern) bool { return p.Kind == PatternAgentSubtype }); idx > slices.IndexFunc(ps, func(p Pattern) bool { return p.Kind == PatternRefusalsByModel }) {
		t.Errorf("order = %v", kinds(ps))
	}
}

func TestFindPatternsExamplesCapped(t *testing.T) {
	g := newGen()
	var recs []*Record
	for range 8 {
		c := g.chat("q")
		c.send(StopRefusal)
		recs = append(recs, c.recs...)
	}
	ps := FindPatterns(recs, PatternConfig{}) // zero config takes the defaults
	p := findKind(ps, PatternRefusalsByModel, "claude-sonnet-4-6")
	if p == nil || p.Count != 8 || len(p.ExampleIDs) != 5 || p.ExampleIDs[0] != 1 {
		t.Fatalf("pattern = %+v", p)
	}
	if p.Detail["safety_filtered"] != 0 {
		t.Error("zero config has no safety-filter list, so nothing is flagged")
	}
}

func TestToolUseLoopBoundSettable(t *testing.T) {
	g := newGen()
	c := g.chat("go")
	c.send(StopToolUse, toolUse("a"))
	for range 5 {
		c.toolRound(StopToolUse, toolUse("b"))
	}
	cfg := DefaultPatternConfig()
	cfg.ToolUseLoop = 6
	p := findKind(FindPatterns(c.recs, cfg), PatternToolUseLoop, "")
	if p == nil || p.Detail["longest"] != 6 || p.Detail["tool:a"] != 1 || p.Detail["tool:b"] != 5 {
		t.Fatalf("loop = %+v", p)
	}
	cfg.ToolUseLoop = 7
	if p := findKind(FindPatterns(c.recs, cfg), PatternToolUseLoop, ""); p != nil {
		t.Errorf("6 turns are no loop at bound 7: %+v", p)
	}
}

func TestContextWindowOf(t *testing.T) {
	cfg := DefaultPatternConfig()
	tests := []struct {
		model string
		want  int64
	}{
		{"claude-sonnet-4-5-20250929", 200_000},
		{"claude-opus-4-6", 1_000_000},
		{"claude-sonnet-4-6", 1_000_000},
		{"claude-sonnet-4-5[1m]", 1_000_000},
		{"claude-haiku-4-5", 200_000},
		{"", 200_000},
	}
	for _, tt := range tests {
		if got := cfg.ContextWindowOf(tt.model); got != tt.want {
			t.Errorf("ContextWindowOf(%q) = %d, want %d", tt.model, got, tt.want)
		}
	}
	cfg.DefaultContextWindow = 100
	if cfg.ContextWindowOf("other") != 100 {
		t.Error("default window not settable")
	}
}

func TestIsContinuePrompt(t *testing.T) {
	cfg := DefaultPatternConfig()
	tests := []struct {
		m    Message
		want bool
	}{
		{userText("continue"), true},
		{userText("Please continue."), true},
		{userText("  CONTINUE!!  "), true},
		{userText("Continue from where you stopped"), true},
		{userText("go on"), true},
		{userText("continued fractions are fun"), false},
		{userText("what next?"), false},
		{Message{Role: "assistant", Blocks: []Block{text("continue")}}, false},
		{Message{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "x"}, text("continue")}}, false},
	}
	for _, tt := range tests {
		if got := cfg.IsContinuePrompt(tt.m); got != tt.want {
			t.Errorf("IsContinuePrompt(%+v) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

// benchRecords builds n records of mixed conversations, shuffled.
func benchRecords(n int) []*Record {
	g := newGen()
	rng := rand.New(rand.NewPCG(9, 9))
	var recs []*Record
	for i := 0; len(recs) < n; i++ {
		c := g.chat(fmt.Sprint("task ", i))
		c.user = fmt.Sprint("u", i%50)
		switch i % 5 {
		case 0: // a tool loop of 10 to 40 turns
			c.send(StopToolUse, toolUse("bash"))
			for range 10 + rng.IntN(30) {
				c.toolRound(StopToolUse, toolUse("bash"))
			}
			c.toolRound(StopEndTurn, text("done"))
		case 1: // truncation chain
			c.send(StopMaxTokens, text("a"))
			c.reply().add(userText("continue"))
			c.send(StopEndTurn, text("b"))
		case 2: // empty turn then continue
			c.send(StopToolUse, toolUse("x"))
			c.reply().add(Message{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "r"}, text("ok?")}})
			c.send(StopEndTurn)
			c.reply().add(userText("Please continue"))
			c.send(StopEndTurn, text("fine"))
		case 3: // pause turns
			c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})
			c.resume()
			c.send(StopEndTurn, text("found"))
		default: // plain chat with a refusal now and then
			for j := range 4 {
				if rng.IntN(20) == 0 {
					c.send(StopRefusal)
				} else {
					c.send(StopEndTurn, text(fmt.Sprint("answer ", j)))
				}
				c.reply().add(userText(fmt.Sprint("more ", j)))
			}
		}
		recs = append(recs, c.recs...)
	}
	return shuffled(rng, recs[:n])
}

func BenchmarkFindPatterns10k(b *testing.B) {
	recs := benchRecords(10_000)
	cfg := DefaultPatternConfig()
	b.ReportAllocs()
	for b.Loop() {
		_ = FindPatterns(recs, cfg)
	}
}

func TestBenchRecordsPatterns(t *testing.T) {
	// The benchmark's data exercises every conversation-level pattern.
	ps := FindPatterns(benchRecords(2000), DefaultPatternConfig())
	for _, k := range []string{PatternToolUseLoop, PatternTruncationChain, PatternEmptyTurnTextAfterToolResult,
		PatternEmptyTurnRecovered, PatternPauseTurnChain, PatternRefusalsByModel} {
		if !slices.ContainsFunc(ps, func(p Pattern) bool { return p.Kind == k }) {
			t.Errorf("no %s in %v", k, kinds(ps))
		}
	}
}
