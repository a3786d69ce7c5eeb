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

// The documentation the advice follows.
const (
	docStopReasons = "https://docs.anthropic.com/en/api/handling-stop-reasons"
	docStreaming   = "https://docs.anthropic.com/en/docs/build-with-claude/streaming"
	docAgentSDK    = "https://docs.anthropic.com/en/api/agent-sdk/typescript"
)

func stopDoc(section, anchor string) DocRef {
	return DocRef{Title: "Handling stop reasons", Section: section, URL: docStopReasons + "#" + anchor}
}

func streamDoc(section, anchor string) DocRef {
	return DocRef{Title: "Streaming Messages", Section: section, URL: docStreaming + "#" + anchor}
}

// agentDoc is the Agent SDK reference on the result message, whose subtype
// says how a run ended.
var agentDoc = DocRef{Title: "Agent SDK reference", Section: "SDKResultMessage", URL: docAgentSDK + "#sdkresultmessage"}

// Advice is what to do about something, and the documentation it follows.
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
	colourBlue      = Colour{Light: "#0072B2"}
	colourOrange    = Colour{Light: "#E69F00"}
	colourSkyBlue   = Colour{Light: "#56B4E9"}
	colourGreen     = Colour{Light: "#009E73"}
	colourYellow    = Colour{Light: "#C9B400"}
	colourVermilion = Colour{Light: "#D55E00"}
	colourPurple    = Colour{Light: "#CC79A7"}
	colourGrey      = Colour{Light: "#8a8f98"}
	colourUnknown   = Colour{Light: "#444444", Dark: "#cfcfcf"}
	colourError     = Colour{Light: "#a1001a", Dark: "#ff6b81"}
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
	// Raises are the flags Classify raises on every response with this
	// stop reason.
	Raises []Flag
	// unknown marks StopUnknownInfo.
	unknown bool
}

// StopReasonTable lists the stop reasons of the Messages API in display
// order. A new stop reason is one line here.
var StopReasonTable = []StopReasonInfo{
	{Reason: StopEndTurn, Label: "end_turn", Colour: colourBlue,
		Meaning: "Claude finished its turn naturally.",
		Advice:  Advice{remedyEndTurn, stopDoc("end_turn", "end-turn")}},
	{Reason: StopMaxTokens, Label: "max_tokens", Colour: colourOrange, Raises: []Flag{FlagTruncated},
		Meaning: "The response reached the request's max_tokens.",
		Advice:  Advice{remedyMaxTokens, stopDoc("max_tokens", "max-tokens")}},
	{Reason: StopStopSequence, Label: "stop_sequence", Colour: colourSkyBlue,
		Meaning: "The response reached one of the request's stop_sequences.",
		Advice:  Advice{remedyStopSequence, stopDoc("stop_sequence", "stop-sequence")}},
	{Reason: StopToolUse, Label: "tool_use", Colour: colourGreen,
		Meaning: "Claude called a tool and waits for its result.",
		Advice:  Advice{remedyToolUse, stopDoc("tool_use", "tool-use")}},
	{Reason: StopPauseTurn, Label: "pause_turn", Colour: colourYellow,
		Meaning: "A server tool paused a long-running turn.",
		Advice:  Advice{remedyPauseTurn, stopDoc("pause_turn", "pause-turn")}},
	{Reason: StopRefusal, Label: "refusal", Colour: colourVermilion, Raises: []Flag{FlagRefusal},
		Meaning: "Claude declined to respond.",
		Advice:  Advice{remedyRefusal, stopDoc("refusal", "refusal")}},
	{Reason: StopModelContextWindowExceeded, Label: "model_context_window_exceeded", Colour: colourPurple, Raises: []Flag{FlagTruncated},
		Meaning: "The input plus the output reached the model's context window.",
		Advice:  Advice{remedyContextWindow, stopDoc("model_context_window_exceeded", "model-context-window-exceeded")}},
}

// StopNullInfo describes the null stop reason: none was sent.
var StopNullInfo = StopReasonInfo{
	Reason: StopNull, Label: "null", Colour: colourGrey,
	Meaning: "No stop reason arrived: the response or stream was cut short, or an Agent SDK run failed before any answer.",
	Advice:  Advice{remedyNull, streamDoc("Event types", "event-types")},
}

// StopUnknownInfo describes every stop reason not in StopReasonTable.
var StopUnknownInfo = StopReasonInfo{
	Label: "unknown", Colour: colourUnknown, Raises: []Flag{FlagUnknownStopReason}, unknown: true,
	Meaning: "A stop reason stopscope does not know: kept exactly as it came.",
	Advice:  Advice{remedyUnknown, stopDoc("Best practices for handling stop reasons", "best-practices-for-handling-stop-reasons")},
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
		Advice:  Advice{remedyEmptyTurn, stopDoc("Empty responses with end_turn", "empty-responses-with-end-turn")}},
	{Flag: FlagTruncated, Bit: 1, Label: "Truncation", Colour: colourOrange, Metric: MetricTruncation,
		Meaning: "The response stopped at max_tokens or model_context_window_exceeded.",
		Advice: Advice{remedyMaxTokens + " If the stop reason is model_context_window_exceeded: " + remedyContextWindow,
			stopDoc("Handle truncated responses gracefully", "2-handle-truncated-responses-gracefully")}},
	{Flag: FlagRefusal, Bit: 2, Label: "Refusals", Colour: colourVermilion, Metric: MetricRefusal,
		Meaning: "The response's stop reason is refusal.",
		Advice:  Advice{remedyRefusal, stopDoc("refusal", "refusal")}},
	{Flag: FlagIncompleteStream, Bit: 3, Label: "Incomplete streams", Colour: colourUnknown,
		Meaning: "A stream with no message_delta (no stop reason arrived), or one that ended in an error event.",
		Advice:  Advice{remedyIncompleteStream, streamDoc("Error events", "error-events")}},
	{Flag: FlagUnknownStopReason, Bit: 4, Label: "Unknown stop reasons", Colour: colourUnknown,
		Meaning: "A stop reason outside the known list, kept as it came.",
		Advice:  Advice{remedyUnknown, stopDoc("Best practices for handling stop reasons", "best-practices-for-handling-stop-reasons")}},
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
		Advice:  Advice{remedyTextAfterToolResult, stopDoc("Empty responses with end_turn", "empty-responses-with-end-turn")}},
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
