package otlp

import (
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/stopscope/stopscope/analytics"
)

// usageFacts is one source's token counts. input counts what the source calls
// input (which may include cache reads and writes).
type usageFacts struct {
	input, output, cacheRead, cacheWrite int64
	// inclusive says input counts cache reads and writes, as the GenAI
	// conventions and OpenInference do and the Messages API does not.
	inclusive bool
	// compIn and compOut are the tokens of compaction iterations, which
	// the counts above leave out (compIn with their cache reads and
	// writes); compKnown says the source reported them.
	compIn, compOut int64
	compKnown       bool
	// cacheWrite1h is the part of cacheWrite made with the 1-hour
	// lifetime, when the source splits its cache writes.
	cacheWrite1h int64
}

func (u *usageFacts) messagesAPI() analytics.Usage {
	in := u.input
	// Counts out of bounds are left as they came, for the bounds to reject
	// and name; within them, the sum cannot overflow.
	inBounds := func(n int64) bool { return n >= 0 && n <= analytics.MaxTokens }
	if u.inclusive && inBounds(in) && inBounds(u.cacheRead) && inBounds(u.cacheWrite) {
		// An inclusive count can never be below its cache part: when it is,
		// the producer evidently counted like the Messages API, so it is kept.
		if cache := u.cacheRead + u.cacheWrite; in >= cache {
			in -= cache
		}
	}
	return analytics.Usage{InputTokens: in, OutputTokens: u.output, CacheReadInputTokens: u.cacheRead, CacheCreationInputTokens: u.cacheWrite,
		CacheCreation1hInputTokens: u.cacheWrite1h, CompactionInputTokens: u.compIn, CompactionOutputTokens: u.compOut}
}

// usage returns the most faithful source's counts, in the Messages API's
// meaning. Compaction tokens come from the first source that reports them:
// the raw response's usage.iterations, else the SDK's
// anthropic.usage.compaction.* attributes (kept with gen_ai.usage.*).
func (c *call) usage() analytics.Usage {
	srcs := []*usageFacts{c.rawUsage, c.genUsage, c.oiUsage}
	var out analytics.Usage
	for _, u := range srcs {
		if u != nil {
			out = u.messagesAPI()
			break
		}
	}
	for _, u := range append(srcs, c.compUsage) {
		if u != nil && u.compKnown {
			out.CompactionInputTokens, out.CompactionOutputTokens = max(0, u.compIn), max(0, u.compOut)
			break
		}
	}
	return out
}

func (c *call) readUsage(a *attrs) {
	pick := func(keys ...attrKey) (int64, bool) {
		for _, k := range keys {
			if a.has(k) {
				return a.int(k), true
			}
		}
		return 0, false
	}
	var u usageFacts
	var any1, any2, any3, any4 bool
	u.input, any1 = pick(genAIUsageInputTokens, genAIUsagePromptTokens)
	u.output, any2 = pick(genAIUsageOutputTokens, genAIUsageCompletionTokens)
	u.cacheRead, any3 = pick(genAIUsageCacheReadInputTokens, genAIUsageCacheReadInputTokensFlat)
	u.cacheWrite, any4 = pick(genAIUsageCacheCreationInputTokens, genAIUsageCacheCreationInputTokensFlat,
		genAIUsageCacheWriteInputTokens, genAIUsageCacheWriteInputTokensFlat)
	if any1 || any2 || any3 || any4 {
		u.inclusive = true
		// The Claude SDKs split the cache writes they count here.
		u.cacheWrite1h, _ = pick(anthropicUsageCacheCreation1hInputTokens)
		c.genUsage = &usageFacts{}
		*c.genUsage = u
	}
	var o usageFacts
	o.input, any1 = pick(llmTokenCountPrompt)
	o.output, any2 = pick(llmTokenCountCompletion)
	o.cacheRead, any3 = pick(llmTokenCountCacheRead)
	o.cacheWrite, any4 = pick(llmTokenCountCacheWrite)
	if any1 || any2 || any3 || any4 {
		o.inclusive = true
		c.oiUsage = &usageFacts{}
		*c.oiUsage = o
	}
	var comp usageFacts
	comp.compIn, any1 = pick(anthropicUsageCompactionInputTokens)
	comp.compOut, any2 = pick(anthropicUsageCompactionOutputTokens)
	if comp.compKnown = any1 || any2; comp.compKnown {
		c.compUsage = &comp
	}
}

// apiBlock is a Messages API content block, as in request and response bodies.
type apiBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	Name     string          `json:"name"`
	Content  json.RawMessage `json:"content"`
}

func (b apiBlock) block() analytics.Block {
	out := analytics.Block{Type: b.Type, Name: b.Name}
	switch b.Type {
	case "text":
		out.Text = b.Text
	case "thinking":
		out.Text = b.Thinking
	case "tool_result":
		out.Text = blocksText(contentBlocks(b.Content))
	}
	return out
}

// contentBlocks reads a Messages API content field: a string or a block list.
func contentBlocks(raw json.RawMessage) []analytics.Block {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || string(raw) == "null" {
		return []analytics.Block{}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []analytics.Block{{Type: "text", Text: s}}
	}
	var bs []apiBlock
	if json.Unmarshal(raw, &bs) != nil {
		return []analytics.Block{}
	}
	out := make([]analytics.Block, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.block())
	}
	return out
}

func blocksText(bs []analytics.Block) string {
	var sb strings.Builder
	for _, b := range bs {
		sb.WriteString(b.Text)
	}
	return sb.String()
}

// textOrBlocks reads flattened content that is plain text or, as OpenLLMetry
// writes it for Anthropic, a JSON list of Messages API blocks.
func textOrBlocks(s string) []analytics.Block {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		var bs []apiBlock
		if json.Unmarshal([]byte(t), &bs) == nil && len(bs) > 0 && bs[0].Type != "" {
			out := make([]analytics.Block, 0, len(bs))
			for _, b := range bs {
				out = append(out, b.block())
			}
			return out
		}
	}
	return []analytics.Block{{Type: "text", Text: s}}
}

// apiMessage is a Messages API request message.
type apiMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// apiRequest is a Messages API request body.
type apiRequest struct {
	Model         string       `json:"model"`
	MaxTokens     int64        `json:"max_tokens"`
	StopSequences []string     `json:"stop_sequences"`
	Stream        bool         `json:"stream"`
	Messages      []apiMessage `json:"messages"`
}

// apiResponse is a Messages API response body, or an Agent SDK result.
type apiResponse struct {
	Type         string     `json:"type"`
	ID           string     `json:"id"`
	Model        string     `json:"model"`
	StopReason   *string    `json:"stop_reason"`
	StopSequence *string    `json:"stop_sequence"`
	Content      []apiBlock `json:"content"`
	// StopDetails is a refusal's stop_details, when the producer kept the
	// raw response.
	StopDetails *struct {
		Type             string  `json:"type"`
		Category         *string `json:"category"`
		Explanation      *string `json:"explanation"`
		RecommendedModel *string `json:"recommended_model"`
	} `json:"stop_details"`
	Usage *struct {
		InputTokens              int64 `json:"input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
		CacheCreation            struct {
			Ephemeral1hInputTokens int64 `json:"ephemeral_1h_input_tokens"`
		} `json:"cache_creation"`
		ServiceTier string `json:"service_tier"`
		Iterations  []struct {
			Type                     string `json:"type"`
			InputTokens              int64  `json:"input_tokens"`
			OutputTokens             int64  `json:"output_tokens"`
			CacheCreationInputTokens int64  `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     int64  `json:"cache_read_input_tokens"`
		} `json:"iterations"`
	} `json:"usage"`
	// Agent SDK result fields.
	Subtype      string  `json:"subtype"`
	NumTurns     int64   `json:"num_turns"`
	TotalCostUSD float64 `json:"total_cost_usd"`
	DurationMS   int64   `json:"duration_ms"`
	UUID         string  `json:"uuid"`
	SessionID    string  `json:"session_id"`
}

// readRawBodies reads OpenInference's input.value and output.value, which
// hold the request and response bodies as sent when they are JSON: the most
// faithful source of all.
func (c *call) readRawBodies(a *attrs) {
	if s := strings.TrimSpace(a.str(oiInputValue)); strings.HasPrefix(s, "{") {
		var req apiRequest
		if json.Unmarshal([]byte(s), &req) == nil && req.Messages != nil {
			c.reqBody = json.RawMessage(s)
			c.messages = apiMessages(req.Messages)
			if req.MaxTokens != 0 {
				c.maxTokens = req.MaxTokens
			}
			c.stopSeqs, c.stopSeqsKnown = req.StopSequences, true
			c.streamed = c.streamed || req.Stream
			if c.model == "" {
				c.model = req.Model
			}
		}
	}
	s := strings.TrimSpace(a.str(oiOutputValue))
	if !strings.HasPrefix(s, "{") {
		return
	}
	var resp apiResponse
	if json.Unmarshal([]byte(s), &resp) != nil {
		return
	}
	switch resp.Type {
	case "message":
		c.respBody = json.RawMessage(s)
		if c.messageID == "" {
			c.messageID = resp.ID
		}
		if resp.StopReason != nil {
			c.reasons.raw = append([]string{*resp.StopReason}, c.reasons.raw...)
		}
		if resp.StopSequence != nil {
			c.stopSequence = *resp.StopSequence
		}
		if sd := resp.StopDetails; sd != nil {
			c.stopDetails = &analytics.StopDetails{Type: sd.Type}
			if sd.Category != nil {
				c.stopDetails.Category = analytics.RefusalCategory(*sd.Category)
			}
			if sd.Explanation != nil {
				c.stopDetails.Explanation = *sd.Explanation
			}
			if sd.RecommendedModel != nil {
				c.stopDetails.RecommendedModel = *sd.RecommendedModel
			}
		}
		blocks := make([]analytics.Block, 0, len(resp.Content))
		for _, b := range resp.Content {
			blocks = append(blocks, b.block())
		}
		c.content, c.hasContent = blocks, true
	case "result":
		c.respBody = json.RawMessage(s)
		c.agent = true
		c.subtype = resp.Subtype
		c.numTurns = resp.NumTurns
		c.costUSD = resp.TotalCostUSD
		c.durationMS = resp.DurationMS
		c.messageID = firstNonEmpty(resp.UUID, c.messageID)
		c.sessionID = firstNonEmpty(c.sessionID, resp.SessionID)
		if resp.StopReason != nil {
			c.reasons.raw = append([]string{*resp.StopReason}, c.reasons.raw...)
		}
	default:
		return
	}
	if c.model == "" {
		c.model = resp.Model
	}
	if u := resp.Usage; u != nil {
		c.serviceTier = firstNonEmpty(serviceTier(u.ServiceTier), c.serviceTier)
		c.rawUsage = &usageFacts{input: u.InputTokens, output: u.OutputTokens,
			cacheRead: u.CacheReadInputTokens, cacheWrite: u.CacheCreationInputTokens,
			cacheWrite1h: u.CacheCreation.Ephemeral1hInputTokens}
		for _, it := range u.Iterations {
			if it.Type == "compaction" {
				c.rawUsage.compIn = satAdd(c.rawUsage.compIn, satAdd(it.InputTokens, satAdd(it.CacheReadInputTokens, it.CacheCreationInputTokens)))
				c.rawUsage.compOut = satAdd(c.rawUsage.compOut, it.OutputTokens)
				c.rawUsage.compKnown = true
			}
		}
	}
}

// satAdd is a + b, stopping at the ends of int64 instead of wrapping: a sum
// of huge counts stays huge, for the bounds to reject.
func satAdd(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}

func apiMessages(ms []apiMessage) []analytics.Message {
	out := make([]analytics.Message, 0, len(ms))
	for _, m := range ms {
		out = appendMessage(out, m.Role, contentBlocks(m.Content))
	}
	return out
}

// appendMessage appends a message in the Messages API's shape: tool results
// are user content, and consecutive messages of one role are one turn (so a
// tool message followed by a user message is a user turn whose text comes
// after its tool_result, as the API sees it).
func appendMessage(ms []analytics.Message, role string, blocks []analytics.Block) []analytics.Message {
	role, ok := apiRole(role)
	if !ok {
		return ms
	}
	if n := len(ms); n > 0 && ms[n-1].Role == role {
		ms[n-1].Blocks = append(ms[n-1].Blocks, blocks...)
		return ms
	}
	return append(ms, analytics.Message{Role: role, Blocks: blocks})
}

// apiRole maps a message's role to the Messages API's: tool results are user
// content, and the system prompt (false) is not a message at all.
func apiRole(role string) (string, bool) {
	switch role {
	case "tool", "function", "ipython":
		return "user", true
	case "system", "developer":
		return "", false
	}
	return role, true
}

// rawText reads a part's raw content: a JSON string's text, or the JSON of
// any other value as written.
func (p *genAIScratch) rawText(raw string) string {
	if raw == "" || raw == "null" {
		return ""
	}
	if s, ok := p.unquote(raw); ok {
		return s
	}
	return raw
}

func (p *genAIScratch) block(pt genAIPart) analytics.Block {
	switch pt.typ {
	case "text":
		return analytics.Block{Type: "text", Text: p.rawText(pt.content)}
	case "reasoning":
		return analytics.Block{Type: "thinking", Text: p.rawText(pt.content)}
	case "tool_call":
		return analytics.Block{Type: "tool_use", Name: pt.name}
	case "server_tool_call":
		return analytics.Block{Type: "server_tool_use", Name: pt.name}
	case "tool_call_response":
		raw := pt.response
		if raw == "" {
			raw = pt.result
		}
		return analytics.Block{Type: "tool_result", Text: p.rawText(raw)}
	case "server_tool_call_response":
		return analytics.Block{Type: "server_tool_result"}
	}
	return analytics.Block{Type: pt.typ}
}

// requestMessages makes the parsed messages a request's, as appendMessage
// would one by one. The blocks of all messages share one allocation: each
// message's are a full slice of it, and the messages appendMessage would
// merge into one turn are next to each other in it.
func (p *genAIScratch) requestMessages() []analytics.Message {
	nBlocks, nTurns, last := 0, 0, ""
	for _, m := range p.msgs {
		role, ok := apiRole(m.role)
		if !ok {
			continue
		}
		nBlocks += m.partsEnd - m.partsStart
		if nTurns == 0 || role != last {
			nTurns, last = nTurns+1, role
		}
	}
	blocks := make([]analytics.Block, nBlocks)
	ms := make([]analytics.Message, 0, nTurns)
	i, turnStart := 0, 0
	for _, m := range p.msgs {
		role, ok := apiRole(m.role)
		if !ok {
			continue
		}
		start := i
		for _, pt := range p.messageParts(m) {
			blocks[i] = p.block(pt)
			i++
		}
		if n := len(ms); n > 0 && ms[n-1].Role == role {
			ms[n-1].Blocks = blocks[turnStart:i:i]
			continue
		}
		turnStart = start
		ms = append(ms, analytics.Message{Role: role, Blocks: blocks[start:i:i]})
	}
	return ms
}

// responseContent returns the parsed messages' content (the assistant's) and
// appends their finish reasons to generic.
func (p *genAIScratch) responseContent(generic []string) ([]analytics.Block, []string) {
	n := 0
	for _, m := range p.msgs {
		if m.role == "" || m.role == "assistant" {
			n += m.partsEnd - m.partsStart
		}
	}
	blocks := make([]analytics.Block, 0, n)
	for _, m := range p.msgs {
		if m.role == "" || m.role == "assistant" {
			for _, pt := range p.messageParts(m) {
				blocks = append(blocks, p.block(pt))
			}
		}
		if m.finishReason != "" {
			generic = append(generic, m.finishReason)
		}
	}
	return blocks, generic
}

// readContent reads the request messages and response content from the GenAI
// conventions, OpenInference's flattened messages, and OpenLLMetry's older
// flattened prompt and completion attributes, most structured first.
func (c *call) readContent(a *attrs) {
	if in, out := a.str(genAIInputMessages), a.str(genAIOutputMessages); in != "" || out != "" {
		p := getGenAIScratch()
		if p.parse(in) {
			c.messages = p.requestMessages()
		}
		if p.parse(out) {
			c.content, c.reasons.generic = p.responseContent(c.reasons.generic)
			c.hasContent = true
		}
		p.release()
	}
	if c.messages == nil && a.hasPrefix(prefixLLMInputMessages) {
		c.messages = flatMessages(a.m, "llm.input_messages.", oiMessage)
	}
	if !c.hasContent && a.hasPrefix(prefixLLMOutputMessages) {
		if ms := flatMessages(a.m, "llm.output_messages.", oiMessage); ms != nil {
			c.content, c.hasContent = assistantBlocks(ms), true
		}
	}
	if c.messages == nil && a.hasPrefix(prefixGenAIPrompt) {
		c.messages = flatMessages(a.m, "gen_ai.prompt.", oldMessage)
	}
	if !c.hasContent && a.hasPrefix(prefixGenAICompletion) {
		if ms := flatMessages(a.m, "gen_ai.completion.", oldMessage); ms != nil {
			c.content, c.hasContent = assistantBlocks(ms), true
		}
	}
}

func assistantBlocks(ms []analytics.Message) []analytics.Block {
	out := []analytics.Block{}
	for _, m := range ms {
		if m.Role == "" || m.Role == "assistant" {
			out = append(out, m.Blocks...)
		}
	}
	return out
}

// flatMessages groups attributes prefix+N+"."+rest by N and builds one message
// per N with build. It returns nil when there are none.
func flatMessages(m pcommon.Map, prefix string, build func(map[string]string) (string, []analytics.Block)) []analytics.Message {
	groups := map[int]map[string]string{}
	m.Range(func(k string, v pcommon.Value) bool {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			return true
		}
		num, field, ok := strings.Cut(rest, ".")
		if !ok {
			return true
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || n > 1<<16 {
			return true
		}
		g := groups[n]
		if g == nil {
			g = map[string]string{}
			groups[n] = g
		}
		g[field] = v.AsString()
		return true
	})
	if len(groups) == 0 {
		return nil
	}
	ns := make([]int, 0, len(groups))
	for n := range groups {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := []analytics.Message{}
	for _, n := range ns {
		role, blocks := build(groups[n])
		out = appendMessage(out, role, blocks)
	}
	return out
}

// subIndexed returns the sub-indices N present as prefix+N+"."+... in g, sorted.
func subIndexed(g map[string]string, prefix string) []int {
	seen := map[int]bool{}
	for k := range g {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			num, _, _ := strings.Cut(rest, ".")
			if n, err := strconv.Atoi(num); err == nil && n >= 0 && n <= 1<<16 {
				seen[n] = true
			}
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// oiMessage builds a message from OpenInference's flattened fields:
// message.role, message.content, message.contents.M.message_content.{type,text},
// message.contents.M.tool_call.function.name, message.tool_calls.K.tool_call.function.name.
func oiMessage(g map[string]string) (string, []analytics.Block) {
	role := g["message.role"]
	blocks := []analytics.Block{}
	hasToolUse := false
	for _, i := range subIndexed(g, "message.contents.") {
		p := "message.contents." + strconv.Itoa(i) + "."
		typ := g[p+"message_content.type"]
		switch typ {
		case "text", "":
			blocks = append(blocks, analytics.Block{Type: "text", Text: g[p+"message_content.text"]})
		case "tool_use", "tool_call":
			hasToolUse = true
			blocks = append(blocks, analytics.Block{Type: "tool_use", Name: g[p+"tool_call.function.name"]})
		case "tool_result":
			blocks = append(blocks, analytics.Block{Type: "tool_result", Text: g[p+"message_content.text"]})
		default:
			blocks = append(blocks, analytics.Block{Type: typ})
		}
	}
	if len(blocks) == 0 {
		if s, ok := g["message.content"]; ok {
			if role == "tool" {
				blocks = append(blocks, analytics.Block{Type: "tool_result", Text: s})
			} else {
				blocks = append(blocks, analytics.Block{Type: "text", Text: s})
			}
		}
	}
	if !hasToolUse {
		for _, i := range subIndexed(g, "message.tool_calls.") {
			name := g["message.tool_calls."+strconv.Itoa(i)+".tool_call.function.name"]
			blocks = append(blocks, analytics.Block{Type: "tool_use", Name: name})
		}
	}
	return role, blocks
}

// oldMessage builds a message from OpenLLMetry's older gen_ai.prompt.N.* and
// gen_ai.completion.N.* fields: role, content, tool_calls.K.name.
func oldMessage(g map[string]string) (string, []analytics.Block) {
	role := g["role"]
	blocks := []analytics.Block{}
	if s, ok := g["content"]; ok {
		if role == "tool" {
			blocks = append(blocks, analytics.Block{Type: "tool_result", Text: s})
		} else {
			blocks = append(blocks, textOrBlocks(s)...)
		}
	}
	for _, i := range subIndexed(g, "tool_calls.") {
		blocks = append(blocks, analytics.Block{Type: "tool_use", Name: g["tool_calls."+strconv.Itoa(i)+".name"]})
	}
	return role, blocks
}

// The Anthropic SDKs' error messages: "529 {...json...}" (TypeScript) and
// "Error code: 529 - {'type': ...}" (Python, a dict's repr).
var (
	reStatus    = regexp.MustCompile(`^(?:Error code: )?([1-5][0-9][0-9])\b`)
	reErrorType = regexp.MustCompile(`["']error["']\s*:\s*\{\s*["']type["']\s*:\s*["']([A-Za-z_]+)["']`)
	reErrorMsg  = regexp.MustCompile(`["']message["']\s*:\s*["']([^"']*)["']`)
)

// readErrorText reads the HTTP status, API error type and message from an
// exception or status message.
func (c *call) readErrorText(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	c.failed = true
	if m := reStatus.FindStringSubmatch(s); m != nil && c.httpStatus == 0 {
		c.httpStatus, _ = strconv.Atoi(m[1])
	}
	if m := reErrorType.FindStringSubmatch(s); m != nil {
		// The API's own type beats a producer's class name in error.type.
		if c.errType == "" || analytics.StatusForErrorType(c.errType) == 0 {
			c.errType = m[1]
		}
		if mm := reErrorMsg.FindStringSubmatch(s[strings.Index(s, m[0]):]); mm != nil && c.errMsg == "" {
			c.errMsg = mm[1]
		}
	}
	if c.errMsg == "" {
		c.errMsg = s
	}
}
