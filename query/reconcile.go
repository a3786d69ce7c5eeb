package query

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// TotalsStore is what the reconciliation reads: a store that keeps
// producer totals (every store of package sqlstore is one).
type TotalsStore interface {
	SessionTotals(ctx context.Context, limit int) ([]store.SessionTotals, error)
}

// CostTolerance is how far apart, in USD, a producer's cost and the sum of
// the records' costs may be and still agree: the producers round.
const CostTolerance = 1e-6

// UsageTotals are a session's token counts by type and its cost.
type UsageTotals struct {
	Input         int64   `json:"input_tokens"`
	Output        int64   `json:"output_tokens"`
	CacheRead     int64   `json:"cache_read_input_tokens"`
	CacheCreation int64   `json:"cache_creation_input_tokens"`
	CostUSD       float64 `json:"cost_usd"`
}

// SessionReconciliation sets one session's totals as its producer counted
// them (Claude Code's claude_code.token.usage and claude_code.cost.usage)
// beside the sums over the calls stopscope stored for it, and their
// difference (producer minus records). It is a reconciliation, not a
// second count: the figures of every other page come from the records.
type SessionReconciliation struct {
	App       string    `json:"app"`
	SessionID string    `json:"session_id"`
	Last      time.Time `json:"last"`
	// Calls counts the session's stored calls.
	Calls    int64       `json:"calls"`
	Producer UsageTotals `json:"producer"`
	Records  UsageTotals `json:"records"`
	Diff     UsageTotals `json:"difference"`
	// HasTokens and HasCost say which totals the producer sent; a total it
	// did not send is not compared.
	HasTokens bool `json:"has_tokens"`
	HasCost   bool `json:"has_cost"`
	// Agrees is true when every total the producer sent matches the
	// records (tokens exactly, cost within CostTolerance).
	Agrees bool `json:"agrees"`
}

// Reconciliation is the reconciliation of the newest sessions a producer
// sent totals for, the sessions that disagree first.
type Reconciliation struct {
	// Available is false when the store keeps no producer totals.
	Available   bool                    `json:"available"`
	Sessions    []SessionReconciliation `json:"sessions"`
	Disagreeing int                     `json:"disagreeing"`
}

// Reconcile reads the producer totals of the newest limit sessions (cut to
// store.MaxSessionTotals) and sets them beside the records' sums, the
// sessions that disagree first, each group newest first.
func (s *Service) Reconcile(ctx context.Context, limit int) (Reconciliation, error) {
	ts, ok := s.st.(TotalsStore)
	if !ok {
		return Reconciliation{Sessions: []SessionReconciliation{}}, nil
	}
	rows, err := ts.SessionTotals(ctx, limit)
	if err != nil {
		return Reconciliation{}, err
	}
	out := Reconciliation{Available: true, Sessions: make([]SessionReconciliation, 0, len(rows))}
	for _, r := range rows {
		sr := SessionReconciliation{
			App: r.App, SessionID: r.SessionID, Last: r.Last, Calls: r.Records,
			HasTokens: r.HasTokens, HasCost: r.HasCost,
			Producer: UsageTotals{
				Input: round(r.Tokens[analytics.TokenInput]), Output: round(r.Tokens[analytics.TokenOutput]),
				CacheRead: round(r.Tokens[analytics.TokenCacheRead]), CacheCreation: round(r.Tokens[analytics.TokenCacheCreation]),
				CostUSD: r.CostUSD,
			},
			Records: UsageTotals{
				Input: r.RecordInput, Output: r.RecordOutput, CacheRead: r.RecordCacheRead,
				CacheCreation: r.RecordCacheCreation, CostUSD: r.RecordCostUSD,
			},
		}
		p, c := sr.Producer, sr.Records
		sr.Diff = UsageTotals{
			Input: p.Input - c.Input, Output: p.Output - c.Output, CacheRead: p.CacheRead - c.CacheRead,
			CacheCreation: p.CacheCreation - c.CacheCreation, CostUSD: p.CostUSD - c.CostUSD,
		}
		tokensAgree := !r.HasTokens || (sr.Diff.Input == 0 && sr.Diff.Output == 0 && sr.Diff.CacheRead == 0 && sr.Diff.CacheCreation == 0)
		costAgrees := !r.HasCost || math.Abs(sr.Diff.CostUSD) <= CostTolerance
		sr.Agrees = tokensAgree && costAgrees
		if !sr.Agrees {
			out.Disagreeing++
		}
		out.Sessions = append(out.Sessions, sr)
	}
	// The store reads newest first; a stable sort keeps that within groups.
	slices.SortStableFunc(out.Sessions, func(a, b SessionReconciliation) int {
		switch {
		case a.Agrees == b.Agrees:
			return 0
		case !a.Agrees:
			return -1
		}
		return 1
	})
	return out, nil
}

func round(v float64) int64 { return int64(math.Round(v)) }
