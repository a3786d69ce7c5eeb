package analytics

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The documentation's loops, written the way clients write them. Each
// builds its conversation on c and returns the records of the chain in
// order.
var chainShapes = []struct {
	name string
	// build returns the chain's records, the first one starting it.
	build     func(c *chat) []*Record
	hops      int
	final     StopReason
	resolved  bool
	pattern   string
	unresolve string
}{
	{"continuation loop: assistant turn then Please continue", func(c *chat) []*Record {
		out := []*Record{c.send(StopMaxTokens, text("Part one"))}
		for _, stop := range []StopReason{StopMaxTokens, StopMaxTokens, StopEndTurn} {
			c.reply().add(userText("Please continue"))
			out = append(out, c.send(stop, text(" more")))
		}
		return out
	}, 3, StopEndTurn, true, PatternTruncationChain, PatternTruncationUnresolved},
	{"continuation loop concatenating the partial text into one assistant turn", func(c *chat) []*Record {
		q := c.msgs[0]
		full := "Part one"
		out := []*Record{c.send(StopMaxTokens, text(full))}
		for i, stop := range []StopReason{StopMaxTokens, StopMaxTokens, StopEndTurn} {
			c.msgs = []Message{q, {Role: "assistant", Blocks: []Block{text(full)}}, userText("Please continue")}
			part := " part " + string(rune('b'+i))
			full += part
			out = append(out, c.send(stop, text(part)))
		}
		return out
	}, 3, StopEndTurn, true, PatternTruncationChain, PatternTruncationUnresolved},
	{"Claude Code: resent with a larger max_tokens, then its resume prompt", func(c *chat) []*Record {
		out := []*Record{c.send(StopMaxTokens, text("Part one"))}
		out = append(out, c.send(StopMaxTokens, text("Part one, longer")))
		for _, stop := range []StopReason{StopMaxTokens, StopToolUse} {
			c.reply().add(userText("Output token limit hit. Resume directly — no apology, no recap of what you were doing. " +
				"Pick up mid-thought if that is where the cut happened. Break remaining work into smaller pieces."))
			out = append(out, c.send(stop, text(" more"), toolUse("bash")))
		}
		return out
	}, 3, StopToolUse, true, PatternTruncationChain, PatternTruncationUnresolved},
	{"growing prefill that never completes", func(c *chat) []*Record {
		out := []*Record{c.send(StopMaxTokens, text("Part one"))}
		c.reply()
		for range 2 {
			out = append(out, c.send(StopMaxTokens, text(" more")))
			c.resume()
		}
		return out
	}, 2, StopMaxTokens, false, PatternTruncationUnresolved, ""},
	{"pause_turn loop: each response appended as an assistant turn", func(c *chat) []*Record {
		out := []*Record{c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})}
		for _, stop := range []StopReason{StopPauseTurn, StopEndTurn} {
			c.reply()
			out = append(out, c.send(stop, Block{Type: "server_tool_use", Name: "web_search"}))
		}
		return out
	}, 2, StopEndTurn, true, PatternPauseTurnChain, PatternPauseTurnUnresolved},
	{"pause_turn then max_tokens then the continue prompt", func(c *chat) []*Record {
		out := []*Record{c.send(StopPauseTurn, Block{Type: "server_tool_use", Name: "web_search"})}
		c.resume()
		out = append(out, c.send(StopMaxTokens, text("Findings so")))
		c.reply().add(userText("continue"))
		out = append(out, c.send(StopEndTurn, text(" far.")))
		return out
	}, 2, StopEndTurn, true, PatternPauseTurnChain, PatternPauseTurnUnresolved},
}

// TestChainShapes follows each of the documentation's loops to its end,
// with and without session ids, with unrelated calls and a failed request
// in between, in any order.
func TestChainShapes(t *testing.T) {
	for _, tt := range chainShapes {
		for _, session := range []string{"", "s1"} {
			t.Run(tt.name+"/session="+session, func(t *testing.T) {
				g := newGen()
				c := g.chat("write an essay")
				c.session = session
				other := g.chat("unrelated")
				other.session = session
				other.send(StopEndTurn, text("ok"))
				chain := tt.build(c)
				var want Usage
				for k, r := range chain {
					r.Usage = Usage{InputTokens: int64(100 * (k + 1)), OutputTokens: 50, CacheReadInputTokens: 7}
					want = addUsage(want, r.Usage)
				}
				failed := &Record{ID: 900, Time: chain[0].Time.Add(500_000_000), App: c.app, Environment: "prod", SessionID: session, Kind: KindError, ErrorType: "overloaded_error"}
				recs := append(append(slices.Clone(c.recs), other.recs...), failed)
				recs = shuffled(rand.New(rand.NewPCG(5, 5)), recs)

				got, ok := ChainOf(recs, chain[len(chain)-1].ID, DefaultPatternConfig())
				if !ok {
					t.Fatalf("no chain holds the last record; chains %+v", FindChains(recs, DefaultPatternConfig()))
				}
				if !slices.Equal(got.IDs, ids(chain)) || got.Hops != tt.hops || got.Final != tt.final.Key() || got.Resolved != tt.resolved {
					t.Errorf("chain = %+v, want ids %v, %d hops, final %s, resolved %v", got, ids(chain), tt.hops, tt.final.Key(), tt.resolved)
				}
				if got.Usage != want {
					t.Errorf("usage = %+v, want the sum %+v", got.Usage, want)
				}
				ps := FindPatterns(recs, DefaultPatternConfig())
				p := findKind(ps, tt.pattern, "")
				if p == nil || p.Count != 1 || len(p.Chains) != 1 || !slices.Equal(p.Chains[0].IDs, got.IDs) {
					t.Fatalf("pattern %s = %+v; found %v", tt.pattern, p, kinds(ps))
				}
				if p.Detail["output_tokens"] != float64(want.OutputTokens) {
					t.Errorf("Detail = %v, want output_tokens %d", p.Detail, want.OutputTokens)
				}
				if tt.unresolve != "" && findKind(ps, tt.unresolve, "") != nil {
					t.Errorf("a resolved chain is reported %s", tt.unresolve)
				}
				if want := "never completed"; tt.resolved == strings.HasPrefix(got.Outcome(), want) {
					t.Errorf("outcome %q", got.Outcome())
				}
			})
		}
	}
}

// TestEmptyTurnRecoveryWithoutSession links the documentation's recovery
// of an empty turn, a user "Please continue" appended right after the
// message that got it (the empty answer is not sent back), by content
// alone.
func TestEmptyTurnRecoveryWithoutSession(t *testing.T) {
	for _, session := range []string{"", "s1"} {
		t.Run("session="+session, func(t *testing.T) {
			g := newGen()
			c := g.chat("summarise this")
			c.session = session
			empty := c.send(StopEndTurn)
			c.add(userText("Please continue"))
			c.send(StopEndTurn, text("Here is the summary."))
			convs := Conversations(c.recs)
			if len(convs) != 1 {
				t.Fatalf("%d conversations, want 1", len(convs))
			}
			p := findKind(FindPatterns(c.recs, DefaultPatternConfig()), PatternEmptyTurnRecovered, "")
			if p == nil || !slices.Equal(p.ExampleIDs, []int64{empty.ID}) {
				t.Fatalf("recovery not found: %+v", p)
			}
		})
	}
}

// TestEmptyTurnCompletedResponseSentBack finds the documentation's second
// cause of empty turns: Claude's finished response sent back with nothing
// added.
func TestEmptyTurnCompletedResponseSentBack(t *testing.T) {
	g := newGen()
	c := g.chat("hi")
	c.send(StopEndTurn, text("Hello! How can I help?"))
	c.reply()
	r := c.send(StopEndTurn)
	if !slices.Equal(r.Causes, []Cause{CauseCompletedResponseSentBack}) {
		t.Fatalf("causes = %v", r.Causes)
	}
	ps := FindPatterns(c.recs, DefaultPatternConfig())
	p := findKind(ps, PatternEmptyTurnCompletedResponseSentBack, "")
	if p == nil || p.Count != 1 || !strings.HasPrefix(p.Remediation, CauseRemediation(CauseCompletedResponseSentBack)) {
		t.Fatalf("pattern = %+v; found %v", p, kinds(ps))
	}
	if findKind(ps, PatternEmptyTurnTextAfterToolResult, "") != nil {
		t.Error("a request without tool_result is reported as text after a tool_result")
	}
}
