package analytics

import "strconv"

// Chain is a response that stopped to be continued (a stop reason whose
// StopReasonInfo.Continues is set: max_tokens, pause_turn, compaction) and the requests
// that carried it on, hop by hop, as the documentation's loops write them:
//
//   - the continuation loop: the response sent back as the assistant turn,
//     then a user message asking to continue ("Please continue", or Claude
//     Code's "Output token limit hit. Resume directly…"), round after round;
//   - its variant that concatenates the partial text into one assistant
//     turn, which grows each round, before the same continue prompt;
//   - a growing prefill: the last assistant turn replaced by a longer one;
//   - the pause_turn loop: the response sent back as an assistant turn with
//     no new user message;
//   - the same messages sent again (say with a larger max_tokens, as
//     Claude Code does first).
type Chain struct {
	// IDs are the chain's records in order, the one that started it first.
	IDs []int64 `json:"ids"`
	// Start and Final are the stop reasons (keys: "null" for none) of the
	// first and of the last response.
	Start string `json:"start_stop_reason"`
	Final string `json:"final_stop_reason"`
	// Hops counts the continuations: len(IDs) - 1.
	Hops int `json:"hops"`
	// Resolved is set when the last response completed: end_turn,
	// stop_sequence or tool_use.
	Resolved bool `json:"resolved"`
	// Usage sums the usage of every response of the chain.
	Usage Usage `json:"usage"`
}

// Outcome says how the chain ended, for people: "resolved after 2
// continuations (end_turn)", "never completed: max_tokens after 3
// continuations", or "never continued".
func (c Chain) Outcome() string {
	n := strconv.Itoa(c.Hops) + " continuation"
	if c.Hops != 1 {
		n += "s"
	}
	switch {
	case c.Resolved:
		return "resolved after " + n + " (" + c.Final + ")"
	case c.Hops == 0:
		return "never continued"
	}
	return "never completed: " + c.Final + " after " + n
}

// completes reports whether a chain's last response with stop reason r
// is a complete answer.
func completes(r StopReason) bool {
	return r == StopEndTurn || r == StopStopSequence || r == StopToolUse
}

// FindChains links records into conversations (see Conversations) and
// returns every chain in them, in the order they start. Records may come in
// any order; cfg's ContinuePrompts decide which user messages ask to go on.
func FindChains(recs []*Record, cfg PatternConfig) []Chain {
	var out []Chain
	for _, c := range Conversations(recs) {
		rs := c.Records
		inChain := make([]bool, len(rs))
		for i, r := range rs {
			if r.Kind == KindMessage && r.StopReason.Continues() && !inChain[i] {
				out = append(out, cfg.followChain(rs, i, inChain))
			}
		}
	}
	return out
}

// ChainOf returns the chain among recs that holds the record with the given
// id, and whether there is one.
func ChainOf(recs []*Record, id int64, cfg PatternConfig) (Chain, bool) {
	for _, c := range FindChains(recs, cfg) {
		for _, x := range c.IDs {
			if x == id {
				return c, true
			}
		}
	}
	return Chain{}, false
}

// followChain follows the chain that rs[i] starts, marking its records in
// inChain.
func (cfg PatternConfig) followChain(rs []*Record, i int, inChain []bool) Chain {
	inChain[i] = true
	c := Chain{IDs: []int64{rs[i].ID}, Start: rs[i].StopReason.Key()}
	c.Usage = addUsage(c.Usage, rs[i].Usage)
	cur := i
	for rs[cur].StopReason.Continues() {
		j := cfg.nextHop(rs, cur, inChain)
		if j < 0 {
			break
		}
		inChain[j] = true
		cur = j
		c.IDs = append(c.IDs, rs[j].ID)
		c.Usage = addUsage(c.Usage, rs[j].Usage)
	}
	c.Hops = len(c.IDs) - 1
	c.Final = rs[cur].StopReason.Key()
	c.Resolved = c.Hops > 0 && completes(rs[cur].StopReason)
	return c
}

// nextHop returns the index of the first message record after cur, within
// lookAhead and not yet in a chain, that continues rs[cur], or -1. Failed
// requests and unrelated calls in between are passed over. For a Claude
// Code call, which has no request summary, it is the next call of the same
// prompt (Reasks).
func (cfg PatternConfig) nextHop(rs []*Record, cur int, inChain []bool) int {
	if rs[cur].Req == nil {
		// Claude Code continues by itself, in the same prompt: its next
		// call there is the continuation.
		if claudeCodeCall(rs[cur]) {
			for j := cur + 1; j < len(rs) && j <= cur+lookAhead; j++ {
				if n := rs[j]; n.Kind == KindMessage && !inChain[j] && samePrompt(rs[cur], n) {
					return j
				}
			}
		}
		return -1
	}
	for j := cur + 1; j < len(rs) && j <= cur+lookAhead; j++ {
		if n := rs[j]; n.Kind == KindMessage && n.Req != nil && !inChain[j] && cfg.isHop(rs[cur], n) {
			return j
		}
	}
	return -1
}

// isHop reports whether next carries on from prev in one of the shapes
// Chain lists.
func (cfg PatternConfig) isHop(prev, next *Record) bool {
	p, n := prev.Req.Messages, next.Req.Messages
	if messagesEqual(p, n) || sendsCompactionBack(prev, next) {
		return true
	}
	if rewritesAssistant(prev, next) {
		// The last assistant turn grew; after it, nothing, or the same
		// continue prompt as before.
		rest := n[lastAssistant(p)+1:]
		return len(rest) == 0 || (len(rest) == 1 && cfg.IsContinuePrompt(rest[0]))
	}
	added := addedMessages(prev, next)
	if len(added) == 0 || added[0].Role != "assistant" {
		return false
	}
	return len(added) == 1 || (len(added) == 2 && cfg.IsContinuePrompt(added[1]))
}

func addUsage(a, b Usage) Usage {
	return Usage{
		InputTokens:                a.InputTokens + b.InputTokens,
		OutputTokens:               a.OutputTokens + b.OutputTokens,
		CacheCreationInputTokens:   a.CacheCreationInputTokens + b.CacheCreationInputTokens,
		CacheCreation1hInputTokens: a.CacheCreation1hInputTokens + b.CacheCreation1hInputTokens,
		CacheReadInputTokens:       a.CacheReadInputTokens + b.CacheReadInputTokens,
		CompactionInputTokens:      a.CompactionInputTokens + b.CompactionInputTokens,
		CompactionOutputTokens:     a.CompactionOutputTokens + b.CompactionOutputTokens,
	}
}
