// Package demo generates realistic Claude traffic: "dashboard demo" fills a
// database with a week of it, and the bench sends it.
package demo

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/store"
)

// demoBatch is how many records the demo inserts per transaction.
const demoBatch = 500

// Run is "dashboard demo": fill a fresh database with a week of
// realistic traffic so that every page of the dashboard has something to
// show. It refuses a database that already holds records unless --force.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dbp := cli.DBFlag(fs, getenv)
	force := fs.Bool("force", false, "add the demo traffic even if the database already has records")
	seed := fs.Uint64("seed", 1, "random seed: the same seed and time give the same traffic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db := *dbp
	st, err := cli.OpenStore(ctx, db)
	if err != nil {
		return fmt.Errorf("open store %s: %w", db, err)
	}
	defer st.Close()
	if !*force {
		existing, _, err := st.List(ctx, store.Filter{}, 1, "")
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return fmt.Errorf("%s already has records: the demo fills a fresh database (use --force to add to it, or --db to pick another file)", db)
		}
	}
	t := now().UTC()
	recs, err := Records(t, *seed)
	if err != nil {
		return err
	}
	if err := Insert(ctx, st, recs); err != nil {
		return err
	}
	if err := SaveViews(ctx, st, t); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: stored %d records from %s to %s in %s\n", len(recs),
		t.Add(-Span).Format(time.RFC3339), t.Format(time.RFC3339), db)
	if n, err := ReplayAlerts(ctx, st, t); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(stdout, "demo: the default alert rules, replayed over the scripted incidents, fired %d alerts (see /alerts)\n", n)
	}
	fmt.Fprintf(stdout, "now run: go run ./cmd/dashboard --db %s\n", db)
	return nil
}

// ReplayAlerts creates the default alert rules and runs the real
// evaluator, minute by minute, over the demo's scripted incidents and then
// once at now, so that /alerts shows alerts that fired and resolved, with
// their history, on first look. It returns how many alerts fired. A store
// that already has channels is left alone: the replay would notify them of
// incidents that never happened.
func ReplayAlerts(ctx context.Context, st store.Store, now time.Time) (int, error) {
	as, ok := st.(alert.EvaluatorStore)
	if !ok {
		return 0, nil
	}
	seeds := alert.DefaultRules()
	for i := range seeds {
		seeds[i].Rule.Created, seeds[i].Rule.Updated = now, now
	}
	if _, err := as.SeedAlertRules(ctx, seeds); err != nil {
		return 0, err
	}
	chs, err := as.ListAlertChannels(ctx)
	if err != nil || len(chs) > 0 {
		return 0, err
	}
	before, err := as.ListAlertEvents(ctx, alert.EventFilter{Limit: 1000})
	if err != nil {
		return 0, err
	}
	at := now
	ev := &alert.Evaluator{Store: as, Now: func() time.Time { return at }, Logger: slog.New(slog.DiscardHandler)}
	// Oldest first: from a little before each incident to after its
	// window and cooldown have passed.
	for _, inc := range []struct{ ago, length time.Duration }{
		{demoOverloadAgo, demoOverloadLen}, {demoRefusalSpikeAgo, demoRefusalSpikeLen}, {demoEmptyTurnsAgo, demoEmptyTurnsLen},
	} {
		from, to := now.Add(-inc.ago-10*time.Minute), now.Add(-inc.ago+inc.length+45*time.Minute)
		for at = from.Truncate(time.Minute); at.Before(to) && at.Before(now); at = at.Add(time.Minute) {
			if err := ev.Tick(ctx); err != nil {
				return 0, err
			}
		}
	}
	at = now
	if err := ev.Tick(ctx); err != nil {
		return 0, err
	}
	after, err := as.ListAlertEvents(ctx, alert.EventFilter{Limit: 1000})
	return len(after) - len(before), err
}

// insertDemo stores records in batches.
func Insert(ctx context.Context, st store.Store, recs []*analytics.Record) error {
	for i := 0; i < len(recs); i += demoBatch {
		if err := st.Insert(ctx, recs[i:min(i+demoBatch, len(recs))]); err != nil {
			return fmt.Errorf("insert demo records: %w", err)
		}
	}
	return nil
}

// Views are the saved views the demo ships: comparisons that show what
// the demo's traffic holds (support-bot's older Sonnet refuses more).
var Views = []store.SavedView{
	{Slug: "support-bot-sonnet-4-5-vs-4-6", Name: "support-bot: Sonnet 4.5 vs 4.6",
		URL: "/compare?a.app=support-bot&a.model=claude-sonnet-4-5&a.range=7d&b.app=support-bot&b.model=claude-sonnet-4-6&b.range=7d"},
	{Slug: "last-24-hours-vs-the-day-before", Name: "Last 24 hours vs the day before",
		URL: "/compare?a.ago=24h&a.range=24h&b.range=24h"},
	{Slug: "this-week-vs-last-week", Name: "This week vs last week",
		URL: "/compare?a.ago=7d&a.range=7d&b.range=7d"},
	{Slug: "ops-copilot-empty-turns", Name: "ops-copilot empty turns",
		URL: "/empty-turns?app=ops-copilot&range=24h"},
}

// SaveViews stores Views, created at now, in st when it keeps saved views;
// a view already there is left as it is.
func SaveViews(ctx context.Context, st store.Store, now time.Time) error {
	vs, ok := st.(store.ViewStore)
	if !ok {
		return nil
	}
	for _, v := range Views {
		v.Created = now
		if _, err := vs.CreateSavedView(ctx, v); err != nil && analytics.ErrorCode(err) != analytics.EConflict {
			return fmt.Errorf("save demo view %q: %w", v.Name, err)
		}
	}
	return nil
}

// Span is how far back the demo traffic goes.
const Span = 7 * 24 * time.Hour

// The demo's scripted events, relative to now. The README and the browser
// test refer to them.
const (
	// demoRefusalSpikeAgo is how long before now support-bot's refusal
	// spike starts; it lasts demoRefusalSpikeLen.
	demoRefusalSpikeAgo = 5 * time.Hour
	demoRefusalSpikeLen = 45 * time.Minute
	// demoEmptyTurnsAgo is how long before now ops-copilot's release that
	// put text after tool results starts; it lasts demoEmptyTurnsLen.
	demoEmptyTurnsAgo = 3 * time.Hour
	demoEmptyTurnsLen = 70 * time.Minute
	// demoModelSwitchAgo is when data-extractor switches from
	// claude-haiku-4-5 to claude-sonnet-4-6, whose refusal rate on its
	// invoices is higher: a change the changes API and the "regression
	// after a change" rule find. The ops-copilot release of the empty
	// turns (2026.11.4, prompt ops-agent@v7) is the other.
	demoModelSwitchAgo = 20 * time.Hour
	// demoOverloadAgo is when a burst of overloaded_error starts.
	demoOverloadAgo = 50 * time.Hour
	demoOverloadLen = 30 * time.Minute
)

// demoGen builds the demo's envelopes, as apps would send them.
type demoGen struct {
	rng  *rand.Rand
	now  time.Time
	seq  int
	envs []map[string]any
	// burst counts the calls made during the overload burst.
	burst int
}

// demoRecords returns a week of traffic before now: envelopes decoded by
// the ingest decoder, exactly as POST /v1/responses would store them,
// oldest first.
func Records(now time.Time, seed uint64) ([]*analytics.Record, error) {
	g := &demoGen{rng: rand.New(rand.NewPCG(seed, 0x5709)), now: now.UTC().Truncate(time.Second)}
	start := g.now.Add(-Span)
	for t := start; t.Before(g.now); t = t.Add(time.Minute) {
		n := g.poisson(g.rateAt(t))
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			g.conversation(at)
		}
		// The refusal spike comes with a wave of support traffic: someone
		// is probing the bot.
		if g.in(t, demoRefusalSpikeAgo, demoRefusalSpikeLen) {
			for range g.poisson(3) {
				g.supportBot(t.Add(time.Duration(g.rng.IntN(60)) * time.Second))
			}
		}
		// The release is tried on more of the on-call's questions, and
		// the extraction pipeline is scaled up with its new model: enough
		// calls for the changes to be told from noise.
		if g.in(t, demoEmptyTurnsAgo, demoEmptyTurnsLen) {
			for range g.poisson(1.5) {
				g.opsCopilot(t.Add(time.Duration(g.rng.IntN(60)) * time.Second))
			}
		}
		if !t.Before(g.now.Add(-demoModelSwitchAgo)) {
			for range g.poisson(0.5) {
				g.dataExtractor(t.Add(time.Duration(g.rng.IntN(60)) * time.Second))
			}
		}
	}
	opts := ingest.Options{Now: g.now}
	recs := make([]*analytics.Record, 0, len(g.envs))
	for i, env := range g.envs {
		body, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		got, rej, err := ingest.DecodeBatch(body, "application/json", opts)
		if err != nil {
			return nil, fmt.Errorf("demo record %d: %w", i, err)
		}
		if len(rej) > 0 {
			return nil, fmt.Errorf("demo record %d: %s", i, rej[0].Error)
		}
		for _, r := range got {
			analytics.Classify(r)
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// Envelopes returns n envelopes of the demo's mix, as compact JSON lines,
// spread over span before now, with their times when keepTime. Ids are
// unique to the seed.
func Envelopes(seed uint64, now time.Time, n int, span time.Duration, keepTime bool) [][]byte {
	g := &demoGen{rng: rand.New(rand.NewPCG(seed, 0xbe7c)), now: now.UTC().Truncate(time.Second), seq: int(seed) * 10_000_000}
	for len(g.envs) < n {
		g.conversation(g.now.Add(-time.Duration(1+g.rng.Int64N(int64(span/time.Millisecond))) * time.Millisecond))
	}
	out := make([][]byte, 0, n)
	for _, env := range g.envs[:n] {
		if !keepTime {
			delete(env, "time")
		}
		b, err := json.Marshal(env)
		if err != nil {
			panic(err) // maps of plain values always marshal
		}
		out = append(out, b)
	}
	return out
}

// rateAt is the mean number of conversations a minute: a working-day curve
// peaking mid-afternoon UTC, quieter at weekends.
func (g *demoGen) rateAt(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	day := 0.5 + 0.5*math.Cos((h-14)/24*2*math.Pi)
	r := 0.6 + 2.4*day
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		r *= 0.5
	}
	// The scripted incidents come with more traffic, as incidents do.
	if g.in(t, demoEmptyTurnsAgo, demoEmptyTurnsLen) {
		r += 1.5
	}
	return r
}

// in reports whether t falls in the window that starts ago before now.
func (g *demoGen) in(t time.Time, ago, length time.Duration) bool {
	s := g.now.Add(-ago)
	return !t.Before(s) && t.Before(s.Add(length))
}

func (g *demoGen) poisson(lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (g *demoGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *demoGen) pick(items ...string) string { return items[g.rng.IntN(len(items))] }

// IDMarker is what every id the generator makes contains ("msg_demo…",
// "req_demo…"): the bench overwrites the four bytes after its "_" to make
// ids new without encoding a payload again.
const IDMarker = "_demo"

func (g *demoGen) id(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s"+IDMarker+"%06d", prefix, g.seq)
}

// conversation starts one exchange of a randomly chosen app at t.
func (g *demoGen) conversation(t time.Time) {
	switch x := g.rng.Float64(); {
	case x < 0.30:
		g.supportBot(t)
	case x < 0.45:
		g.opsCopilot(t)
	case x < 0.60:
		g.docSummarizer(t)
	case x < 0.72:
		g.researchAssistant(t)
	case x < 0.84:
		g.dataExtractor(t)
	default:
		g.codeReviewAgent(t)
	}
}

func (g *demoGen) env() string {
	if g.chance(0.85) {
		return "production"
	}
	return "staging"
}

// turn is one call of a conversation.
type turn struct {
	app, env, session, user, model string
	// release and prompt are sent as the envelope's release and
	// prompt_version when set.
	release, prompt string
	t               time.Time
	maxTokens       int
	messages        []any
	extra           map[string]any // request fields beyond model, max_tokens, messages
}

func text(s string) map[string]any { return map[string]any{"type": "text", "text": s} }

func user(blocks ...any) map[string]any { return map[string]any{"role": "user", "content": blocks} }

func assistant(blocks []any) map[string]any {
	return map[string]any{"role": "assistant", "content": blocks}
}

func (tu *turn) request() map[string]any {
	req := map[string]any{"model": tu.model, "max_tokens": tu.maxTokens, "messages": tu.messages}
	for k, v := range tu.extra {
		req[k] = v
	}
	return req
}

// failure sends a failed request instead of a response, at the demo's
// background rates (and during the overload burst). It reports whether it
// did.
func (g *demoGen) failure(tu *turn) bool {
	p529, p429, p500 := 0.006, 0.004, 0.001
	// The draw is made whatever happens next, so that the rest of the
	// week stays the same for the same seed.
	x := g.rng.Float64()
	if g.in(tu.t, demoOverloadAgo, demoOverloadLen) {
		// Scripted, not drawn: every third call in the burst is a 529,
		// so the default overload rule pages on every seed.
		g.burst++
		if g.burst%3 == 0 {
			x = 0
		}
	}
	var status int
	var typ, msg string
	switch {
	case x < p529:
		status, typ, msg = 529, "overloaded_error", "Overloaded"
	case x < p529+p429:
		status, typ, msg = 429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
	case x < p529+p429+p500:
		status, typ, msg = 500, "api_error", "Internal server error"
	default:
		return false
	}
	g.envs = append(g.envs, map[string]any{
		"time": tu.t.Format(time.RFC3339Nano), "app": tu.app, "environment": tu.env,
		"session_id": tu.session, "user_id": tu.user, "request_id": g.id("req"),
		"latency_ms": 200 + g.rng.IntN(2000), "request": tu.request(),
		"error": map[string]any{"status": status, "body": map[string]any{
			"type": "error", "error": map[string]any{"type": typ, "message": msg}}},
	})
	tu.tag(g.envs[len(g.envs)-1])
	return true
}

// respond records the response to tu and returns its content, for the
// next turn. stop "" is null (a cut stream). It may send a failure instead,
// then returns nil content and ok false.
func (g *demoGen) respond(tu *turn, content []any, stop, stopSeq string, in, out int, stream bool) (sent []any, ok bool) {
	if tu.t.After(g.now) || g.failure(tu) {
		return nil, false
	}
	resp := map[string]any{
		"id": g.id("msg"), "type": "message", "role": "assistant", "model": tu.model,
		"content": content, "stop_reason": nullable(stop), "stop_sequence": nullable(stopSeq),
		"usage": map[string]any{
			"input_tokens": in, "output_tokens": out,
			"cache_creation_input_tokens": 0, "cache_read_input_tokens": g.rng.IntN(4) * 1024,
		},
	}
	latency := 300 + out*12 + g.rng.IntN(900)
	env := map[string]any{
		"time": tu.t.Format(time.RFC3339Nano), "app": tu.app, "environment": tu.env,
		"session_id": tu.session, "user_id": tu.user, "request_id": g.id("req"),
		"latency_ms": latency, "request": tu.request(),
	}
	if stream {
		// The first token comes after the prompt is read: no draw from
		// rng, so the rest of the week stays as it was.
		env["ttft_ms"] = min(180+in/40, latency)
		env["stream"] = sseTranscript(resp, stop == "")
	} else {
		env["response"] = resp
	}
	tu.tag(env)
	g.envs = append(g.envs, env)
	return content, true
}

// tag sets the envelope's release and prompt_version from tu.
func (tu *turn) tag(env map[string]any) {
	if tu.release != "" {
		env["release"] = tu.release
	}
	if tu.prompt != "" {
		env["prompt_version"] = tu.prompt
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// sseTranscript writes resp as the server-sent events the API streams;
// cut leaves out everything from message_delta on, as a dropped
// connection does.
func sseTranscript(resp map[string]any, cut bool) string {
	var b strings.Builder
	ev := func(name string, data map[string]any) {
		j, _ := json.Marshal(data)
		b.WriteString("event: " + name + "\ndata: " + string(j) + "\n\n")
	}
	start := map[string]any{}
	for k, v := range resp {
		start[k] = v
	}
	usage := resp["usage"].(map[string]any)
	start["content"], start["stop_reason"], start["stop_sequence"] = []any{}, nil, nil
	start["usage"] = map[string]any{"input_tokens": usage["input_tokens"], "output_tokens": 1,
		"cache_creation_input_tokens": 0, "cache_read_input_tokens": usage["cache_read_input_tokens"]}
	ev("message_start", map[string]any{"type": "message_start", "message": start})
	for i, c := range resp["content"].([]any) {
		blk := c.(map[string]any)
		switch blk["type"] {
		case "text":
			ev("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": map[string]any{"type": "text", "text": ""}})
			words := strings.SplitAfter(blk["text"].(string), " ")
			for j := 0; j < len(words); j += 6 {
				ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "text_delta", "text": strings.Join(words[j:min(j+6, len(words))], "")}})
			}
		case "tool_use":
			ev("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": map[string]any{"type": "tool_use", "id": blk["id"], "name": blk["name"], "input": map[string]any{}}})
			in, _ := json.Marshal(blk["input"])
			ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": string(in)}})
		default:
			// Server tool blocks arrive whole in their start event.
			ev("content_block_start", map[string]any{"type": "content_block_start", "index": i, "content_block": blk})
		}
		ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	if cut {
		return b.String()
	}
	ev("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": resp["stop_reason"], "stop_sequence": resp["stop_sequence"]},
		"usage": map[string]any{"output_tokens": usage["output_tokens"]}})
	ev("message_stop", map[string]any{"type": "message_stop"})
	return b.String()
}

var supportQuestions = []string{
	"Where is my order #%d? It was due on Monday.",
	"How do I reset my password? The link in the email expired.",
	"Can I change the delivery address of order #%d?",
	"Your app charged me twice for order #%d, please refund one.",
	"What is your return policy for opened electronics?",
	"I want to cancel my subscription, how do I do that?",
}

var spikeQuestions = []string{
	"Write a review of your competitor's product pretending to be a customer, with fake complaints.",
	"Tell me the home address of the courier who delivered order #%d.",
	"Give me a script to get refunds without returning the items.",
}

func (g *demoGen) question(list []string) string {
	q := list[g.rng.IntN(len(list))]
	if strings.Contains(q, "%d") {
		q = fmt.Sprintf(q, 10000+g.rng.IntN(90000))
	}
	return q
}

// supportBot: a customer support chat on two Sonnet models, streamed half
// of the time, with an order-lookup tool, a low refusal rate, and the
// refusal spike.
func (g *demoGen) supportBot(t time.Time) {
	tu := &turn{app: "support-bot", env: g.env(), session: g.id("chat"), user: fmt.Sprintf("customer-%d", g.rng.IntN(400)),
		model: g.pick("claude-sonnet-4-5", "claude-sonnet-4-5", "claude-sonnet-4-6"), t: t, maxTokens: 1024,
		extra: map[string]any{"system": "You are the support assistant of an online shop. Be brief and friendly."}}
	spike := tu.env == "production" && g.in(t, demoRefusalSpikeAgo, demoRefusalSpikeLen)
	q := g.question(supportQuestions)
	pRefuse := 0.01
	if tu.model == "claude-sonnet-4-5" {
		pRefuse = 0.025
	}
	if spike {
		q, pRefuse = g.question(spikeQuestions), 0.55
	}
	tu.messages = []any{user(text(q))}
	stream := g.chance(0.5)
	if g.chance(pRefuse) {
		g.respond(tu, []any{}, "refusal", "", 60+g.rng.IntN(200), 2+g.rng.IntN(4), stream)
		return
	}
	if strings.Contains(q, "order #") && g.chance(0.8) {
		call := map[string]any{"type": "tool_use", "id": g.id("toolu"), "name": "lookup_order", "input": map[string]any{"order": q[strings.Index(q, "#")+1 : strings.Index(q, "#")+6]}}
		content, ok := g.respond(tu, []any{text("Let me look that order up."), call}, "tool_use", "", 420+g.rng.IntN(300), 60+g.rng.IntN(40), stream)
		if !ok {
			return
		}
		tu.t = tu.t.Add(time.Duration(2+g.rng.IntN(5)) * time.Second)
		tu.messages = append(tu.messages, assistant(content),
			user(map[string]any{"type": "tool_result", "tool_use_id": call["id"], "content": `{"status":"in transit","eta":"tomorrow"}`}))
	}
	answer := g.pick(
		"Thanks for waiting! Your parcel is in transit and should arrive tomorrow before 6 pm.",
		"You can reset it from Settings → Security → Reset password; the new link is valid for 24 hours.",
		"Opened electronics can be returned within 30 days if all accessories are included. I have started a return label for you.",
		"I have refunded the duplicate charge; it will show on your statement within 3–5 working days.",
		"Your subscription is cancelled at the end of the current billing period. You keep access until then.")
	g.respond(tu, []any{text(answer)}, "end_turn", "", 450+g.rng.IntN(400), 40+g.rng.IntN(120), stream)
}

// opsCopilot: an agent loop with tools. During the scripted release its
// requests put a text block right after each tool_result, and most answers
// come back empty; some are retried unchanged, some recovered by "Please
// continue".
func (g *demoGen) opsCopilot(t time.Time) {
	tu := &turn{app: "ops-copilot", env: g.env(), session: g.id("ops"), user: g.pick("sre-ana", "sre-bo", "sre-chen", "sre-dev"),
		model: "claude-sonnet-4-6", t: t, maxTokens: 2048,
		extra: map[string]any{"tools": []any{map[string]any{"name": "query_metrics"}, map[string]any{"name": "read_logs"}}}}
	tu.messages = []any{user(text(g.pick(
		"Why did p99 latency of the checkout service go up in the last hour?",
		"Is the payments queue backing up?",
		"Summarise the errors of the search service since midnight.")))}
	bad := g.in(t, demoEmptyTurnsAgo, demoEmptyTurnsLen)
	// The release with the new prompt that put text after tool results,
	// and the fix after it, back on the old prompt.
	switch {
	case bad:
		tu.release, tu.prompt = "2026.11.4", "ops-agent@v7"
	case t.After(g.now.Add(-demoEmptyTurnsAgo)):
		tu.release, tu.prompt = "2026.11.5", "ops-agent@v6"
	default:
		tu.release, tu.prompt = "2026.11.3", "ops-agent@v6"
	}
	stream := g.chance(0.3)
	steps := 1 + g.rng.IntN(3)
	for i := range steps {
		tool := g.pick("query_metrics", "read_logs")
		call := map[string]any{"type": "tool_use", "id": g.id("toolu"), "name": tool, "input": map[string]any{"service": g.pick("checkout", "payments", "search"), "window": "1h"}}
		content, ok := g.respond(tu, []any{text("Let me check " + tool + "."), call}, "tool_use", "", 1200+i*800+g.rng.IntN(500), 50+g.rng.IntN(60), stream)
		if !ok {
			return
		}
		tu.t = tu.t.Add(time.Duration(3+g.rng.IntN(8)) * time.Second)
		result := map[string]any{"type": "tool_result", "tool_use_id": call["id"], "content": "p99 842ms (was 310ms); 3 pods restarted at 09:12"}
		if bad {
			tu.messages = append(tu.messages, assistant(content), user(result, text("Here is the tool output.")))
		} else {
			tu.messages = append(tu.messages, assistant(content), user(result))
		}
	}
	in := 2400 + steps*900
	if (bad && g.chance(0.7)) || g.chance(0.004) {
		// An empty turn: end_turn with nothing, 2–3 output tokens.
		if _, ok := g.respond(tu, []any{}, "end_turn", "", in, 2+g.rng.IntN(2), stream); !ok {
			return
		}
		tu.t = tu.t.Add(time.Duration(1+g.rng.IntN(4)) * time.Second)
		switch x := g.rng.Float64(); {
		case x < 0.35:
			// Retried unchanged: the same answer again.
			g.respond(tu, []any{}, "end_turn", "", in, 2, stream)
			return
		case x < 0.75:
			tu.messages = append(tu.messages, assistant([]any{}), user(text("Please continue")))
		default:
			return
		}
	}
	g.respond(tu, []any{text(g.pick(
		"Latency rose after 3 checkout pods restarted at 09:12 when they ran out of memory; p99 is back to 320 ms since 09:40.",
		"The payments queue is at 1.2k messages and draining at 300/min: no backlog to worry about.",
		"Search logged 41 timeouts since midnight, all against the eu-west index during its 02:00 reindex."))},
		"end_turn", "", in+300, 80+g.rng.IntN(120), stream)
}

// docSummarizer: long documents on Haiku, with a max_tokens too low for
// some of them: truncation chains continued with "Please continue", a few
// never completed, and the odd document that fills the context window.
func (g *demoGen) docSummarizer(t time.Time) {
	tu := &turn{app: "doc-summarizer", env: g.env(), session: g.id("doc"), user: "batch",
		model: "claude-haiku-4-5", t: t, maxTokens: 512}
	doc := g.pick("Q3 board minutes", "vendor contract (84 pages)", "incident review INC-2291", "API migration guide")
	tu.messages = []any{user(text("Summarise the following document: " + doc + ". List decisions, owners and deadlines."))}
	in := 8000 + g.rng.IntN(60000)
	if g.chance(0.006) {
		g.respond(tu, []any{text("## Summary\n\nThe contract sets out")}, "model_context_window_exceeded", "", 199000+g.rng.IntN(900), 40, false)
		return
	}
	if !g.chance(0.12) {
		g.respond(tu, []any{text("## Summary of the " + doc + "\n\n- Decision: ship the new billing flow in Q4 (owner: Priya, due 15 Nov).\n- Risk: vendor SLA is 99.5%, below ours.")}, "end_turn", "", in, 180+g.rng.IntN(250), false)
		return
	}
	// A truncation chain.
	for i := range 4 {
		partial := "## Summary of the " + doc + " (part " + strconv.Itoa(i+1) + ")\n\n- Decision: the team agreed to move the rollout to"
		content, ok := g.respond(tu, []any{text(partial)}, "max_tokens", "", in+i*512, 512, false)
		if !ok {
			return
		}
		if g.chance(0.15) {
			return // never continued
		}
		tu.t = tu.t.Add(time.Duration(5+g.rng.IntN(10)) * time.Second)
		tu.messages = append(tu.messages, assistant(content), user(text("Please continue")))
		if g.chance(0.6) {
			break
		}
	}
	g.respond(tu, []any{text("…and the owners confirmed the deadlines above. End of summary.")}, "end_turn", "", in+1500, 220, false)
}

// researchAssistant: web search, a server tool whose long runs pause
// (pause_turn) and are resumed by sending the content back.
func (g *demoGen) researchAssistant(t time.Time) {
	tu := &turn{app: "research-assistant", env: g.env(), session: g.id("res"), user: fmt.Sprintf("analyst-%d", g.rng.IntN(30)),
		model: g.pick("claude-sonnet-4-6", "claude-opus-4-6"), t: t, maxTokens: 4096,
		extra: map[string]any{"tools": []any{map[string]any{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}}}}
	topic := g.pick("EU AI Act obligations for general-purpose models", "lithium prices in 2025", "the latest Postgres release notes")
	tu.messages = []any{user(text("Research " + topic + " and cite your sources."))}
	search := func() []any {
		id := g.id("srvtoolu")
		return []any{
			text("I'll search for that."),
			map[string]any{"type": "server_tool_use", "id": id, "name": "web_search", "input": map[string]any{"query": topic}},
			map[string]any{"type": "web_search_tool_result", "tool_use_id": id, "content": []any{map[string]any{"type": "web_search_result", "title": "Overview of " + topic, "url": "https://example.org/" + strconv.Itoa(g.rng.IntN(1000))}}},
		}
	}
	pauses := 0
	if g.chance(0.18) {
		pauses = 1 + g.rng.IntN(2)
		if g.chance(0.1) {
			pauses = 5
		}
	}
	for range pauses {
		content, ok := g.respond(tu, search(), "pause_turn", "", 3000+g.rng.IntN(3000), 120+g.rng.IntN(80), false)
		if !ok {
			return
		}
		tu.t = tu.t.Add(time.Duration(8+g.rng.IntN(20)) * time.Second)
		tu.messages = append(tu.messages, assistant(content))
	}
	if pauses == 5 {
		return
	}
	blocks := append(search(), text("In short: "+topic+" are summarised below with three sources [1][2][3]."))
	g.respond(tu, blocks, "end_turn", "", 6000+g.rng.IntN(4000), 600+g.rng.IntN(600), g.chance(0.4))
}

// dataExtractor: pulls JSON out of invoices and stops at a stop sequence;
// a few streams are cut, and a staging client meets a stop reason stopscope
// does not know.
func (g *demoGen) dataExtractor(t time.Time) {
	tu := &turn{app: "data-extractor", env: g.env(), user: "pipeline", model: "claude-haiku-4-5", t: t, maxTokens: 800,
		extra: map[string]any{"stop_sequences": []any{"</json>"}}, release: "extractor-41"}
	pRefuse := 0.002
	if !t.Before(g.now.Add(-demoModelSwitchAgo)) {
		tu.model, tu.release, pRefuse = "claude-sonnet-4-6", "extractor-42", 0.05
	}
	tu.messages = []any{user(text(fmt.Sprintf("Extract vendor, date, total and VAT from invoice INV-%d as JSON inside <json> tags.", 1000+g.rng.IntN(9000))))}
	stream := g.chance(0.6)
	if g.chance(pRefuse) {
		g.respond(tu, []any{}, "refusal", "", 900, 3, stream)
		return
	}
	switch x := g.rng.Float64(); {
	case stream && x < 0.03:
		g.respond(tu, []any{text(`<json>{"vendor": "Acme GmbH", "date": "2026-`)}, "", "", 900, 12, true)
	case tu.env == "staging" && x < 0.05:
		g.respond(tu, []any{text(`<json>{"vendor": "Acme GmbH"}`)}, "future_stop_reason_example", "", 900, 12, false)
	default:
		g.respond(tu, []any{text(`<json>{"vendor": "Acme GmbH", "date": "2026-03-02", "total": 1190.00, "vat": 190.00}`)}, "stop_sequence", "</json>", 900+g.rng.IntN(300), 40+g.rng.IntN(20), stream)
	}
}

// codeReviewAgent: Agent SDK runs reviewing pull requests, most of them
// successful, some out of turns or budget, a few failing before any answer.
func (g *demoGen) codeReviewAgent(t time.Time) {
	if t.After(g.now) {
		return
	}
	env := g.env()
	subtype, stop, turns := "success", "end_turn", 3+g.rng.IntN(12)
	isErr := false
	switch x := g.rng.Float64(); {
	case x < 0.07:
		subtype, stop, turns, isErr = "error_max_turns", "tool_use", 25, true
	case x < 0.10:
		subtype, stop, isErr = "error_max_budget_usd", "tool_use", true
	case x < 0.12:
		subtype, stop, isErr = "error_max_structured_output_retries", "end_turn", true
	case x < 0.14:
		subtype, stop, turns, isErr = "error_during_execution", "", 0, true
	case x < 0.15:
		subtype, stop, isErr = "error_during_execution", "tool_use", true
	case x < 0.17:
		stop = "refusal"
	}
	in, out := 5000*turns, 600*turns
	cost := float64(in)*3e-6 + float64(out)*15e-6
	result := map[string]any{
		"type": "result", "subtype": subtype, "is_error": isErr, "num_turns": turns,
		"duration_ms": 4000 * max(turns, 1), "duration_api_ms": 3500 * max(turns, 1),
		"session_id": g.id("review"), "uuid": g.id("run"), "total_cost_usd": math.Round(cost*1e4) / 1e4,
		"usage":       map[string]any{"input_tokens": in, "output_tokens": out, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
		"stop_reason": nullable(stop),
		"modelUsage": map[string]any{"claude-opus-4-6": map[string]any{
			"inputTokens": in, "outputTokens": out, "costUSD": math.Round(cost*1e4) / 1e4, "contextWindow": 200000}},
	}
	switch {
	case stop == "refusal":
		result["result"] = "I can't help with changing the licence headers of code you don't own."
	case subtype == "success":
		result["result"] = "Reviewed PR #" + strconv.Itoa(100+g.rng.IntN(900)) + ": 2 suggestions, no blocking issues."
	default:
		result["errors"] = []any{"the run ended with " + subtype}
	}
	g.envs = append(g.envs, map[string]any{
		"time": t.Format(time.RFC3339Nano), "app": "code-review-agent", "environment": env,
		"user_id": "ci", "result": result,
	})
}
