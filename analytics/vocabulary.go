package analytics

import "slices"

// This file is stopscope's vocabulary: every stop reason, flag, cause, kind
// and Agent SDK subtype, declared once with what any layer needs (key,
// display order, label, colour, meaning, advice and where the advice comes
// from). The lists, lookups, stored columns, stylesheet classes, chart
// colours and docs/vocabulary.md are all derived from these tables:
//   - a new stop reason is one line in StopReasonTable;
//   - a new flag is one line in flagTable, with a Bit never used before,
//     plus one migration per dialect adding its rollup column;
//   - then `go generate ./web` rewrites the stylesheet and the docs.

// DocRef names the documentation a text follows: a page and one of its
// sections.
type DocRef struct {
	Title   string
	Section string
	URL     string
}

// The documentation the advice follows, all under one base. Each section
// below was checked against the page as published (December 2026): its
// name is the page's heading and its anchor the one the page's own table
// of contents links to. Where a section has no anchor of its own (a
// collapsible part of a section), the URL points at the heading it sits
// under. TestAdviceSources holds every advice to this list.
const (
	docBase = "https://platform.claude.com/docs/en/"
	// docStopReasons is "Stop reasons and fallback" (formerly "Handling
	// stop reasons") of the Messages API.
	docStopReasons = docBase + "build-with-claude/handling-stop-reasons"
	// docStreaming is "Streaming messages".
	docStreaming = docBase + "build-with-claude/streaming"
	// docStreamingRefusals is "Handle streaming refusals".
	docStreamingRefusals = docBase + "test-and-evaluate/strengthen-guardrails/handle-streaming-refusals"
	// docAgentStopReasons is the Agent SDK's "Handle stop reasons", on the
	// stop_reason of a result message.
	docAgentStopReasons = docBase + "agent-sdk/stop-reasons"
	// docAgentLoop is the Agent SDK's "How the agent loop works", whose
	// "Handle the result" section lists the subtypes.
	docAgentLoop = docBase + "agent-sdk/agent-loop"
	// docCompaction is "Compaction overview" (beta), which compares the two
	// ways to compact and what each sends back.
	docCompaction = docBase + "build-with-claude/compaction"
	// docCompactionOnDemand is "Compaction on demand" (beta): a compaction
	// request returns the block alone, with stop_reason "compaction".
	docCompactionOnDemand = docBase + "build-with-claude/compaction-on-demand"
	// docCompactionThreshold is "Compaction at a token threshold" (beta),
	// where pause_after_compaction returns the block alone.
	docCompactionThreshold = docBase + "build-with-claude/compaction-threshold"
	// docRefusals is "Refusals and fallback", on stop_details and
	// retrying a refused request on a fallback model.
	docRefusals = docBase + "build-with-claude/refusals-and-fallback"
)

// DocPages lists the documentation pages advice may cite; a test holds
// every advice to one of them.
var DocPages = []string{docStopReasons, docStreaming, docStreamingRefusals, docAgentStopReasons, docAgentLoop,
	docCompaction, docCompactionOnDemand, docCompactionThreshold, docRefusals}

func stopDoc(section, anchor string) DocRef {
	return DocRef{Title: "Stop reasons and fallback", Section: section, URL: docStopReasons + "#" + anchor}
}

func streamDoc(section, anchor string) DocRef {
	return DocRef{Title: "Streaming messages", Section: section, URL: docStreaming + "#" + anchor}
}

// Sections of "Stop reasons and fallback" the advice cites.
var (
	docQuickReference  = stopDoc("Quick reference", "quick-reference")
	docStopReasonField = stopDoc("The stop_reason field", "the-stop-reason-field")
	docEndTurn         = stopDoc("end_turn", "end-turn")
	docMaxTokens       = stopDoc("max_tokens", "max-tokens")
	docStopSequence    = stopDoc("stop_sequence", "stop-sequence")
	docToolUse         = stopDoc("tool_use", "tool-use")
	docPauseTurn       = stopDoc("pause_turn", "pause-turn")
	docRefusal         = stopDoc("refusal", "refusal")
	docContextWindow   = stopDoc("model_context_window_exceeded", "model-context-window-exceeded")
	// "Empty responses with end_turn" and "Incomplete tool use blocks" are
	// collapsible parts of the end_turn and max_tokens sections, with no
	// anchor of their own: the links land on the section around them.
	docEmptyTurn         = stopDoc("Empty responses with end_turn", "end-turn")
	docIncompleteToolUse = stopDoc("Incomplete tool use blocks", "max-tokens")
	docTruncated         = stopDoc("Handle truncated responses gracefully", "handle-truncated-responses-gracefully")
	docPauseRetry        = stopDoc("Implement retry logic for pause_turn", "implement-retry-logic-for-pause-turn")
	docBestPractices     = stopDoc("Best practices for handling stop reasons", "best-practices-for-handling-stop-reasons")
	// The "Common patterns" sections.
	docToolWorkflows = stopDoc("Handling tool use workflows", "handling-tool-use-workflows")
	docCompleteResp  = stopDoc("Ensuring complete responses", "ensuring-complete-responses")
	docMaxWithout    = stopDoc("Getting maximum tokens without knowing input size", "getting-maximum-tokens-without-knowing-input-size")
)

// Sections of the other pages.
var (
	// docStreamEvents is where the stream's events, message_delta (which
	// carries stop_reason) and message_stop, are described.
	docStreamEvents = streamDoc("Event types", "event-types")
	docStreamErrors = streamDoc("Error events", "error-events")
	// docRefusalReset is the section on removing a refused turn before
	// continuing.
	docRefusalReset = DocRef{Title: "Handle streaming refusals", Section: "Reset context after refusal",
		URL: docStreamingRefusals + "#reset-context-after-refusal"}
	docAgentStops = DocRef{Title: "Agent SDK: Handle stop reasons", Section: "Available stop reasons",
		URL: docAgentStopReasons + "#available-stop-reasons"}
	docAgentErrorStops = DocRef{Title: "Agent SDK: Handle stop reasons", Section: "Stop reasons on error results",
		URL: docAgentStopReasons + "#stop-reasons-on-error-results"}
	// agentDoc is the section of the agent loop on the result message,
	// whose subtype says how a run ended.
	agentDoc = DocRef{Title: "Agent SDK: How the agent loop works", Section: "Handle the result",
		URL: docAgentLoop + "#handle-the-result"}
	// docCompactionChoose is the overview's comparison of the two ways to
	// compact, including what each sends back after the block.
	docCompactionChoose = DocRef{Title: "Compaction overview", Section: "Choose how to compact",
		URL: docCompaction + "#choose-how-to-compact"}
	// docCompactionContinue is how to continue after an on-demand
	// compaction block.
	docCompactionContinue = DocRef{Title: "Compaction on demand", Section: "Continue from the summary",
		URL: docCompactionOnDemand + "#continue-from-the-summary"}
	// docCompactionPause is the threshold page's section on
	// pause_after_compaction.
	docCompactionPause = DocRef{Title: "Compaction at a token threshold", Section: "Pausing after compaction",
		URL: docCompactionThreshold + "#pausing-after-compaction"}
	// docRefusalResponse is the section on a refusal's stop_details; the
	// page gives its heading the anchor refusal-response.
	docRefusalResponse = DocRef{Title: "Refusals and fallback", Section: "What a refusal looks like", URL: docRefusals + "#refusal-response"}
)

// Advice is what to do about something, and the documentation it follows:
// every sentence of Text comes from Source.
type Advice struct {
	Text   string
	Source DocRef
}

// Colour is a colour of the dashboard, as CSS: Light for the light scheme,
// Dark for the dark one when it differs ("" when it does not).
type Colour struct {
	Light string
	Dark  string
}

// The palette: Okabe-Ito, distinguishable with the common colour-vision
// deficiencies, and three greys and reds of stopscope's own.
var (
	colourBlue       = Colour{Light: "#0072B2"}
	colourOrange     = Colour{Light: "#E69F00"}
	colourSkyBlue    = Colour{Light: "#56B4E9"}
	colourGreen      = Colour{Light: "#009E73"}
	colourYellow     = Colour{Light: "#C9B400"}
	colourVermilion  = Colour{Light: "#D55E00"}
	colourPurple     = Colour{Light: "#CC79A7"}
	colourGrey       = Colour{Light: "#8a8f98"}
	colourCompaction = Colour{Light: "#5d3a9b", Dark: "#b39ddb"}
	colourUnknown    = Colour{Light: "#444444", Dark: "#cfcfcf"}
	colourError      = Colour{Light: "#a1001a", Dark: "#ff6b81"}
)

// StopReasonInfo describes one stop reason.
type StopReasonInfo struct {
	Reason StopReason
	// Label is the name pages show: the API's own value, which is what
	// users search their code and logs for.
	Label   string
	Colour  Colour
	Meaning string
	Advice  Advice
	// More is further advice on a Messages API response, each from its own
	// source.
	More []Advice
	// AgentMeaning and AgentAdvice are what the stop reason means and what
	// to do when it ends an Agent SDK result, where the SDK makes the
	// requests; "" and nil mean Meaning and Advice apply there too.
	AgentMeaning string
	AgentAdvice  []Advice
	// Raises are the flags Classify raises on every response with this
	// stop reason.
	Raises []Flag
	// Continues marks a stop reason the client is meant to continue from
	// by sending the response back (max_tokens, pause_turn, compaction):
	// FindChains and the failure patterns follow such a response through
	// its continuations.
	Continues bool
	// unknown marks StopUnknownInfo.
	unknown bool
}

// maxTokensAdvice is what to do about a response cut at max_tokens, each
// piece from the section it follows.
var maxTokensAdvice = []Advice{
	{remedyMaxTokens, docQuickReference},
	{remedyMaxTokensContinue, docCompleteResp},
	{remedyMaxTokensTell, docTruncated},
	{remedyMaxTokensToolUse, docIncompleteToolUse},
}

// StopReasonTable lists the stop reasons of the Messages API in display
// order. A new stop reason is one line here.
var StopReasonTable = []StopReasonInfo{
	{Reason: StopEndTurn, Label: "end_turn", Colour: colourBlue,
		Meaning: "Claude finished its turn naturally.",
		Advice:  Advice{remedyEndTurn, docEndTurn}},
	{Reason: StopMaxTokens, Label: "max_tokens", Colour: colourOrange, Raises: []Flag{FlagTruncated}, Continues: true,
		Meaning: "The response reached the request's max_tokens.",
		Advice:  maxTokensAdvice[0], More: maxTokensAdvice[1:],
		AgentAdvice: []Advice{{remedyAgentMaxTokens, docAgentStops}}},
	{Reason: StopStopSequence, Label: "stop_sequence", Colour: colourSkyBlue,
		Meaning: "The response reached one of the request's stop_sequences.",
		Advice:  Advice{remedyStopSequence, docStopSequence}},
	{Reason: StopToolUse, Label: "tool_use", Colour: colourGreen,
		Meaning:      "Claude called a tool and waits for its result.",
		Advice:       Advice{remedyToolUse, docToolUse},
		AgentMeaning: "The run's final output was a tool call, which is uncommon: the SDK normally runs tools before it returns the result.",
		AgentAdvice:  []Advice{{remedyAgentToolUse, docAgentErrorStops}}},
	{Reason: StopPauseTurn, Label: "pause_turn", Colour: colourYellow, Continues: true,
		Meaning: "A server tool paused a long-running turn.",
		Advice:  Advice{remedyPauseTurn, docPauseTurn}, More: []Advice{{remedyPauseTurnRetry, docPauseRetry}}},
	{Reason: StopRefusal, Label: "refusal", Colour: colourVermilion, Raises: []Flag{FlagRefusal},
		Meaning: "Claude declined to respond.",
		Advice:  Advice{remedyRefusal, docRefusal}, More: []Advice{{remedyRefusalReset, docRefusalReset}}},
	{Reason: StopModelContextWindowExceeded, Label: "model_context_window_exceeded", Colour: colourPurple, Raises: []Flag{FlagTruncated},
		Meaning: "The input plus the output reached the model's context window.",
		Advice:  Advice{remedyContextWindow, docContextWindow}, More: []Advice{{remedyContextWindowMax, docMaxWithout}}},
	{Reason: StopCompaction, Label: "compaction", Colour: colourCompaction, Continues: true,
		Meaning: "Compaction (beta) summarised the conversation: the response holds only the compaction block.",
		Advice:  Advice{remedyCompaction, docCompactionChoose}, More: []Advice{{remedyCompactionPause, docCompactionPause}}},
}

// StopNullInfo describes the null stop reason: none was sent. What that
// means depends on the kind of record: a Messages API response or stream
// cut short, or an Agent SDK run that received no API response.
var StopNullInfo = StopReasonInfo{
	Reason: StopNull, Label: "null", Colour: colourGrey,
	Meaning:      "No stop reason arrived: the response or stream was cut short before its message_delta.",
	Advice:       Advice{remedyNull, docStreamEvents},
	AgentMeaning: "No API response was received: an error occurred before the first request, or the result was replayed from a cached session.",
	AgentAdvice:  []Advice{{remedyAgentNull, docAgentStops}},
}

// StopUnknownInfo describes every stop reason not in StopReasonTable.
var StopUnknownInfo = StopReasonInfo{
	Label: "unknown", Colour: colourUnknown, Raises: []Flag{FlagUnknownStopReason}, unknown: true,
	Meaning: "A stop reason stopscope does not know: kept exactly as it came.",
	Advice:  Advice{remedyUnknown, docBestPractices},
}

// MeaningFor is what the stop reason means on a record of kind k.
func (i StopReasonInfo) MeaningFor(k Kind) string {
	if k == KindAgentResult && i.AgentMeaning != "" {
		return i.AgentMeaning
	}
	return i.Meaning
}

// AdviceFor is what to do about the stop reason on a record of kind k,
// each piece with its source: the Agent SDK's where it differs, the
// Messages API's otherwise.
func (i StopReasonInfo) AdviceFor(k Kind) []Advice {
	if k == KindAgentResult && len(i.AgentAdvice) > 0 {
		return slices.Clone(i.AgentAdvice)
	}
	return append([]Advice{i.Advice}, i.More...)
}

// Key is the stop reason as it appears in counts and URLs ("null" for
// none, "unknown" for StopUnknownInfo).
func (i StopReasonInfo) Key() string {
	if i.unknown {
		return "unknown"
	}
	return i.Reason.Key()
}

// Class is the stylesheet class that colours the stop reason.
func (i StopReasonInfo) Class() string { return "sr-" + i.Key() }

// Var is the stylesheet custom property holding the stop reason's colour.
func (i StopReasonInfo) Var() string { return "--sr-" + i.Key() }

// StopReasonInfoOf returns what StopReasonTable says about r: StopNullInfo
// for null and StopUnknownInfo for a reason it does not list.
func StopReasonInfoOf(r StopReason) StopReasonInfo {
	if r == StopNull {
		return StopNullInfo
	}
	if i := slices.IndexFunc(StopReasonTable, func(i StopReasonInfo) bool { return i.Reason == r }); i >= 0 {
		return StopReasonTable[i]
	}
	return StopUnknownInfo
}

// FlagInfo describes one flag.
type FlagInfo struct {
	Flag Flag
	// Bit is the flag's bit in a stored Flags mask. Records keep it in
	// every database, so a flag's Bit never changes and is never reused;
	// the table's order is display order only.
	Bit     uint8
	Label   string
	Colour  Colour
	Meaning string
	Advice  Advice
	// More is further advice, each from its own source.
	More []Advice
	// Metric is the headline rate that counts the flag, or "".
	Metric Metric
}

// flagTable lists the flags in display order. It is an array so that
// Counts can hold one count per flag. A new flag is one line here, with a
// Bit never used before, plus a migration adding its rollup column (named
// as the flag) to rollups_1m, rollups_1h and rollups_1d in both dialects.
var flagTable = [...]FlagInfo{
	{Flag: FlagEmptyTurn, Bit: 0, Label: "Empty turns", Colour: colourBlue, Metric: MetricEmptyTurn,
		Meaning: "An end_turn message whose content is empty or only blank text (typically 2–3 output tokens).",
		Advice:  Advice{remedyEmptyTurn, docEmptyTurn}},
	{Flag: FlagTruncated, Bit: 1, Label: "Truncation", Colour: colourOrange, Metric: MetricTruncation,
		Meaning: "The response stopped at max_tokens or model_context_window_exceeded.",
		Advice:  maxTokensAdvice[0],
		More:    append(slices.Clone(maxTokensAdvice[1:]), Advice{remedyContextWindow, docContextWindow})},
	{Flag: FlagRefusal, Bit: 2, Label: "Refusals", Colour: colourVermilion, Metric: MetricRefusal,
		Meaning: "The response's stop reason is refusal.",
		Advice:  Advice{remedyRefusal, docRefusal}, More: []Advice{{remedyRefusalReset, docRefusalReset}}},
	{Flag: FlagIncompleteStream, Bit: 3, Label: "Incomplete streams", Colour: colourUnknown,
		Meaning: "A stream with no message_delta (no stop reason arrived), or one that ended in an error event.",
		Advice:  Advice{remedyIncompleteStream, docStreamErrors}},
	{Flag: FlagUnknownStopReason, Bit: 4, Label: "Unknown stop reasons", Colour: colourUnknown,
		Meaning: "A stop reason outside the known list, kept as it came.",
		Advice:  Advice{remedyUnknown, docBestPractices}},
	{Flag: FlagNoStopReason, Bit: 5, Label: "No stop reason", Colour: colourGrey,
		Meaning: "A message not recorded as a stream that came without a stop reason, which every successful Messages API response carries: something on the way dropped it.",
		Advice:  Advice{remedyNoStopReason, docStopReasonField}},
	{Flag: FlagProbablyTruncated, Bit: 6, Label: "Probably truncated", Colour: colourOrange,
		Meaning: "No stop reason arrived, but the output tokens reached the request's max_tokens: most likely cut at max_tokens. A hint; the stop reason stays null.",
		Advice:  Advice{remedyProbablyTruncated, docMaxTokens}},
}

// FlagTable lists the flags in display order.
var FlagTable = flagTable[:]

// FlagMask has the bit of every flag set.
var FlagMask = func() Flags {
	var m Flags
	for _, i := range flagTable {
		m |= 1 << i.Bit
	}
	return m
}()

// Advices is the flag's advice and its further advice, in order.
func (i FlagInfo) Advices() []Advice { return append([]Advice{i.Advice}, i.More...) }

// Class is the stylesheet class of the flag's badge.
func (i FlagInfo) Class() string { return "flag-" + string(i.Flag) }

// Var is the stylesheet custom property holding the flag's colour.
func (i FlagInfo) Var() string { return "--flag-" + string(i.Flag) }

// flagIndex returns f's index in flagTable, or -1.
func flagIndex(f Flag) int {
	for i := range flagTable {
		if flagTable[i].Flag == f {
			return i
		}
	}
	return -1
}

// FlagInfoOf returns what FlagTable says about f, and whether it lists f.
func FlagInfoOf(f Flag) (FlagInfo, bool) {
	if i := flagIndex(f); i >= 0 {
		return flagTable[i], true
	}
	return FlagInfo{}, false
}

// CauseInfo describes one cause.
type CauseInfo struct {
	Cause Cause
	// Flag is the flag the cause explains.
	Flag    Flag
	Label   string
	Colour  Colour
	Meaning string
	Advice  Advice
}

// causeTable lists the causes in display order; an array so that Counts
// can hold one count per cause. A new cause is one line here, plus a
// migration adding its column (named as the cause) to records and to the
// three rollup tables in both dialects.
var causeTable = [...]CauseInfo{
	{Cause: CauseTextAfterToolResult, Flag: FlagEmptyTurn, Label: "Text right after a tool_result", Colour: colourBlue,
		Meaning: "The request's last user message put a text block right after a tool_result, which teaches Claude to end its turn with nothing.",
		Advice:  Advice{remedyTextAfterToolResult, docEmptyTurn}},
	{Cause: CauseCompletedResponseSentBack, Flag: FlagEmptyTurn, Label: "Completed response sent back", Colour: colourSkyBlue,
		Meaning: "The request ended with an assistant turn that was already finished, with nothing added after it: Claude had decided it was done, so it stays done.",
		Advice:  Advice{remedyCompletedResponseSentBack, docEmptyTurn}},
}

// CauseTable lists the causes in display order.
var CauseTable = causeTable[:]

// AllCauses lists every cause in display order.
var AllCauses = keysOf(CauseTable, func(i CauseInfo) Cause { return i.Cause })

// Class is the stylesheet class that colours the cause.
func (i CauseInfo) Class() string { return "cause-" + string(i.Cause) }

// Var is the stylesheet custom property holding the cause's colour.
func (i CauseInfo) Var() string { return "--cause-" + string(i.Cause) }

func causeIndex(c Cause) int {
	for i := range causeTable {
		if causeTable[i].Cause == c {
			return i
		}
	}
	return -1
}

// CauseInfoOf returns what CauseTable says about c, and whether it lists c.
func CauseInfoOf(c Cause) (CauseInfo, bool) {
	if i := causeIndex(c); i >= 0 {
		return causeTable[i], true
	}
	return CauseInfo{}, false
}

// KindInfo describes one kind of record.
type KindInfo struct {
	Kind    Kind
	Label   string
	Meaning string
	// Colour is the zero Colour for kinds pages do not colour.
	Colour Colour
	// Metric is the headline rate that counts the kind, or "".
	Metric Metric
}

// KindTable lists the kinds in display order.
var KindTable = []KindInfo{
	{Kind: KindMessage, Label: "Messages API response", Meaning: "A Messages API response, plain or streamed."},
	{Kind: KindAgentResult, Label: "Agent SDK result", Meaning: "The result message that ends a Claude Agent SDK run."},
	{Kind: KindError, Label: "Failed request", Colour: colourError, Metric: MetricError,
		Meaning: "A request that failed (HTTP 4xx/5xx, or a stream that ended in an error event): not a stop reason."},
}

// Class is the stylesheet class that colours the kind, or "" for a kind
// without a colour.
func (i KindInfo) Class() string {
	if i.Colour == (Colour{}) {
		return ""
	}
	return "kind-" + string(i.Kind)
}

// Var is the stylesheet custom property holding the kind's colour.
func (i KindInfo) Var() string { return "--kind-" + string(i.Kind) }

// KindInfoOf returns what KindTable says about k, and whether it lists k.
func KindInfoOf(k Kind) (KindInfo, bool) {
	if i := slices.IndexFunc(KindTable, func(i KindInfo) bool { return i.Kind == k }); i >= 0 {
		return KindTable[i], true
	}
	return KindInfo{}, false
}

// RefusalCategoryInfo describes one refusal category (stop_details.category).
type RefusalCategoryInfo struct {
	Category RefusalCategory
	Label    string
	Meaning  string
}

// RefusalCategoryTable lists the refusal categories of the Messages API in
// display order, null last. A new category is one line here.
var RefusalCategoryTable = []RefusalCategoryInfo{
	{Category: RefusalCategoryCyber, Label: "Cyber",
		Meaning: "The request could enable cyber harm, such as malware or exploit development; benign security work can trigger it too."},
	{Category: RefusalCategoryBio, Label: "Biology",
		Meaning: "The request could enable biological harm, such as dangerous lab methods; beneficial life sciences work can trigger it too."},
	{Category: RefusalCategoryFrontierLLM, Label: "Frontier LLM development",
		Meaning: "The request could assist the development of competing AI models, which Anthropic's commercial terms restrict."},
	{Category: RefusalCategoryReasoningExtraction, Label: "Reasoning extraction",
		Meaning: "The request asks the model to reproduce its internal reasoning in the response text."},
	{Category: RefusalCategoryGeneralHarms, Label: "General harms",
		Meaning: "The request could be related to an area determined as harmful; benign work might sometimes trigger it."},
	{Category: RefusalCategoryNull, Label: "No category",
		Meaning: "The refusal maps to no named category (category null), or the response carried no stop_details."},
}

// RefusalCategories lists the refusal categories in display order.
var RefusalCategories = keysOf(RefusalCategoryTable, func(i RefusalCategoryInfo) RefusalCategory { return i.Category })

// RefusalCategoryAdvice is what to do about a refusal with stop_details:
// the documentation's fix.
var RefusalCategoryAdvice = Advice{remedyRefusalFallback, docRefusalResponse}

// RefusalCategoryInfoOf returns what RefusalCategoryTable says about c, and
// whether it lists c.
func RefusalCategoryInfoOf(c RefusalCategory) (RefusalCategoryInfo, bool) {
	if i := slices.IndexFunc(RefusalCategoryTable, func(i RefusalCategoryInfo) bool { return i.Category == c }); i >= 0 {
		return RefusalCategoryTable[i], true
	}
	return RefusalCategoryInfo{Category: c, Label: string(c), Meaning: "A refusal category stopscope does not know: kept exactly as it came."}, false
}

// AgentSubtypeInfo describes one Agent SDK result subtype.
type AgentSubtypeInfo struct {
	Subtype string
	Meaning string
	// Advice is the zero Advice for success.
	Advice Advice
}

// AgentSubtypeTable lists the Agent SDK result subtypes in display order.
var AgentSubtypeTable = []AgentSubtypeInfo{
	{Subtype: SubtypeSuccess, Meaning: "The run finished."},
	{Subtype: SubtypeErrorMaxTurns, Meaning: "The run reached max_turns.", Advice: Advice{remedyMaxTurns, agentDoc}},
	{Subtype: SubtypeErrorMaxBudgetUSD, Meaning: "The run reached max_budget_usd.", Advice: Advice{remedyMaxBudget, agentDoc}},
	{Subtype: SubtypeErrorMaxStructuredOutputRetries, Meaning: "The run could not produce output matching its schema.",
		Advice: Advice{remedyMaxStructuredOutput, agentDoc}},
	{Subtype: SubtypeErrorDuringExecution, Meaning: "The run failed during execution.", Advice: Advice{remedyDuringExecution, agentDoc}},
}

// agentOtherAdvice is the advice for a subtype AgentSubtypeTable does not
// list.
var agentOtherAdvice = Advice{remedyAgentOther, agentDoc}

// MetricColour returns the colour of a headline metric: that of the flag
// or kind it counts.
func MetricColour(m Metric) (Colour, bool) {
	for _, f := range flagTable {
		if f.Metric == m && m != "" {
			return f.Colour, true
		}
	}
	for _, k := range KindTable {
		if k.Metric == m && m != "" {
			return k.Colour, true
		}
	}
	return Colour{}, false
}

// MetricClass is the stylesheet class that colours a headline metric, or
// "" for a metric that is not one.
func MetricClass(m Metric) string {
	if _, ok := MetricColour(m); !ok {
		return ""
	}
	return "metric-" + string(m)
}

// keysOf returns the keys of a table, with no spare capacity so that an
// append to the result never writes into another's.
func keysOf[I, K any](table []I, key func(I) K) []K {
	out := make([]K, len(table))
	for i, x := range table {
		out[i] = key(x)
	}
	return out
}
