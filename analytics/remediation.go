package analytics

import "strings"

// The advice below follows Anthropic's documentation on handling stop
// reasons, on streaming and on the Agent SDK; the tables in vocabulary.go
// name the section each text comes from, and every sentence of a text comes
// from that section (TestAdviceSources holds them to it). It is short on
// purpose: pages show it next to a count, and a user should be able to act
// on it at once.
//
// What the documentation orders, and the advice keeps:
//   - empty turns: fix the cause first (no text right after tool_result
//     blocks; don't send a completed answer back unchanged); retrying the
//     empty response unchanged does not help; a continuation prompt in a new
//     user message only as a last resort;
//   - max_tokens: continue with the partial response as the assistant turn
//     and a new user message, raise max_tokens, or tell the user the answer
//     was cut; never run a cut-off tool_use block;
//   - model_context_window_exceeded: a valid response, limited by the
//     window, which lets an app ask for the longest output without counting
//     its input: treat it as truncated, continue or trim the history;
//   - Agent SDK results: the SDK makes the requests, so the fixes are its
//     own options (turns, budget, schema), not a request's.

const (
	remedyEndTurn   = "Claude finished its turn: use the response."
	remedyEmptyTurn = "Fix the cause first: send tool_result blocks alone, with no text right after them (text you need goes in a later turn), " +
		"and don't send Claude's completed response back without adding anything: it stays done. " +
		"Retrying the empty response unchanged does not help. Only as a last resort, add a continuation prompt in a new user message."
	remedyTextAfterToolResult = "The request put text right after a tool_result, which teaches Claude to end its turn there. " +
		"Send the tool_result blocks alone; if you need the text, send it in a later turn."
	remedyTextAfterToolResultRetry = "Retrying the empty response unchanged does not help; a continuation prompt in a new user message is a last resort, after the cause is fixed."
	remedyUnchangedRetry           = "Sending the empty response back unchanged, or Claude's completed response without adding anything, gets the same empty answer: Claude already decided it was done. " +
		"Fix the cause instead (no text right after a tool_result); only as a last resort, add a continuation prompt in a new user message."
	remedyRecovered = "A continuation prompt in a new user message recovered these empty turns, at the cost of an extra call each; the documentation keeps it as a last resort. " +
		"Fix the cause so it is not needed: send tool_result blocks alone, with no text right after them."
	remedyMaxTokens            = "The response reached the request's max_tokens and is cut off: raise max_tokens, or continue the response."
	remedyMaxTokensContinue    = "To continue, send the partial response back as the assistant turn, then a new user message asking Claude to continue from where it left off."
	remedyMaxTokensTell        = "Or tell the user the answer was cut."
	remedyMaxTokensToolUse     = "A tool_use block cut off at max_tokens is incomplete: don't run it; retry with a larger max_tokens to get the whole call."
	remedyTruncationUnresolved = "These responses were cut at max_tokens and never finished with end_turn. Keep continuing (the partial response as the assistant turn, " +
		"then a new user message asking to continue) until the stop reason is end_turn, or raise max_tokens."
	remedyContextWindow = "The response is valid but stopped where the model's context window ended: treat it as truncated. " +
		"Continue it in a new turn, or trim the history (drop old tool results, summarise earlier turns) to leave room for a longer answer."
	remedyContextWindowMax = "This stop reason is what lets you request the maximum number of tokens without counting the input: " +
		"a max_tokens larger than the room the input leaves is the documented technique, not a fault."
	remedyPauseTurn           = "A server tool (such as web search) paused a long-running turn. Send the response back as it is, as the assistant turn, to let Claude continue."
	remedyPauseTurnRetry      = "Resume in a loop with a limit on how many times it resumes."
	remedyPauseTurnUnresolved = "These paused turns did not resolve within your retry limit. Keep sending the response back as it is to let Claude continue; " +
		"if it keeps pausing, narrow the request."
	remedyToolUseLoop = "Claude kept calling tools without finishing. Run each tool and send its result back as a tool_result block, " +
		"end the loop when the stop reason is no longer tool_use, and cap its iterations."
	remedyToolUse      = "Claude is calling a tool: run it and send the result back as a tool_result block in the next user message."
	remedyStopSequence = "One of your stop_sequences matched: the response's stop_sequence field says which."
	remedyNull         = "No stop reason arrived: the response or stream was cut short. Read streams through message_stop " +
		"(the stop reason comes in the message_delta event before it), and retry the request."
	remedyUnknown = "A stop reason this code does not know: handle unknown values explicitly rather than as success, and update your client or SDK."
	remedyRefusal = "Claude declined to respond. Don't retry the request unchanged: rephrase or modify it; " +
		"where the response has stop_details, its category and explanation say what was declined."
	// The docs once told refusals on Claude Sonnet 4.5 and Opus 4.1 (whose
	// API safety filters refuse more) to move to Sonnet 4; that tip is gone
	// from "Stop reasons and fallback", and Sonnet 4 was retired on
	// 2026-06-15, so such refusals get the docs' fallback advice instead.
	remedyRefusalSafetyFiltered = "If benign requests to this model are refused, retry them on the model stop_details.recommended_model names, " +
		"or on a fallback model."
	remedyRefusalReset     = "Before continuing the conversation, remove or rewrite the refused turn: continuing from it gets more refusals."
	remedyIncompleteStream = "The stream ended without a stop reason or with an error event: the partial content is not a complete answer. " +
		"Handle error events (such as overloaded_error) and retry the request."
	remedyMaxTurns            = "The run hit its turn limit. Raise maxTurns (max_turns in Python), or split the task so it needs fewer turns."
	remedyMaxBudget           = "The run hit its cost limit. Raise maxBudgetUsd (max_budget_usd in Python), or split the task."
	remedyMaxStructuredOutput = "The run could not produce output matching its schema within its retries. Simplify the output schema and check that it validates."
	remedyDuringExecution     = "The run failed during execution: read the result's errors field and the session log."
	remedyAgentOther          = "The run ended without success: read the result's errors field."
	// The Agent SDK's meaning of a null stop reason, and what follows.
	remedyAgentNull = "No API response was received: either an error occurred before the first request (read the result's errors field), " +
		"or the result was replayed from a cached session, which needs no action."
	remedyBeforeFirstAnswer = "Some runs received no API response (no turns, no usage): an error occurred before the first request. " +
		"Read the result's errors field, then what the first request needs: API key, network access, model name, SDK configuration."
	// The SDK makes the requests: a request's max_tokens is not the app's
	// to set, and the partial-response continuation does not apply. (The
	// section gives the meaning; the remedy follows from the SDK running
	// the loop.)
	remedyAgentMaxTokens = "The run's last model response reached the maximum output token limit, so its result may be cut off. " +
		"The SDK makes the requests, so the Messages API fix does not apply: resume the session and ask it to continue, or split the task into smaller steps."
	remedyAgentToolUse = "The run ended on a tool call that did not run: the result's stop_reason is that of the last assistant message before the run stopped. " +
		"If the subtype is an error (a turn or budget limit), raise that limit or split the task."
	remedyCompaction = "Compaction summarised the conversation and returned only the compaction block. Continue from it: after a compaction request, " +
		"send the block first in messages, in place of the messages it summarises; at a token threshold, append the response as usual, and the API drops what came before the block."
	remedyCompactionPause        = "With pause_after_compaction, the response stops after the block: add the content you want kept (such as the latest turns) after it, then continue."
	remedyCompactionNotContinued = "These compaction responses were never continued. Replace the messages you sent with the returned block, keep it exactly as it came, " +
		"and send it first on every later request."
	remedyRefusalFallback = "Retry the same request on the recommended model (stop_details.recommended_model) or on a fallback model; " +
		"in beta, fallbacks: \"default\" makes the API retry on the model Anthropic recommends for the category. " +
		"For a category with no recommended fallback the refusal stands: review the content."

	// Issue 14: the second cause of empty turns, an empty turn that shows
	// neither cause, and the hints of a missing stop reason.
	remedyCompletedResponseSentBack = "The request sent Claude's completed response back without adding anything, so Claude stays done and answers with nothing. " +
		"Don't send a finished response back on its own: add a new user message after it."
	remedyEmptyTurnRetry   = "Retrying the empty response unchanged does not help. Fix the cause above; only as a last resort, add a continuation prompt in a new user message."
	remedyEmptyTurnNoCause = "Claude ended its turn with nothing, and this request shows neither documented cause: it has no tool_result, and it does not end with a completed response sent back. " +
		"Retrying it unchanged does not help; add a continuation prompt in a new user message."
	remedyNoStopReason = "Every successful Messages API response carries a stop_reason; this one arrived without it, so something between the API and stopscope dropped it " +
		"(a proxy, an SDK wrapper or the instrumentation). Send the response as the API returned it, or fix the producer's mapping."
	remedyProbablyTruncated = "No stop reason arrived, but the output reached the request's max_tokens: treat the response as cut at max_tokens. " +
		"Continue it (the partial response as the assistant turn, then a new user message asking to continue), or raise max_tokens. " +
		"The stop reason stays null because none was sent; record it if your instrumentation can (OpenLLMetry drops it for streams)."
)

// AdviceText joins the texts of as, in order, for a place that shows
// advice as one paragraph (the JSON API, the alerts).
func AdviceText(as []Advice) string {
	var b strings.Builder
	for _, a := range as {
		if a.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Text)
	}
	return b.String()
}

// StopReasonRemediation returns what to do about responses with stop reason
// r, for "what to do about it" on pages. Unknown values get generic advice.
// This is the advice for Messages API responses; StopReasonInfo.AdviceFor
// gives each kind's.
func StopReasonRemediation(r StopReason) string {
	return AdviceText(StopReasonInfoOf(r).AdviceFor(KindMessage))
}

// FlagRemediation returns what to do about records with flag f, or "" for a
// flag that is not one of AllFlags.
func FlagRemediation(f Flag) string {
	i, ok := FlagInfoOf(f)
	if !ok {
		return ""
	}
	return AdviceText(i.Advices())
}

// FlagAdviceFor returns what to do about flag f on one record, of kind k
// and stop reason stop, each piece with its source: truncation gets the
// advice of its own stop reason for its kind (an Agent SDK run is not fixed
// like a request), a refusal that of a safety-filtered model where
// safetyFiltered says so, and every other flag the flag's. It returns nil
// for a flag that is not one of AllFlags.
func FlagAdviceFor(f Flag, k Kind, stop StopReason, safetyFiltered bool) []Advice {
	switch f {
	case FlagTruncated:
		return StopReasonInfoOf(stop).AdviceFor(k)
	case FlagRefusal:
		return RefusalAdvice(safetyFiltered)
	}
	i, ok := FlagInfoOf(f)
	if !ok {
		return nil
	}
	return i.Advices()
}

// CauseRemediation returns what to do about a cause, or "" for an unknown
// one.
func CauseRemediation(c Cause) string {
	i, _ := CauseInfoOf(c)
	return i.Advice.Text
}

// EmptyTurnAdvice returns what to do about the empty turn r, each piece
// with its source: once its causes are named (each shown with its own
// advice), that retrying unchanged does not help; when its request is known,
// has no tool_result and shows neither cause, advice that names no
// tool_result; the flag's advice otherwise.
func EmptyTurnAdvice(r *Record) []Advice {
	switch {
	case len(r.Causes) > 0:
		return []Advice{{remedyEmptyTurnRetry, docEmptyTurn}}
	case r.Req != nil && !hasToolResult(r.Req):
		return []Advice{{remedyEmptyTurnNoCause, docEmptyTurn}}
	}
	i, _ := FlagInfoOf(FlagEmptyTurn)
	return i.Advices()
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

// RefusalAdvice is what to do about refusals, each piece with its source;
// safetyFiltered says whether the model is one whose API safety filters
// refuse more often.
func RefusalAdvice(safetyFiltered bool) []Advice {
	out := StopReasonInfoOf(StopRefusal).AdviceFor(KindMessage)
	if safetyFiltered {
		out = append(out[:1:1], append([]Advice{{remedyRefusalSafetyFiltered, docRefusalResponse}}, out[1:]...)...)
	}
	return out
}

// RefusalRemediation returns what to do about refusals, as one text;
// safetyFiltered says whether the model is one whose API safety filters
// refuse more often.
func RefusalRemediation(safetyFiltered bool) string { return AdviceText(RefusalAdvice(safetyFiltered)) }

// PatternAdvice returns what to do about a pattern of the given kind, each
// piece with its source, or nil for an unknown kind; key is the Pattern's
// Key (the subtype of agent_subtype).
func PatternAdvice(kind, key string) []Advice {
	switch kind {
	case PatternEmptyTurnTextAfterToolResult:
		return []Advice{{remedyTextAfterToolResult, docEmptyTurn}, {remedyTextAfterToolResultRetry, docEmptyTurn}}
	case PatternEmptyTurnCompletedResponseSentBack:
		return []Advice{{remedyCompletedResponseSentBack, docEmptyTurn}, {remedyTextAfterToolResultRetry, docEmptyTurn}}
	case PatternEmptyTurnUnchangedRetry:
		return []Advice{{remedyUnchangedRetry, docEmptyTurn}}
	case PatternEmptyTurnRecovered:
		return []Advice{{remedyRecovered, docEmptyTurn}}
	case PatternTruncationChain:
		return StopReasonInfoOf(StopMaxTokens).AdviceFor(KindMessage)
	case PatternTruncationUnresolved:
		return []Advice{{remedyTruncationUnresolved, docCompleteResp}}
	case PatternContextWindowExceeded:
		return StopReasonInfoOf(StopModelContextWindowExceeded).AdviceFor(KindMessage)
	case PatternPauseTurnChain:
		return StopReasonInfoOf(StopPauseTurn).AdviceFor(KindMessage)
	case PatternPauseTurnUnresolved:
		return []Advice{{remedyPauseTurnUnresolved, docPauseRetry}}
	case PatternCompactionChain:
		return StopReasonInfoOf(StopCompaction).AdviceFor(KindMessage)
	case PatternCompactionUnresolved:
		return []Advice{{remedyCompactionNotContinued, docCompactionContinue}}
	case PatternToolUseLoop:
		return []Advice{{remedyToolUseLoop, docToolWorkflows}}
	case PatternAgentSubtype:
		return []Advice{AgentSubtypeAdvice(key)}
	case PatternRefusalsByModel:
		return RefusalAdvice(false)
	}
	return nil
}

// AdviceOf returns what to do about pattern p, each piece with its source:
// PatternAdvice of its kind, refined for refusals on safety-filtered models
// and for agent runs that failed before any answer.
func (p Pattern) AdviceOf() []Advice {
	switch {
	case p.Kind == PatternRefusalsByModel && p.Detail["safety_filtered"] == 1:
		return RefusalAdvice(true)
	case p.Kind == PatternAgentSubtype && p.Key == SubtypeErrorDuringExecution && p.Detail["before_first_answer"] > 0:
		return append(PatternAdvice(p.Kind, p.Key), Advice{remedyBeforeFirstAnswer, docAgentStops})
	}
	return PatternAdvice(p.Kind, p.Key)
}

// PatternRemediation returns what to do about a pattern of the given kind,
// as one text; key is the Pattern's Key (the subtype of agent_subtype).
// FindPatterns refines it for refusals on safety-filtered models and for
// agent runs that failed before any answer (Pattern.AdviceOf).
func PatternRemediation(kind, key string) string { return AdviceText(PatternAdvice(kind, key)) }
