package query

import (
	"context"
	"slices"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// runCallsLimit bounds the calls RunCalls reads for one run.
const runCallsLimit = 200

// RunCall is one API call of an Agent SDK run, as the spawned Claude Code
// reported it, and what it re-asked after, if it was one of the calls
// Claude Code makes by itself (analytics.Reasks).
type RunCall struct {
	Record *analytics.Record `json:"record"`
	// Reask is "" for a call that is no re-ask.
	Reask analytics.Reask `json:"reask,omitempty"`
	// ReaskLabel says Reask for people.
	ReaskLabel string `json:"reask_label,omitempty"`
}

// RunCalls returns the calls of the Agent SDK run r, oldest first: the
// records of the same session id (of any app, since the SDK's own spans
// and the Claude Code it spawned may name themselves differently) that are
// not Agent SDK results, at most runCallsLimit of the newest. It returns
// nil for a record that is no Agent SDK run or has no session id, and
// when no call of its session has arrived.
func (s *Service) RunCalls(ctx context.Context, r *analytics.Record) ([]RunCall, error) {
	if r == nil || r.Kind != analytics.KindAgentResult || r.SessionID == "" {
		return nil, nil
	}
	recs, _, err := s.st.List(ctx, store.Filter{SessionID: r.SessionID}, runCallsLimit, "")
	if err != nil {
		return nil, err
	}
	slices.Reverse(recs)
	recs = slices.DeleteFunc(recs, func(x *analytics.Record) bool { return x.Kind == analytics.KindAgentResult })
	if len(recs) == 0 {
		return nil, nil
	}
	reasks := analytics.Reasks(recs)
	out := make([]RunCall, len(recs))
	for i, x := range recs {
		out[i] = RunCall{Record: x, Reask: reasks[i], ReaskLabel: reasks[i].Label()}
	}
	return out, nil
}
