package analytics

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// ConversationGap is the longest pause between two requests that message
// history alone links into one conversation. Without it, two users who open
// with the same "hi" hours apart would be taken for one retrying.
const ConversationGap = time.Hour

// Conversation is the records of one exchange, oldest first.
type Conversation struct {
	// ID is "session:<app>/<session id>" for records linked by session id,
	// else "chain:<id of the first record>".
	ID        string    `json:"id"`
	App       string    `json:"app"`
	SessionID string    `json:"session_id,omitempty"`
	Records   []*Record `json:"records"`
}

// Conversations links records into conversations. Records with a session id
// go to that session's conversation (per app). The others are linked by
// message history: a request whose messages are a previous request's
// messages followed by an assistant turn (the previous response sent back,
// then perhaps more), or the very same messages (a retry), belongs to that
// previous request's conversation, as does a request that adds a user
// message to the messages of an empty turn (whose empty answer is not sent
// back), if both are of the same app, environment and user and at most
// ConversationGap apart. The longest such previous
// request wins, the latest among equals. Records without a request summary
// and no session id stand alone. Records may come in any order; each
// conversation's records are sorted by time then ID, and conversations by
// their first record. The records are not copied or changed.
func Conversations(recs []*Record) []Conversation {
	sorted := sortedRecords(recs)
	type convKey struct{ app, session string }
	var convs []Conversation
	bySession := map[convKey]int{}
	// byMessages indexes each request by the hash of its whole message list.
	type seen struct {
		rec  *Record
		conv int
	}
	byMessages := map[uint64]seen{}
	var hashes []uint64
	for _, r := range sorted {
		conv := -1
		if r.Req != nil && len(r.Req.Messages) > 0 {
			hashes = prefixHashes(r, hashes[:0])
			m := r.Req.Messages
			for l := len(m); l >= 1; l-- {
				p, ok := byMessages[hashes[l]]
				if !ok || !linkable(p.rec, r) || !messagesEqual(p.rec.Req.Messages, m[:l]) {
					continue
				}
				// The same messages are a retry; more messages must start
				// with the assistant's reply to what was asked, except
				// after an empty answer, which has nothing to send back:
				// the documentation's recovery appends a user "Please
				// continue" right after the message that got it.
				if l == len(m) || m[l].Role == "assistant" || isEmptyTurn(p.rec) {
					conv = p.conv
				}
				break
			}
		}
		if r.SessionID != "" {
			k := convKey{r.App, r.SessionID}
			if i, ok := bySession[k]; ok {
				conv = i
			} else {
				conv = len(convs)
				bySession[k] = conv
				convs = append(convs, Conversation{
					ID: "session:" + r.App + "/" + r.SessionID, App: r.App, SessionID: r.SessionID,
				})
			}
		}
		if conv < 0 {
			conv = len(convs)
			convs = append(convs, Conversation{ID: "chain:" + strconv.FormatInt(r.ID, 10), App: r.App})
		}
		convs[conv].Records = append(convs[conv].Records, r)
		if r.Req != nil && len(r.Req.Messages) > 0 {
			byMessages[hashes[len(r.Req.Messages)]] = seen{r, conv}
		}
	}
	// Records went in in time order, and conversations were opened in the
	// order of their first record, so both are sorted already.
	return convs
}

// sortedRecords returns a copy of recs without nils, by time then ID.
func sortedRecords(recs []*Record) []*Record {
	out := make([]*Record, 0, len(recs))
	for _, r := range recs {
		if r != nil {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *Record) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// linkable reports whether history may link r to the earlier p.
func linkable(p, r *Record) bool {
	return p.App == r.App && p.Environment == r.Environment && p.UserID == r.UserID &&
		r.Time.Sub(p.Time) <= ConversationGap
}

// prefixHashes appends to dst the hash of every prefix of r's messages:
// dst[l] stands for the first l messages, seeded by the app.
func prefixHashes(r *Record, dst []uint64) []uint64 {
	h := fnvString(fnvOffset, r.App)
	dst = append(dst, h)
	for i := range r.Req.Messages {
		h = mix64(h ^ messageHash(&r.Req.Messages[i]))
		dst = append(dst, h)
	}
	return dst
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	// A separator, so that "ab"+"c" and "a"+"bc" differ.
	h ^= 0xff
	h *= fnvPrime
	return h
}

func messageHash(m *Message) uint64 {
	h := fnvString(fnvOffset, m.Role)
	for _, b := range m.Blocks {
		h = fnvString(h, b.Type)
		h = fnvString(h, b.Text)
		h = fnvString(h, b.Name)
	}
	return h
}

// mix64 is splitmix64's finaliser: it spreads each message's hash over the
// chain so that reordered messages hash apart.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// messagesEqual compares two message lists by their summaries.
func messagesEqual(a, b []Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !messageEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func messageEqual(a, b Message) bool {
	return a.Role == b.Role && slices.Equal(a.Blocks, b.Blocks)
}

// extends reports whether next's request starts with all of prev's request
// messages and adds at least one more.
func extends(prev, next *Record) bool {
	if prev.Req == nil || next.Req == nil {
		return false
	}
	p, n := prev.Req.Messages, next.Req.Messages
	return len(n) > len(p) && messagesEqual(p, n[:len(p)])
}

// rewritesAssistant reports whether next's request is prev's with its last
// assistant turn replaced by another and every other message the same: how
// a grown prefill continues a truncated answer, how the documentation's
// pause_turn loop sends the latest content back, and how the continuation
// loop that concatenates the partial text into one assistant turn grows it
// before the same continue prompt.
func rewritesAssistant(prev, next *Record) bool {
	if prev.Req == nil || next.Req == nil {
		return false
	}
	p, n := prev.Req.Messages, next.Req.Messages
	k := lastAssistant(p)
	return len(p) == len(n) && k >= 0 && n[k].Role == "assistant" && !messageEqual(p[k], n[k]) &&
		messagesEqual(p[:k], n[:k]) && messagesEqual(p[k+1:], n[k+1:])
}

// lastAssistant returns the index of the last assistant message, or -1.
func lastAssistant(ms []Message) int {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Role == "assistant" {
			return i
		}
	}
	return -1
}

// sendsCompactionBack reports whether next continues from prev, a
// compaction response, by sending a compaction block back in place of the
// messages it summarises: next's request has a compaction block and need
// not repeat prev's messages.
func sendsCompactionBack(prev, next *Record) bool {
	if prev.StopReason != StopCompaction || next.Req == nil {
		return false
	}
	for _, m := range next.Req.Messages {
		for _, b := range m.Blocks {
			if b.Type == "compaction" {
				return true
			}
		}
	}
	return false
}
