package analytics

import (
	"slices"
	"strings"
)

// Metric names a rate that can be computed from groups. The headline metrics
// are constants; a stop reason's share is StopReasonMetric(r).
//
// Denominators:
//   - refusal, empty_turn and truncation are over responses: messages and
//     Agent SDK results, the calls that returned a stop reason. A failed
//     request cannot refuse or be truncated, so counting it would dilute
//     the rate whenever the API has an outage.
//   - error is over all calls, failed ones included.
//   - stop_reason:<key> shares are over responses too, so they sum to 1.
type Metric string

// The headline metrics.
const (
	MetricRefusal    Metric = "refusal"
	MetricEmptyTurn  Metric = "empty_turn"
	MetricTruncation Metric = "truncation"
	MetricError      Metric = "error"
)

// stopReasonPrefix starts the name of a stop reason share metric.
const stopReasonPrefix = "stop_reason:"

// StopReasonMetric returns the metric of one stop reason's share of
// responses; the null stop reason is "stop_reason:null".
func StopReasonMetric(r StopReason) Metric {
	return Metric(stopReasonPrefix + r.Key())
}

// StopReason returns the stop reason a share metric is about, and whether m
// is a share metric at all.
func (m Metric) StopReason() (StopReason, bool) {
	s, ok := strings.CutPrefix(string(m), stopReasonPrefix)
	if !ok {
		return StopNull, false
	}
	return ParseStopReasonKey(s), true
}

// Valid reports whether m is a headline metric or a stop reason share.
func (m Metric) Valid() bool {
	switch m {
	case MetricRefusal, MetricEmptyTurn, MetricTruncation, MetricError:
		return true
	}
	s, ok := strings.CutPrefix(string(m), stopReasonPrefix)
	return ok && s != ""
}

// flag returns the flag a headline metric counts (see FlagInfo.Metric), or
// "" for a metric that counts none.
func (m Metric) flag() Flag {
	for _, i := range flagTable {
		if i.Metric == m {
			return i.Flag
		}
	}
	return ""
}

// TallyOf returns the events and the denominator that group g contributes
// to metric m (see Metric for the denominators). The group must have been
// grouped by kind, and by stop reason for share metrics: a group with an
// empty Kind is taken as a response. An unknown metric tallies nothing.
func (m Metric) TallyOf(g Group) Tally {
	isErr := g.Kind == KindError
	switch m {
	case MetricError:
		if isErr {
			return Tally{K: g.N, N: g.N}
		}
		return Tally{N: g.N}
	case MetricRefusal, MetricEmptyTurn, MetricTruncation:
		if isErr {
			return Tally{}
		}
		return Tally{K: g.Flag(m.flag()), N: g.N}
	}
	if r, ok := m.StopReason(); ok && !isErr {
		if g.StopReason == r {
			return Tally{K: g.N, N: g.N}
		}
		return Tally{N: g.N}
	}
	return Tally{}
}

// Tally sums metric m over groups.
func (m Metric) Tally(groups []Group) Tally {
	var t Tally
	for i := range groups {
		t.Add(m.TallyOf(groups[i]))
	}
	return t
}

// Rate is a proportion with its 95% Wilson interval and the volume behind
// it: Num events out of Den calls.
type Rate struct {
	Metric string  `json:"metric"`
	Num    int64   `json:"num"`
	Den    int64   `json:"den"`
	Value  float64 `json:"value"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
}

// NewRate returns the rate of t with its 95% Wilson interval.
func NewRate(metric string, t Tally) Rate {
	lo, hi := Wilson(t.K, t.N, Z95)
	return Rate{Metric: metric, Num: t.K, Den: t.N, Value: t.Value(), Low: lo, High: hi}
}

// RateSet is the headline rates and the stop reason shares of one scope and
// window.
type RateSet struct {
	// Calls counts every call; Responses the messages and Agent SDK
	// results; Errors the failed requests.
	Calls     int64 `json:"calls"`
	Responses int64 `json:"responses"`
	Errors    int64 `json:"errors"`

	Refusal    Rate `json:"refusal"`
	EmptyTurn  Rate `json:"empty_turn"`
	Truncation Rate `json:"truncation"`
	Error      Rate `json:"error"`

	// StopReasons has the share of every known stop reason (zero if none
	// was seen) in display order, then "null", then any unknown values seen,
	// sorted. Each Metric is StopReasonMetric of the reason.
	StopReasons []Rate `json:"stop_reasons"`
}

// Get returns the rate of metric m, if the set has it.
func (s RateSet) Get(m Metric) (Rate, bool) {
	switch m {
	case MetricRefusal:
		return s.Refusal, true
	case MetricEmptyTurn:
		return s.EmptyTurn, true
	case MetricTruncation:
		return s.Truncation, true
	case MetricError:
		return s.Error, true
	}
	for _, r := range s.StopReasons {
		if r.Metric == string(m) {
			return r, true
		}
	}
	return Rate{}, false
}

// Rates computes the RateSet of groups, which should all belong to the
// scope and window of interest (the store's Aggregate answer for them). The
// groups must be grouped by at least kind and stop reason for the error rate
// and the shares to be right; other dimensions are summed over.
func Rates(groups []Group) RateSet {
	var s RateSet
	var refusals, empty, truncated int64
	// Known reasons and null have fixed slots; unknown values are rare and
	// go to a small map.
	known := make([]int64, len(KnownStopReasons)+1)
	var unknown map[StopReason]int64
	for i := range groups {
		g := &groups[i]
		s.Calls += g.N
		if g.Kind == KindError {
			s.Errors += g.N
			continue
		}
		s.Responses += g.N
		refusals += g.Flag(FlagRefusal)
		empty += g.Flag(FlagEmptyTurn)
		truncated += g.Flag(FlagTruncated)
		if g.StopReason == StopNull {
			known[len(KnownStopReasons)] += g.N
			continue
		}
		if j := slices.Index(KnownStopReasons, g.StopReason); j >= 0 {
			known[j] += g.N
			continue
		}
		if unknown == nil {
			unknown = map[StopReason]int64{}
		}
		unknown[g.StopReason] += g.N
	}
	s.Refusal = NewRate(string(MetricRefusal), Tally{refusals, s.Responses})
	s.EmptyTurn = NewRate(string(MetricEmptyTurn), Tally{empty, s.Responses})
	s.Truncation = NewRate(string(MetricTruncation), Tally{truncated, s.Responses})
	s.Error = NewRate(string(MetricError), Tally{s.Errors, s.Calls})

	s.StopReasons = make([]Rate, 0, len(known)+len(unknown))
	for j, r := range KnownStopReasons {
		s.StopReasons = append(s.StopReasons, NewRate(string(StopReasonMetric(r)), Tally{known[j], s.Responses}))
	}
	s.StopReasons = append(s.StopReasons, NewRate(string(StopReasonMetric(StopNull)), Tally{known[len(KnownStopReasons)], s.Responses}))
	if len(unknown) > 0 {
		keys := make([]StopReason, 0, len(unknown))
		for r := range unknown {
			keys = append(keys, r)
		}
		slices.Sort(keys)
		for _, r := range keys {
			s.StopReasons = append(s.StopReasons, NewRate(string(StopReasonMetric(r)), Tally{unknown[r], s.Responses}))
		}
	}
	return s
}
