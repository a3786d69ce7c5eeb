package otlp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// attrKey names an attribute read from spans and events.
type attrKey uint8

// The attributes read, across conventions.
const (
	genAIOperationName attrKey = iota
	oiSpanKind
	genAIProviderName
	genAISystem
	llmProvider
	llmSystem
	genAIResponseModel
	genAIRequestModel
	llmModelName
	llmResponseModelName
	llmRequestModelName
	genAIAgentNumTurns
	llmCostTotal
	genAIResponseFinishReasons
	genAIResponseID
	anthropicRequestID
	genAIConversationID
	sessionID
	userID
	endUserID
	anthropicStopReason
	llmFinishReason
	genAIRequestMaxTokens
	genAIRequestStopSequences
	genAIRequestStream
	llmInvocationParameters
	errorType
	httpResponseStatusCode
	genAIUsageCost
	genAIAgentDurationMS
	genAIUsageInputTokens
	genAIUsagePromptTokens
	genAIUsageOutputTokens
	genAIUsageCompletionTokens
	genAIUsageCacheReadInputTokens
	genAIUsageCacheReadInputTokensFlat
	genAIUsageCacheCreationInputTokens
	genAIUsageCacheCreationInputTokensFlat
	genAIUsageCacheWriteInputTokens
	genAIUsageCacheWriteInputTokensFlat
	llmTokenCountPrompt
	llmTokenCountCompletion
	llmTokenCountCacheRead
	llmTokenCountCacheWrite
	genAIInputMessages
	genAIOutputMessages
	oiInputValue
	oiOutputValue
	anthropicUsageCompactionInputTokens
	anthropicUsageCompactionOutputTokens
	anthropicUsageCacheCreation1hInputTokens
	genAIPromptName
	genAIPromptVersion
	oiPromptTemplateVersion
	anthropicResponseServiceTier

	numAttrKeys
)

var attrNames = [numAttrKeys]string{
	genAIOperationName:                     "gen_ai.operation.name",
	oiSpanKind:                             "openinference.span.kind",
	genAIProviderName:                      "gen_ai.provider.name",
	genAISystem:                            "gen_ai.system",
	llmProvider:                            "llm.provider",
	llmSystem:                              "llm.system",
	genAIResponseModel:                     "gen_ai.response.model",
	genAIRequestModel:                      "gen_ai.request.model",
	llmModelName:                           "llm.model_name",
	llmResponseModelName:                   "llm.response.model_name",
	llmRequestModelName:                    "llm.request.model_name",
	genAIAgentNumTurns:                     "gen_ai.agent.num_turns",
	llmCostTotal:                           "llm.cost.total",
	genAIResponseFinishReasons:             "gen_ai.response.finish_reasons",
	genAIResponseID:                        "gen_ai.response.id",
	anthropicRequestID:                     "anthropic.request.id",
	genAIConversationID:                    "gen_ai.conversation.id",
	sessionID:                              "session.id",
	userID:                                 "user.id",
	endUserID:                              "enduser.id",
	anthropicStopReason:                    "anthropic.message.stop_reason",
	llmFinishReason:                        "llm.finish_reason",
	genAIRequestMaxTokens:                  "gen_ai.request.max_tokens",
	genAIRequestStopSequences:              "gen_ai.request.stop_sequences",
	genAIRequestStream:                     "gen_ai.request.stream",
	llmInvocationParameters:                "llm.invocation_parameters",
	errorType:                              "error.type",
	httpResponseStatusCode:                 "http.response.status_code",
	genAIUsageCost:                         "gen_ai.usage.cost",
	genAIAgentDurationMS:                   "gen_ai.agent.duration_ms",
	genAIUsageInputTokens:                  "gen_ai.usage.input_tokens",
	genAIUsagePromptTokens:                 "gen_ai.usage.prompt_tokens",
	genAIUsageOutputTokens:                 "gen_ai.usage.output_tokens",
	genAIUsageCompletionTokens:             "gen_ai.usage.completion_tokens",
	genAIUsageCacheReadInputTokens:         "gen_ai.usage.cache_read.input_tokens",
	genAIUsageCacheReadInputTokensFlat:     "gen_ai.usage.cache_read_input_tokens",
	genAIUsageCacheCreationInputTokens:     "gen_ai.usage.cache_creation.input_tokens",
	genAIUsageCacheCreationInputTokensFlat: "gen_ai.usage.cache_creation_input_tokens",
	genAIUsageCacheWriteInputTokens:        "gen_ai.usage.cache_write.input_tokens",
	genAIUsageCacheWriteInputTokensFlat:    "gen_ai.usage.cache_write_input_tokens",
	llmTokenCountPrompt:                    "llm.token_count.prompt",
	llmTokenCountCompletion:                "llm.token_count.completion",
	llmTokenCountCacheRead:                 "llm.token_count.prompt_details.cache_read",
	llmTokenCountCacheWrite:                "llm.token_count.prompt_details.cache_write",
	genAIInputMessages:                     "gen_ai.input.messages",
	genAIOutputMessages:                    "gen_ai.output.messages",
	oiInputValue:                           "input.value",
	oiOutputValue:                          "output.value",
	// The Claude SDKs' own spans: compaction iterations' tokens, which
	// gen_ai.usage.* leave out.
	anthropicUsageCompactionInputTokens:  "anthropic.usage.compaction.input_tokens",
	anthropicUsageCompactionOutputTokens: "anthropic.usage.compaction.output_tokens",
	// The part of the cache writes made with the 1-hour lifetime
	// (usage.cache_creation.ephemeral_1h_input_tokens), billed higher.
	anthropicUsageCacheCreation1hInputTokens: "anthropic.usage.cache_creation.ephemeral_1h_input_tokens",
	// The prompt a call was made with (analytics.Record.PromptVersion).
	genAIPromptName:         "gen_ai.prompt.name",
	genAIPromptVersion:      "gen_ai.prompt.version",
	oiPromptTemplateVersion: "llm.prompt_template.version",
	// The tier the call was served on (usage.service_tier).
	anthropicResponseServiceTier: "anthropic.response.service_tier",
}

var attrIndex = func() map[string]attrKey {
	m := make(map[string]attrKey, numAttrKeys)
	for k, name := range attrNames {
		m[name] = attrKey(k)
	}
	return m
}()

// attrPrefix names a family of flattened attributes (prefix + more).
type attrPrefix uint8

const (
	prefixGenAIUsage        attrPrefix = 1 << iota // gen_ai.usage.
	prefixGenAIPrompt                              // gen_ai.prompt.
	prefixGenAICompletion                          // gen_ai.completion.
	prefixLLMTokenCount                            // llm.token_count.
	prefixLLMInputMessages                         // llm.input_messages.
	prefixLLMOutputMessages                        // llm.output_messages.
)

// attrs reads attributes of any type leniently: producers disagree on types.
// It indexes the attributes read in one pass over the map, as a span has a
// few dozen attributes and each is asked for several times.
type attrs struct {
	m        pcommon.Map
	found    uint64 // bit k: attribute k is present
	prefixes attrPrefix
	vals     [numAttrKeys]pcommon.Value
	// bad says why the first numeric attribute read could not be read as
	// an integer (a NaN, an infinity, a double past int64), "" if none.
	bad string
}

// Indexing them needs one bit per attribute read.
var _ [64 - numAttrKeys]struct{}

// index indexes m into a. Where a key repeats, the first one counts, as with
// pcommon.Map.Get.
func (a *attrs) index(m pcommon.Map) {
	*a = attrs{m: m}
	m.Range(func(k string, v pcommon.Value) bool {
		if i, ok := attrIndex[k]; ok && a.found&(1<<i) == 0 {
			a.found |= 1 << i
			a.vals[i] = v
		}
		if rest, ok := strings.CutPrefix(k, "gen_ai."); ok {
			switch {
			case strings.HasPrefix(rest, "usage."):
				a.prefixes |= prefixGenAIUsage
			case strings.HasPrefix(rest, "prompt."):
				a.prefixes |= prefixGenAIPrompt
			case strings.HasPrefix(rest, "completion."):
				a.prefixes |= prefixGenAICompletion
			}
		} else if rest, ok := strings.CutPrefix(k, "llm."); ok {
			switch {
			case strings.HasPrefix(rest, "token_count."):
				a.prefixes |= prefixLLMTokenCount
			case strings.HasPrefix(rest, "input_messages."):
				a.prefixes |= prefixLLMInputMessages
			case strings.HasPrefix(rest, "output_messages."):
				a.prefixes |= prefixLLMOutputMessages
			}
		}
		return true
	})
}

func (a *attrs) get(k attrKey) (pcommon.Value, bool) {
	return a.vals[k], a.found&(1<<k) != 0
}

func (a *attrs) has(k attrKey) bool { return a.found&(1<<k) != 0 }

// hasPrefix reports whether any attribute's key starts with p's prefix.
func (a *attrs) hasPrefix(p attrPrefix) bool { return a.prefixes&p != 0 }

func (a *attrs) str(k attrKey) string {
	v, ok := a.get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

func (a *attrs) int(k attrKey) int64 {
	v, ok := a.get(k)
	if !ok {
		return 0
	}
	n, ok := valueInt(v)
	if !ok && a.bad == "" {
		a.bad = fmt.Sprintf("attribute %s is %s, not an integer within int64", attrNames[k], clipValue(v.AsString()))
	}
	return n
}

// clipValue shortens an attribute's value quoted in an error.
func clipValue(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (a *attrs) float(k attrKey) float64 {
	v, ok := a.get(k)
	if !ok {
		return 0
	}
	return valueFloat(v)
}

// mapStr reads the attribute k of m as a string, "" when absent.
func mapStr(m pcommon.Map, k string) string {
	v, ok := m.Get(k)
	if !ok {
		return ""
	}
	return v.AsString()
}

// valueInt reads an integer from an int, a double or a string. ok is false
// for a number that no int64 holds (NaN, an infinity, a double of 2^63 or
// more): Go's conversion of those is undefined, and on amd64 reads 1e300
// as the minimum int64. Other types read 0.
func valueInt(v pcommon.Value) (n int64, ok bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return floatInt(v.Double())
	case pcommon.ValueTypeStr:
		var n json.Number = json.Number(strings.TrimSpace(v.Str()))
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := strconv.ParseFloat(string(n), 64); err == nil || errors.Is(err, strconv.ErrRange) {
			return floatInt(f)
		}
	}
	return 0, true
}

// floatInt converts f to an int64, truncating, or reports false when no
// int64 holds it.
func floatInt(f float64) (int64, bool) {
	// -2^63 is an int64, 2^63 is not; NaN fails both comparisons.
	if !(f >= -(1<<63) && f < 1<<63) {
		return 0, false
	}
	return int64(f), true
}

func valueFloat(v pcommon.Value) float64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return float64(v.Int())
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeStr:
		if f, err := json.Number(strings.TrimSpace(v.Str())).Float64(); err == nil {
			return f
		}
	}
	return 0
}

// stringList reads a string array attribute, or a string holding a JSON
// array, or a single string.
func stringList(v pcommon.Value) []string {
	out := []string{}
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			out = append(out, v.Slice().At(i).AsString())
		}
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		if strings.HasPrefix(s, "[") {
			var l []string
			if json.Unmarshal([]byte(s), &l) == nil {
				return append(out, l...)
			}
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
