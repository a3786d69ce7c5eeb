package analytics

import (
	"strconv"
	"time"
)

// Summary is the answer of GET /api/v1/summary: counts over a time range.
// StopReasons counts messages and agent results (null as "null"); failed
// requests are counted only under Errors.
type Summary struct {
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Total       int64            `json:"total"`
	Kinds       map[string]int64 `json:"kinds"`
	StopReasons map[string]int64 `json:"stop_reasons"`
	// AmbiguousStopReasons counts the end_turn records that a producer
	// reported only as a generic "stop": they may have been stop_sequence.
	AmbiguousStopReasons int64            `json:"ambiguous_stop_reasons"`
	Flags                map[string]int64 `json:"flags"`
	Causes               map[string]int64 `json:"causes"`
	Errors               ErrorCounts      `json:"errors"`
	AgentSubtypes        map[string]int64 `json:"agent_subtypes"`
	Usage                UsageTotals      `json:"usage"`
}

// ErrorCounts counts failed requests by error type and HTTP status.
type ErrorCounts struct {
	Total    int64            `json:"total"`
	ByType   map[string]int64 `json:"by_type"`
	ByStatus map[string]int64 `json:"by_status"`
}

// UsageTotals sums tokens and latency over the summary's records.
type UsageTotals struct {
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

// Summarize folds groups (of any grouping that includes kind, stop reason,
// error type, HTTP status and subtype) into a Summary. Every known stop
// reason, kind, flag and subtype is present, with zero where none was seen.
func Summarize(from, to time.Time, groups []Group) Summary {
	s := Summary{
		From: from, To: to,
		Kinds:         map[string]int64{},
		StopReasons:   map[string]int64{},
		Flags:         map[string]int64{},
		Causes:        map[string]int64{},
		Errors:        ErrorCounts{ByType: map[string]int64{}, ByStatus: map[string]int64{}},
		AgentSubtypes: map[string]int64{},
	}
	for _, k := range Kinds {
		s.Kinds[string(k)] = 0
	}
	for _, r := range KnownStopReasons {
		s.StopReasons[r.Key()] = 0
	}
	s.StopReasons[StopNull.Key()] = 0
	for _, f := range AllFlags {
		s.Flags[string(f)] = 0
	}
	for _, c := range AllCauses {
		s.Causes[string(c)] = 0
	}
	for _, st := range AgentSubtypes {
		s.AgentSubtypes[st] = 0
	}
	var cost int64
	for _, g := range groups {
		c := g.Counts
		s.Total += c.N
		s.Kinds[string(g.Kind)] += c.N
		for _, f := range AllFlags {
			s.Flags[string(f)] += c.Flag(f)
		}
		for _, k := range AllCauses {
			s.Causes[string(k)] += c.Cause(k)
		}
		s.AmbiguousStopReasons += c.AmbiguousStopReason
		s.Usage.InputTokens += c.InputTokens
		s.Usage.OutputTokens += c.OutputTokens
		cost += c.CostMicroUSD
		switch g.Kind {
		case KindError:
			s.Errors.Total += c.N
			t := g.ErrorType
			if t == "" {
				t = "unknown"
			}
			s.Errors.ByType[t] += c.N
			if g.HTTPStatus != 0 {
				s.Errors.ByStatus[strconv.Itoa(g.HTTPStatus)] += c.N
			}
		default:
			s.StopReasons[g.StopReason.Key()] += c.N
			if g.Kind == KindAgentResult && g.Subtype != "" {
				s.AgentSubtypes[g.Subtype] += c.N
			}
		}
	}
	s.Usage.CostUSD = float64(cost) / 1e6
	return s
}
