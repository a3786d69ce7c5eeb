package query

import (
	"context"
	"slices"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The bounds of Thread's reads.
const (
	// threadSessionLimit bounds the records of a session read.
	threadSessionLimit = 200
	// threadLimit bounds the records read to link a record's conversation.
	threadLimit = 2000
)

// Thread returns the conversation r belongs to, oldest first: its
// session's records when it has a session id, else the records linked to
// it by message history (analytics.Conversations) among its app's records
// of the hours around it. It returns nil when r stands alone.
func (s *Service) Thread(ctx context.Context, r *analytics.Record) ([]*analytics.Record, error) {
	if r.SessionID != "" {
		recs, _, err := s.st.List(ctx, store.Filter{App: r.App, SessionID: r.SessionID}, threadSessionLimit, "")
		if err != nil {
			return nil, err
		}
		slices.Reverse(recs)
		if len(recs) < 2 {
			return nil, nil
		}
		return recs, nil
	}
	if r.Req == nil {
		return nil, nil
	}
	recs, err := s.st.Records(ctx, store.Filter{
		App: r.App, Environment: r.Environment,
		From: r.Time.Add(-3 * analytics.ConversationGap), To: r.Time.Add(3*analytics.ConversationGap + time.Nanosecond),
	}, threadLimit)
	if err != nil {
		return nil, err
	}
	for _, conv := range analytics.Conversations(recs) {
		for _, x := range conv.Records {
			if x.ID == r.ID {
				if len(conv.Records) < 2 {
					return nil, nil
				}
				return conv.Records, nil
			}
		}
	}
	return nil, nil
}

// ChainOf returns the continuation chain of thread (as Thread returns it)
// that holds r, with the default continue prompts, or nil when r is in
// none.
func ChainOf(thread []*analytics.Record, r *analytics.Record) *analytics.Chain {
	if c, ok := analytics.ChainOf(thread, r.ID, analytics.DefaultPatternConfig()); ok {
		return &c
	}
	return nil
}
