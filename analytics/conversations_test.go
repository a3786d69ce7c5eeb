package analytics

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// gen hands out record IDs and times, one second apart.
type gen struct {
	id int64
	t  time.Time
}

func newGen() *gen { return &gen{t: t0} }

// chat builds one conversation the way a client would: it keeps the
// message list, sends it, and decides what to append.
type chat struct {
	g       *gen
	app     string
	model   string
	user    string
	session string
	msgs    []Message
	last    *Record
	recs    []*Record
}

func (g *gen) chat(first string) *chat {
	c := &chat{g: g, app: "app", model: "claude-sonnet-4-6"}
	if first != "" {
		c.add(userText(first))
	}
	return c
}

func userText(s string) Message {
	return Message{Role: "user", Blocks: []Block{{Type: "text", Text: s}}}
}

func text(s string) Block { return Block{Type: "text", Text: s} }

func toolUse(name string) Block { return Block{Type: "tool_use", Name: name} }

func (c *chat) add(ms ...Message) *chat {
	c.msgs = append(c.msgs, ms...)
	return c
}

// send records a response with the given stop reason and content to the
// current messages.
func (c *chat) send(stop StopReason, content ...Block) *Record {
	c.g.id++
	c.g.t = c.g.t.Add(time.Second)
	r := &Record{
		ID: c.g.id, Time: c.g.t, App: c.app, Environment: "prod", UserID: c.user, SessionID: c.session,
		Kind: KindMessage, Model: c.model, StopReason: stop, Content: slices.Clone(content),
		Req: &Request{Model: c.model, MaxTokens: 1024, Messages: slices.Clone(c.msgs)},
	}
	Classify(r)
	c.last = r
	c.recs = append(c.recs, r)
	return r
}

// reply appends the last response as the assistant turn.
func (c *chat) reply() *chat {
	return c.add(Message{Role: "assistant", Blocks: slices.Clone(c.last.Content)})
}

// resume sends the last response back the way the documentation's
// pause_turn loop does: the assistant turn grows by the new content.
func (c *chat) resume() *chat {
	if n := len(c.msgs); n > 0 && c.msgs[n-1].Role == "assistant" {
		grown := append(slices.Clone(c.msgs[n-1].Blocks), c.last.Content...)
		c.msgs[n-1] = Message{Role: "assistant", Blocks: grown}
		return c
	}
	return c.reply()
}

// toolRound answers one tool_use turn with a tool_result and sends again.
func (c *chat) toolRound(stop StopReason, content ...Block) *Record {
	c.reply()
	c.add(Message{Role: "user", Blocks: []Block{{Type: "tool_result", Text: "ok"}}})
	return c.send(stop, content...)
}

func ids(rs []*Record) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func shuffled(rng *rand.Rand, recs []*Record) []*Record {
	out := slices.Clone(recs)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestConversationsByHistory(t *testing.T) {
	g := newGen()
	a, b := g.chat("tell me about owls"), g.chat("tell me about cats")
	a.send(StopEndTurn, text("Owls are..."))
	b.send(StopEndTurn, text("Cats are..."))
	a.reply().add(userText("and their eyes?"))
	a.send(StopEndTurn, text("Big."))
	b.send(StopEndTurn, text("Cats are...")) // a retry: same messages
	b.reply().add(userText("and their tails?"))
	b.send(StopEndTurn, text("Long."))
	lone := &Record{ID: 99, Time: t0.Add(time.Second), App: "app", Kind: KindError, ErrorType: "overloaded_error"}

	all := append(append(slices.Clone(a.recs), b.recs...), lone)
	convs := Conversations(shuffled(rand.New(rand.NewPCG(1, 1)), all))
	if len(convs) != 3 {
		t.Fatalf("got %d conversations, want 3: %+v", len(convs), convs)
	}
	want := map[string][]int64{
		"chain:1":  ids(a.recs),
		"chain:2":  ids(b.recs),
		"chain:99": {99},
	}
	for _, c := range convs {
		if w, ok := want[c.ID]; !ok || !slices.Equal(ids(c.Records), w) {
			t.Errorf("conversation %s = %v, want %v", c.ID, ids(c.Records), w)
		}
	}
	if convs[0].ID != "chain:1" {
		t.Errorf("conversations not ordered by first record: %s first", convs[0].ID)
	}
}

func TestConversationsSeparation(t *testing.T) {
	tests := []struct {
		name  string
		build func(g *gen) []*Record
		want  int
	}{
		{"same opening, different users", func(g *gen) []*Record {
			a, b := g.chat("hi"), g.chat("hi")
			a.user, b.user = "u1", "u2"
			a.send(StopEndTurn, text("Hello"))
			b.send(StopEndTurn, text("Hello"))
			return append(a.recs, b.recs...)
		}, 2},
		{"same opening, hours apart", func(g *gen) []*Record {
			a, b := g.chat("hi"), g.chat("hi")
			a.send(StopEndTurn, text("Hello"))
			g.t = g.t.Add(3 * time.Hour)
			b.send(StopEndTurn, text("Hello"))
			return append(a.recs, b.recs...)
		}, 2},
		{"same opening, other app", func(g *gen) []*Record {
			a, b := g.chat("hi"), g.chat("hi")
			b.app = "other"
			a.send(StopEndTurn, text("Hello"))
			b.send(StopEndTurn, text("Hello"))
			return append(a.recs, b.recs...)
		}, 2},
		{"a new user turn without the reply is not linked", func(g *gen) []*Record {
			a := g.chat("hi")
			a.send(StopEndTurn, text("Hello"))
			a.add(userText("again"))
			a.send(StopEndTurn, text("Hello again"))
			return a.recs
		}, 2},
		{"session ids group whatever the history", func(g *gen) []*Record {
			a, b := g.chat("one"), g.chat("two")
			a.session, b.session = "s1", "s1"
			a.send(StopEndTurn, text("1"))
			b.send(StopEndTurn, text("2"))
			return append(a.recs, b.recs...)
		}, 1},
		{"no request summary stands alone", func(g *gen) []*Record {
			a := g.chat("x")
			r1, r2 := a.send(StopEndTurn, text("y")), a.send(StopEndTurn, text("y"))
			r1.Req, r2.Req = nil, nil
			return a.recs
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Conversations(tt.build(newGen())); len(got) != tt.want {
				t.Errorf("got %d conversations, want %d", len(got), tt.want)
			}
		})
	}
}

func TestConversationsSessionID(t *testing.T) {
	g := newGen()
	c := g.chat("q")
	c.session = "sess-1"
	c.send(StopToolUse, toolUse("t"))
	c.toolRound(StopEndTurn, text("done"))
	convs := Conversations(c.recs)
	if len(convs) != 1 || convs[0].ID != "session:app/sess-1" || convs[0].SessionID != "sess-1" || len(convs[0].Records) != 2 {
		t.Errorf("Conversations = %+v", convs)
	}
}
