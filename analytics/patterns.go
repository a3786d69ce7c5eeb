package analytics

import (
	"slices"
	"strings"
	"unicode"
)

// The kinds of Pattern, in the order FindPatterns returns them.
const (
	// PatternEmptyTurnTextAfterToolResult: empty end_turn responses to a
	// request that put text right after a tool_result.
	PatternEmptyTurnTextAfterToolResult = "empty_turn_text_after_tool_result"
	// PatternEmptyTurnCompletedResponseSentBack: empty end_turn responses
	// to a request that ended with a finished assistant turn and nothing
	// after it.
	PatternEmptyTurnCompletedResponseSentBack = "empty_turn_completed_response_sent_back"
	// PatternEmptyTurnUnchangedRetry: an empty response followed by a
	// request that repeats the same messages, or only appends the empty
	// assistant turn: a retry that cannot help.
	PatternEmptyTurnUnchangedRetry = "empty_turn_unchanged_retry"
	// PatternEmptyTurnRecovered: an empty response that a later "continue"
	// user message turned into a non-empty end_turn, or that Claude Code's
	// own re-ask in the same prompt answered (ReaskedAnswer).
	PatternEmptyTurnRecovered = "empty_turn_recovered"
	// PatternTruncationChain: a max_tokens response and the continuation
	// requests after it (a Chain), until one ends otherwise.
	PatternTruncationChain = "truncation_chain"
	// PatternTruncationUnresolved: a truncation chain whose last response
	// did not complete (Chain.Resolved).
	PatternTruncationUnresolved = "truncation_unresolved"
	// PatternContextWindowExceeded: responses stopped by
	// model_context_window_exceeded.
	PatternContextWindowExceeded = "context_window_exceeded"
	// PatternPauseTurnChain: a pause_turn response and its resumptions (a
	// Chain).
	PatternPauseTurnChain = "pause_turn_chain"
	// PatternPauseTurnUnresolved: a pause_turn chain that did not complete,
	// or only after more than PatternConfig.PauseTurnMaxRetries resumptions.
	PatternPauseTurnUnresolved = "pause_turn_unresolved"
	// PatternCompactionChain: a compaction response and its continuations
	// (the compaction block sent back).
	PatternCompactionChain = "compaction_chain"
	// PatternCompactionUnresolved: a compaction chain never continued, or
	// still compacting after PatternConfig.PauseTurnMaxRetries
	// continuations.
	PatternCompactionUnresolved = "compaction_unresolved"
	// PatternToolUseLoop: a conversation returning tool_use at least
	// PatternConfig.ToolUseLoop times in a row.
	PatternToolUseLoop = "tool_use_loop"
	// PatternAgentSubtype: Agent SDK runs that ended with an error subtype;
	// Key is the subtype.
	PatternAgentSubtype = "agent_subtype"
	// PatternRefusalsByModel: refusals of one model; Key is the model.
	PatternRefusalsByModel = "refusals_by_model"
)

// PatternKinds lists the pattern kinds in display order.
var PatternKinds = []string{
	PatternEmptyTurnTextAfterToolResult, PatternEmptyTurnCompletedResponseSentBack, PatternEmptyTurnUnchangedRetry,
	PatternEmptyTurnRecovered, PatternTruncationChain, PatternTruncationUnresolved, PatternContextWindowExceeded,
	PatternPauseTurnChain, PatternPauseTurnUnresolved, PatternCompactionChain, PatternCompactionUnresolved,
	PatternToolUseLoop, PatternAgentSubtype, PatternRefusalsByModel,
}

// Pattern is one failure pattern found in a set of records.
type Pattern struct {
	Kind string `json:"kind"`
	// Key tells apart patterns of one kind: the subtype of agent_subtype,
	// the model of refusals_by_model, "" otherwise.
	Key   string `json:"key,omitempty"`
	Title string `json:"title"`
	// Count counts occurrences: empty turns, chains, loops, runs or
	// refusals, as the kind says.
	Count int `json:"count"`
	// ExampleIDs are the IDs of up to PatternConfig.MaxExamples records
	// where the pattern starts.
	ExampleIDs  []int64 `json:"example_ids"`
	Remediation string  `json:"remediation"`
	// Detail holds the kind's figures:
	//   - empty_turn_*: "unrecovered" (of Count, none recovered later);
	//     empty_turn_recovered also "claude_code_reasks" (of Count, those
	//     Claude Code's own re-ask recovered).
	//   - truncation_chain, truncation_unresolved: "continuations" (total),
	//     "max_continuations", "completed", "never_continued", and the
	//     chains' summed "input_tokens" and "output_tokens".
	//   - context_window_exceeded: "max_fill" and "mean_fill", the input
	//     (with cache reads and writes) over the model's window, and
	//     "input_plus_max_tokens_over": how many set max_tokens past the room
	//     the input left, which is the documented way to ask for the longest
	//     output (information, not a fault).
	//   - pause_turn_*: "resumptions" (total), "max_resumptions",
	//     "resolved", "never_resumed", "input_tokens", "output_tokens".
	//   - tool_use_loop: "longest", "tool:<name>" (tool_use calls per tool).
	//   - agent_subtype: "stop_reason:<key>" (the last stop reason),
	//     "before_first_answer" (runs with no turn and no usage).
	//   - refusals_by_model: "responses", "rate", "low", "high",
	//     "safety_filtered" (1 when the model is in SafetyFilterModels),
	//     "recovered" (of Count, refusals a later call answered: on a
	//     fallback model, or Claude Code's own re-ask; see RecoveredBy).
	Detail map[string]float64 `json:"detail,omitempty"`
	// Chains are, for truncation_* and pause_turn_*, up to
	// PatternConfig.MaxExamples of the chains counted: their records, hops,
	// final stop reason and summed usage.
	Chains []Chain `json:"chains,omitempty"`
}

// ContextWindow maps the model ids containing ModelMatch to a context window
// size in tokens.
type ContextWindow struct {
	ModelMatch string `json:"model_match"`
	Tokens     int64  `json:"tokens"`
}

// PatternConfig sets the bounds of FindPatterns.
type PatternConfig struct {
	// ToolUseLoop is how many consecutive tool_use responses make a loop
	// (default 25).
	ToolUseLoop int `json:"tool_use_loop"`
	// PauseTurnMaxRetries is how many resumptions a pause_turn chain may
	// take before it counts as unresolved (default 3).
	PauseTurnMaxRetries int `json:"pause_turn_max_retries"`
	// DefaultContextWindow is the context window of models not in
	// ContextWindows (default 200,000 tokens).
	DefaultContextWindow int64 `json:"default_context_window"`
	// ContextWindows lists the models with another window; the first entry
	// whose ModelMatch the model id contains wins.
	ContextWindows []ContextWindow `json:"context_windows"`
	// ContinuePrompts are the user messages taken for "continue" prompts,
	// lower case; a message matches when, lower-cased and stripped of
	// punctuation, it starts with one.
	ContinuePrompts []string `json:"continue_prompts"`
	// SafetyFilterModels lists model id fragments whose API safety filters
	// are documented to refuse more often.
	SafetyFilterModels []string `json:"safety_filter_models"`
	// MaxExamples caps each pattern's ExampleIDs (default 5).
	MaxExamples int `json:"max_examples"`
}

// DefaultPatternConfig returns the defaults: loops of 25 tool_use turns,
// 3 pause_turn retries, a 200k context window except for the models known
// to have 1M (and ids tagged "[1m]"), and 5 examples per pattern.
func DefaultPatternConfig() PatternConfig {
	return PatternConfig{
		ToolUseLoop:          25,
		PauseTurnMaxRetries:  3,
		DefaultContextWindow: 200_000,
		ContextWindows: []ContextWindow{
			{ModelMatch: "[1m]", Tokens: 1_000_000},
			{ModelMatch: "claude-opus-4-6", Tokens: 1_000_000},
			{ModelMatch: "claude-opus-4-7", Tokens: 1_000_000},
			{ModelMatch: "claude-sonnet-4-6", Tokens: 1_000_000},
		},
		// "Output token limit hit" opens the prompt Claude Code sends by
		// itself after a max_tokens response.
		ContinuePrompts:    []string{"continue", "please continue", "go on", "keep going", "carry on", "output token limit hit"},
		SafetyFilterModels: []string{"claude-sonnet-4-5", "claude-opus-4-1"},
		MaxExamples:        5,
	}
}

// ContextWindowOf returns the context window of a model in tokens.
func (cfg PatternConfig) ContextWindowOf(model string) int64 {
	m := strings.ToLower(model)
	for _, w := range cfg.ContextWindows {
		if w.ModelMatch != "" && strings.Contains(m, strings.ToLower(w.ModelMatch)) {
			return w.Tokens
		}
	}
	if cfg.DefaultContextWindow > 0 {
		return cfg.DefaultContextWindow
	}
	return 200_000
}

// safetyFiltered reports whether model is one of SafetyFilterModels.
func (cfg PatternConfig) safetyFiltered(model string) bool {
	m := strings.ToLower(model)
	for _, s := range cfg.SafetyFilterModels {
		if s != "" && strings.Contains(m, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// IsContinuePrompt reports whether a user message is a bare request to go
// on, such as "continue" or "Please continue.".
func (cfg PatternConfig) IsContinuePrompt(m Message) bool {
	if m.Role != "user" {
		return false
	}
	var sb strings.Builder
	for _, b := range m.Blocks {
		switch b.Type {
		case "text":
			sb.WriteString(b.Text)
			sb.WriteByte(' ')
		case "tool_result":
			// A tool_result is the answer to a call, not a nudge.
			return false
		}
	}
	text := normalizePrompt(sb.String())
	for _, p := range cfg.ContinuePrompts {
		p = normalizePrompt(p)
		if p != "" && (text == p || strings.HasPrefix(text, p+" ")) {
			return true
		}
	}
	return false
}

// normalizePrompt lower-cases s, drops punctuation and folds spaces.
func normalizePrompt(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) {
			return ' '
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// FindPatterns links records into conversations and finds the failure
// patterns of the Messages API in them. Records may come in any order. Each
// kind that occurs yields a Pattern, in PatternKinds order, then by Key;
// kinds that do not occur are left out. Zero fields of cfg take the
// defaults, except the lists, which are used as given.
func FindPatterns(recs []*Record, cfg PatternConfig) []Pattern {
	d := DefaultPatternConfig()
	if cfg.ToolUseLoop <= 0 {
		cfg.ToolUseLoop = d.ToolUseLoop
	}
	if cfg.PauseTurnMaxRetries <= 0 {
		cfg.PauseTurnMaxRetries = d.PauseTurnMaxRetries
	}
	if cfg.DefaultContextWindow <= 0 {
		cfg.DefaultContextWindow = d.DefaultContextWindow
	}
	if cfg.MaxExamples <= 0 {
		cfg.MaxExamples = d.MaxExamples
	}
	f := &finder{cfg: cfg, acc: map[patternKey]*Pattern{}}
	for _, c := range Conversations(recs) {
		f.conversation(c.Records)
	}
	f.records(recs)
	return f.result()
}

type patternKey struct{ kind, key string }

type finder struct {
	cfg PatternConfig
	acc map[patternKey]*Pattern
	// recovered holds the refusals a later call of their conversation
	// answered (RecoveredBy).
	recovered map[*Record]bool
}

// add counts one occurrence of a pattern, started by record r.
func (f *finder) add(kind, key string, r *Record) *Pattern {
	k := patternKey{kind, key}
	p := f.acc[k]
	if p == nil {
		p = &Pattern{Kind: kind, Key: key, ExampleIDs: []int64{}, Detail: map[string]float64{}}
		f.acc[k] = p
	}
	p.Count++
	if r != nil && len(p.ExampleIDs) < f.cfg.MaxExamples {
		p.ExampleIDs = append(p.ExampleIDs, r.ID)
	}
	return p
}

func (f *finder) result() []Pattern {
	out := make([]Pattern, 0, len(f.acc))
	for _, p := range f.acc {
		p.Title = patternTitle(p.Kind, p.Key)
		p.Remediation = AdviceText(p.AdviceOf())
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Pattern) int {
		if c := slices.Index(PatternKinds, a.Kind) - slices.Index(PatternKinds, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// lookAhead bounds how far past a record its follower is looked for, so a
// long session costs linear time.
const lookAhead = 8

// follower returns the index of the first message record after i whose
// request repeats, extends or continues record i's, or -1.
func follower(rs []*Record, i int) int {
	if rs[i].Req == nil {
		return -1
	}
	for j := i + 1; j < len(rs) && j <= i+lookAhead; j++ {
		n := rs[j]
		if n.Kind != KindMessage || n.Req == nil {
			continue
		}
		if extends(rs[i], n) || rewritesAssistant(rs[i], n) || messagesEqual(rs[i].Req.Messages, n.Req.Messages) ||
			sendsCompactionBack(rs[i], n) {
			return j
		}
	}
	return -1
}

// addedMessages returns the messages next's request adds to prev's.
func addedMessages(prev, next *Record) []Message {
	if !extends(prev, next) {
		return nil
	}
	return next.Req.Messages[len(prev.Req.Messages):]
}

func isEmptyTurn(r *Record) bool {
	return r.Kind == KindMessage && (r.Flags.Has(FlagEmptyTurn) ||
		(r.StopReason == StopEndTurn && ContentEmpty(r.Content)))
}

func hasTextAfterToolResult(r *Record) bool {
	return slices.Contains(r.Causes, CauseTextAfterToolResult) || (r.Req != nil && TextAfterToolResult(r.Req))
}

// conversation finds the patterns that span the records of one
// conversation, sorted by time.
func (f *finder) conversation(rs []*Record) {
	inChain := make([]bool, len(rs))
	run, runStart := 0, -1
	var runTools map[string]float64
	var loop *Pattern
	for i, r := range rs {
		if r.Kind != KindMessage {
			continue
		}
		if isEmptyTurn(r) {
			f.emptyTurn(rs, i)
		}
		if RecoveredBy(r, rs) != nil {
			if f.recovered == nil {
				f.recovered = map[*Record]bool{}
			}
			f.recovered[r] = true
		}
		if r.StopReason.Continues() && !inChain[i] {
			f.chain(rs[i], f.cfg.followChain(rs, i, inChain))
		}
		// Tool-use loops: failed calls in between neither extend nor break
		// a run, since they were skipped above.
		if r.StopReason != StopToolUse {
			run, loop = 0, nil
			continue
		}
		if run == 0 {
			runStart, runTools = i, map[string]float64{}
		}
		run++
		for _, b := range r.Content {
			if b.Type == "tool_use" && b.Name != "" {
				runTools[b.Name]++
			}
		}
		if run == f.cfg.ToolUseLoop {
			loop = f.add(PatternToolUseLoop, "", rs[runStart])
			for t, n := range runTools {
				loop.Detail["tool:"+t] += n
			}
			loop.Detail["longest"] = max(loop.Detail["longest"], float64(run))
		} else if loop != nil {
			for _, b := range r.Content {
				if b.Type == "tool_use" && b.Name != "" {
					loop.Detail["tool:"+b.Name]++
				}
			}
			loop.Detail["longest"] = max(loop.Detail["longest"], float64(run))
		}
	}
}

// emptyTurn classifies the empty response rs[i]: its cause, an unchanged
// retry after it, and whether a continue prompt recovered it.
func (f *finder) emptyTurn(rs []*Record, i int) {
	r := rs[i]
	var kinds []string
	if hasTextAfterToolResult(r) {
		kinds = append(kinds, PatternEmptyTurnTextAfterToolResult)
	}
	if slices.Contains(r.Causes, CauseCompletedResponseSentBack) || (r.Req != nil && CompletedResponseSentBack(r.Req)) {
		kinds = append(kinds, PatternEmptyTurnCompletedResponseSentBack)
	}
	j := follower(rs, i)
	if j >= 0 {
		n := rs[j]
		added := addedMessages(r, n)
		if messagesEqual(r.Req.Messages, n.Req.Messages) ||
			(len(added) == 1 && added[0].Role == "assistant" && ContentEmpty(added[0].Blocks)) {
			kinds = append(kinds, PatternEmptyTurnUnchangedRetry)
		}
	}
	// Walk on while the answers stay empty; the first real answer tells
	// whether a continue prompt brought it.
	recovered := false
	for k, steps := j, 0; k >= 0 && steps < lookAhead; k, steps = follower(rs, k), steps+1 {
		n := rs[k]
		if isEmptyTurn(n) {
			continue
		}
		if n.StopReason == StopEndTurn && !ContentEmpty(n.Content) {
			for _, m := range addedMessages(r, n) {
				if f.cfg.IsContinuePrompt(m) {
					recovered = true
					break
				}
			}
		}
		break
	}
	// Claude Code re-asks an empty turn by itself, in the same prompt.
	reasked := false
	if !recovered && ReaskedAnswer(r, rs) != nil {
		recovered, reasked = true, true
	}
	if recovered {
		kinds = append(kinds, PatternEmptyTurnRecovered)
	}
	for _, k := range kinds {
		p := f.add(k, "", r)
		if !recovered {
			p.Detail["unrecovered"]++
		}
		if reasked && k == PatternEmptyTurnRecovered {
			p.Detail["claude_code_reasks"]++
		}
	}
}

// chain counts the chain that start begins under its pattern kinds: those
// of truncation for max_tokens, of pause_turn for pause_turn. Chains that
// other continuing stop reasons begin have no pattern yet.
func (f *finder) chain(start *Record, c Chain) {
	chainKind, unresolvedKind, ok := continuationKinds(start.StopReason)
	if !ok {
		return
	}
	kinds := []string{chainKind}
	hops, maxHops, done, never := "resumptions", "max_resumptions", "resolved", "never_resumed"
	if start.StopReason == StopMaxTokens {
		hops, maxHops, done, never = "continuations", "max_continuations", "completed", "never_continued"
		if !c.Resolved {
			kinds = append(kinds, unresolvedKind)
		}
	} else if !c.Resolved || c.Hops > f.cfg.PauseTurnMaxRetries {
		kinds = append(kinds, unresolvedKind)
	}
	for _, k := range kinds {
		p := f.add(k, "", start)
		p.Detail[hops] += float64(c.Hops)
		p.Detail[maxHops] = max(p.Detail[maxHops], float64(c.Hops))
		if c.Resolved {
			p.Detail[done]++
		}
		if c.Hops == 0 {
			p.Detail[never]++
		}
		p.Detail["input_tokens"] += float64(c.Usage.InputTokens)
		p.Detail["output_tokens"] += float64(c.Usage.OutputTokens)
		if len(p.Chains) < f.cfg.MaxExamples {
			p.Chains = append(p.Chains, c)
		}
	}
}

// records finds the patterns of single records: context window overflows,
// agent subtypes and refusals by model.
func (f *finder) records(recs []*Record) {
	type modelCount struct{ n, refusals int64 }
	models := map[string]*modelCount{}
	var fillSum float64
	sorted := sortedRecords(recs)
	for _, r := range sorted {
		if r.Kind == KindError {
			continue
		}
		mc := models[r.Model]
		if mc == nil {
			mc = &modelCount{}
			models[r.Model] = mc
		}
		mc.n++
		if r.StopReason == StopRefusal || r.Flags.Has(FlagRefusal) {
			mc.refusals++
			p := f.add(PatternRefusalsByModel, r.Model, r)
			if f.recovered[r] {
				p.Detail["recovered"]++
			}
		}
		if r.StopReason == StopModelContextWindowExceeded {
			p := f.add(PatternContextWindowExceeded, "", r)
			window := f.cfg.ContextWindowOf(r.Model)
			in := r.Usage.InputTokens + r.Usage.CacheCreationInputTokens + r.Usage.CacheReadInputTokens
			fill := float64(in) / float64(window)
			fillSum += fill
			p.Detail["max_fill"] = max(p.Detail["max_fill"], fill)
			p.Detail["mean_fill"] = fillSum / float64(p.Count)
			if r.Req != nil && r.Req.MaxTokens > 0 && in+r.Req.MaxTokens > window {
				p.Detail["input_plus_max_tokens_over"]++
			}
		}
		if r.Kind == KindAgentResult && r.Subtype != "" && r.Subtype != SubtypeSuccess {
			p := f.add(PatternAgentSubtype, r.Subtype, r)
			p.Detail["stop_reason:"+r.StopReason.Key()]++
			if r.NumTurns == 0 && r.Usage == (Usage{}) {
				p.Detail["before_first_answer"]++
			}
		}
	}
	for model, mc := range models {
		p := f.acc[patternKey{PatternRefusalsByModel, model}]
		if p == nil {
			continue
		}
		r := NewRate(string(MetricRefusal), Tally{mc.refusals, mc.n})
		p.Detail["responses"] = float64(mc.n)
		p.Detail["rate"], p.Detail["low"], p.Detail["high"] = r.Value, r.Low, r.High
		if f.cfg.safetyFiltered(model) {
			p.Detail["safety_filtered"] = 1
		}
	}
}

// patternTitle names a pattern for people.
func patternTitle(kind, key string) string {
	switch kind {
	case PatternEmptyTurnTextAfterToolResult:
		return "Empty turns after text placed right after a tool_result"
	case PatternEmptyTurnCompletedResponseSentBack:
		return "Empty turns after a finished response sent back with nothing added"
	case PatternEmptyTurnUnchangedRetry:
		return "Empty turns retried unchanged"
	case PatternEmptyTurnRecovered:
		return "Empty turns recovered by a continue prompt or Claude Code's own re-ask"
	case PatternTruncationChain:
		return "Responses cut at max_tokens and their continuations"
	case PatternTruncationUnresolved:
		return "Responses cut at max_tokens that never completed"
	case PatternContextWindowExceeded:
		return "Responses stopped by the model's context window"
	case PatternPauseTurnChain:
		return "Server-tool turns paused (pause_turn) and resumed"
	case PatternPauseTurnUnresolved:
		return "Paused server-tool turns not resolved within the retry limit"
	case PatternCompactionChain:
		return "Conversations compacted (compaction) and continued"
	case PatternCompactionUnresolved:
		return "Compactions never continued, or compacting again past the retry limit"
	case PatternToolUseLoop:
		return "Tool-use loops"
	case PatternAgentSubtype:
		return "Agent SDK runs ended " + key
	case PatternRefusalsByModel:
		if key == "" {
			return "Refusals (model unknown)"
		}
		return "Refusals on " + key
	}
	return kind
}

// continuationKinds returns the chain and unresolved pattern kinds of a
// stop reason the client continues from (StopReasonInfo.Continues).
func continuationKinds(r StopReason) (chain, unresolved string, ok bool) {
	switch r {
	case StopMaxTokens:
		return PatternTruncationChain, PatternTruncationUnresolved, true
	case StopPauseTurn:
		return PatternPauseTurnChain, PatternPauseTurnUnresolved, true
	case StopCompaction:
		return PatternCompactionChain, PatternCompactionUnresolved, true
	}
	return "", "", false
}
