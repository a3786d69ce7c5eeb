package analytics

// The advice below follows Anthropic's documentation on handling stop
// reasons, on streaming and on the Agent SDK's result subtypes; the tables
// in vocabulary.go name the section each piece comes from. It is short on
// purpose: pages show it next to a count, and a user should be able to act
// on it at once.

const (
	remedyEmptyTurn = "Don't put text right after a tool_result: send tool_result blocks alone in the user turn. " +
		"Retrying the empty response unchanged will not help; add a user message such as \"Please continue\" instead."
	remedyTextAfterToolResult = "The request put text right after a tool_result, which teaches Claude to end its turn with nothing. " +
		"Send the tool_result blocks alone (text, if any, before them or in a later turn)."
	remedyUnchangedRetry = "Sending the same messages again, or the empty assistant turn back, gets the same empty answer: Claude already decided it was done. " +
		"Fix the cause (text after a tool_result), or add a user message such as \"Please continue\"."
	remedyRecovered = "A continue prompt recovered these empty turns, at the cost of an extra call each. " +
		"Remove the cause so it is not needed: send tool_result blocks alone, with no text right after them."
	remedyMaxTokens = "The response hit max_tokens. Raise max_tokens, or continue it: send the partial response back as the last assistant turn (prefill) " +
		"or with a user message asking to continue. With tool use, a cut-off tool_use block is incomplete: retry with a larger max_tokens."
	remedyTruncationUnresolved = "These responses were cut at max_tokens and never finished with end_turn or stop_sequence. " +
		"Raise max_tokens, continue until the stop reason is end_turn, or ask for a shorter answer."
	remedyContextWindow = "The input plus the output filled the model's context window. Treat the response as truncated; " +
		"trim or summarise the history, drop old tool results, lower max_tokens, or use a model with a larger context window."
	remedyPauseTurn = "A server tool (such as web search) hit its iteration limit and paused. Send the response back unchanged as the assistant turn, " +
		"with no new user message, to let it continue; cap the resumptions in your loop."
	remedyPauseTurnUnresolved = "These paused turns did not resolve within the retry limit. Keep sending the assistant content back as is " +
		"(without changing it or adding a user message), and if it keeps pausing, narrow the request or limit the server tool's use (e.g. max_uses)."
	remedyToolUseLoop = "Claude kept calling tools without finishing. Cap the agent loop's iterations, make sure tool results are informative " +
		"(errors with is_error and a reason, not empty output), and stop repeated identical calls."
	remedyToolUse      = "Claude is calling a tool: run it and send the result back as a tool_result block in the next user turn."
	remedyStopSequence = "One of your stop_sequences fired: read stop_sequence to see which one. If it fires too early, choose a rarer sequence."
	remedyEndTurn      = "Claude finished naturally: use the response."
	remedyNull         = "No stop reason was sent: the response or stream was cut short. Check that streams are read to message_stop, and retry the request."
	remedyUnknown      = "An unknown stop reason: update your client or SDK, and handle unknown values explicitly rather than as success."
	remedyRefusal      = "Claude declined to respond. Review or rephrase the content; before continuing the conversation remove or rewrite the refused turn " +
		"(continuing from it gets more refusals). For content your use case needs, retry on a fallback model."
	remedyRefusalSafetyFiltered = "This model's API safety filters refuse more often than other models'. Review or rephrase the content and remove the refused turn " +
		"before continuing. If benign requests are refused, use the documented fallback: retry on another model " +
		"(for Claude Sonnet 4.5 and Opus 4.1 the documentation suggests claude-sonnet-4-20250514, which has different usage restrictions)."
	remedyIncompleteStream = "The stream ended without a stop reason or with an error event. Read streams to message_stop, handle error events, " +
		"and retry; the partial content is not a complete answer."
	remedyMaxTurns            = "The agent ran out of turns. Raise max_turns, or narrow the task so it needs fewer steps."
	remedyMaxBudget           = "The agent hit its cost budget. Raise max_budget_usd, or narrow the task."
	remedyMaxStructuredOutput = "The agent could not produce output matching the schema within its retries. Simplify the output schema, " +
		"describe it in the prompt, or check it is satisfiable."
	remedyDuringExecution   = "The agent failed during execution. Read the error in the result and the session log."
	remedyBeforeFirstAnswer = "Some runs failed before any API answer (no turns, no usage): check the API key, network access, " +
		"model name and SDK configuration."
	remedyAgentOther = "The agent run ended without success: read the result's errors."
)

// StopReasonRemediation returns what to do about responses with stop reason
// r, for "what to do about it" on pages. Unknown values get generic advice.
func StopReasonRemediation(r StopReason) string { return StopReasonInfoOf(r).Advice.Text }

// FlagRemediation returns what to do about records with flag f, or "" for a
// flag that is not one of AllFlags.
func FlagRemediation(f Flag) string {
	i, _ := FlagInfoOf(f)
	return i.Advice.Text
}

// CauseRemediation returns what to do about a cause, or "" for an unknown
// one.
func CauseRemediation(c Cause) string {
	i, _ := CauseInfoOf(c)
	return i.Advice.Text
}

// AgentSubtypeAdvice returns what to do about Agent SDK runs that ended
// with subtype st (the zero Advice for success).
func AgentSubtypeAdvice(st string) Advice {
	for _, i := range AgentSubtypeTable {
		if i.Subtype == st {
			return i.Advice
		}
	}
	return agentOtherAdvice
}

// AgentSubtypeRemediation returns what to do about Agent SDK runs that
// ended with subtype st ("" for success).
func AgentSubtypeRemediation(st string) string { return AgentSubtypeAdvice(st).Text }

// RefusalRemediation returns what to do about refusals; safetyFiltered says
// whether the model is one whose API safety filters refuse more often.
func RefusalRemediation(safetyFiltered bool) string {
	if safetyFiltered {
		return remedyRefusalSafetyFiltered
	}
	return remedyRefusal
}

// PatternRemediation returns what to do about a pattern of the given kind;
// key is the Pattern's Key (the subtype of agent_subtype). FindPatterns
// refines it for refusals on safety-filtered models and for agent runs that
// failed before any answer.
func PatternRemediation(kind, key string) string {
	switch kind {
	case PatternEmptyTurnTextAfterToolResult:
		return remedyTextAfterToolResult + " Retrying the empty response unchanged will not help; add a user message such as \"Please continue\" instead."
	case PatternEmptyTurnUnchangedRetry:
		return remedyUnchangedRetry
	case PatternEmptyTurnRecovered:
		return remedyRecovered
	case PatternTruncationChain:
		return remedyMaxTokens
	case PatternTruncationUnresolved:
		return remedyTruncationUnresolved
	case PatternContextWindowExceeded:
		return remedyContextWindow
	case PatternPauseTurnChain:
		return remedyPauseTurn
	case PatternPauseTurnUnresolved:
		return remedyPauseTurnUnresolved
	case PatternToolUseLoop:
		return remedyToolUseLoop
	case PatternAgentSubtype:
		return AgentSubtypeRemediation(key)
	case PatternRefusalsByModel:
		return remedyRefusal
	}
	return ""
}
