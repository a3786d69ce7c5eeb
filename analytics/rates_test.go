package analytics

import (
	"fmt"
	"testing"
)

func msgGroup(sr StopReason, n int64, c Counts) Group {
	c.N = n
	return Group{Dims: Dims{App: "a", Kind: KindMessage, StopReason: sr}, Counts: c}
}

func TestRates(t *testing.T) {
	groups := []Group{
		msgGroup(StopEndTurn, 80, Counts{}.WithFlag(FlagEmptyTurn, 4)),
		msgGroup(StopMaxTokens, 5, Counts{}.WithFlag(FlagTruncated, 5)),
		msgGroup(StopRefusal, 10, Counts{}.WithFlag(FlagRefusal, 10)),
		msgGroup(StopNull, 2, Counts{}.WithFlag(FlagIncompleteStream, 2)),
		msgGroup("weird_reason", 1, Counts{}.WithFlag(FlagUnknownStopReason, 1)),
		{Dims: Dims{Kind: KindAgentResult, StopReason: StopEndTurn, Subtype: SubtypeSuccess}, Counts: Counts{N: 2}},
		{Dims: Dims{Kind: KindError, ErrorType: "overloaded_error", HTTPStatus: 529}, Counts: Counts{N: 25}},
	}
	s := Rates(groups)
	if s.Calls != 125 || s.Responses != 100 || s.Errors != 25 {
		t.Fatalf("volumes = %d/%d/%d, want 125/100/25", s.Calls, s.Responses, s.Errors)
	}
	tests := []struct {
		name     string
		got      Rate
		num, den int64
	}{
		{"refusal", s.Refusal, 10, 100},
		{"empty_turn", s.EmptyTurn, 4, 100},
		{"truncation", s.Truncation, 5, 100},
		{"error", s.Error, 25, 125},
	}
	for _, tt := range tests {
		if tt.got.Metric != tt.name || tt.got.Num != tt.num || tt.got.Den != tt.den {
			t.Errorf("%s = %+v, want %d/%d", tt.name, tt.got, tt.num, tt.den)
		}
		lo, hi := Wilson(tt.num, tt.den, Z95)
		if tt.got.Low != lo || tt.got.High != hi || tt.got.Value != float64(tt.num)/float64(tt.den) {
			t.Errorf("%s interval = %v [%v, %v], want [%v, %v]", tt.name, tt.got.Value, tt.got.Low, tt.got.High, lo, hi)
		}
	}
	// Every known stop reason in display order, then null, then the
	// unknown values seen.
	type share struct {
		metric string
		num    int64
	}
	nums := map[StopReason]int64{StopEndTurn: 82, StopMaxTokens: 5, StopRefusal: 10}
	var wantShares []share
	for _, r := range KnownStopReasons {
		wantShares = append(wantShares, share{string(StopReasonMetric(r)), nums[r]})
	}
	wantShares = append(wantShares, share{"stop_reason:null", 2}, share{"stop_reason:weird_reason", 1})
	if len(s.StopReasons) != len(wantShares) {
		t.Fatalf("got %d shares, want %d: %+v", len(s.StopReasons), len(wantShares), s.StopReasons)
	}
	var sum int64
	for i, w := range wantShares {
		got := s.StopReasons[i]
		if got.Metric != w.metric || got.Num != w.num || got.Den != 100 {
			t.Errorf("share %d = %+v, want %s %d/100", i, got, w.metric, w.num)
		}
		sum += got.Num
	}
	if sum != s.Responses {
		t.Errorf("shares sum to %d, want %d", sum, s.Responses)
	}
	if r, ok := s.Get(StopReasonMetric(StopNull)); !ok || r.Num != 2 {
		t.Errorf("Get(null share) = %+v, %v", r, ok)
	}
	if r, ok := s.Get(MetricError); !ok || r.Num != 25 {
		t.Errorf("Get(error) = %+v, %v", r, ok)
	}
	if _, ok := s.Get("nonsense"); ok {
		t.Error("Get(nonsense) found a rate")
	}
}

func TestRatesEmpty(t *testing.T) {
	s := Rates(nil)
	if s.Refusal.Den != 0 || s.Refusal.Low != 0 || s.Refusal.High != 1 || len(s.StopReasons) != len(KnownStopReasons)+1 {
		t.Errorf("Rates(nil) = %+v", s)
	}
}

func TestMetricTally(t *testing.T) {
	groups := []Group{
		msgGroup(StopRefusal, 3, Counts{}.WithFlag(FlagRefusal, 3)),
		msgGroup(StopEndTurn, 7, Counts{}),
		{Dims: Dims{Kind: KindError}, Counts: Counts{N: 10}},
	}
	tests := []struct {
		m    Metric
		want Tally
	}{
		{MetricRefusal, Tally{3, 10}},
		{MetricError, Tally{10, 20}},
		{MetricEmptyTurn, Tally{0, 10}},
		{StopReasonMetric(StopEndTurn), Tally{7, 10}},
		{"bogus", Tally{}},
	}
	for _, tt := range tests {
		if got := tt.m.Tally(groups); got != tt.want {
			t.Errorf("%s.Tally = %+v, want %+v", tt.m, got, tt.want)
		}
	}
	for _, m := range []Metric{MetricRefusal, MetricError, StopReasonMetric(StopNull)} {
		if !m.Valid() {
			t.Errorf("%s not valid", m)
		}
	}
	if Metric("stop_reason:").Valid() || Metric("x").Valid() {
		t.Error("invalid metrics reported valid")
	}
	if r, ok := StopReasonMetric(StopNull).StopReason(); !ok || r != StopNull {
		t.Errorf("null share metric gives %q, %v", r, ok)
	}
}

func BenchmarkRates(b *testing.B) {
	// About what a day of one app grouped by model, kind and stop reason
	// by hour returns.
	var groups []Group
	for h := range 24 {
		for m := range 5 {
			for _, sr := range append(KnownStopReasons, StopNull) {
				groups = append(groups, Group{
					Dims:   Dims{Model: fmt.Sprint("m", m), Kind: KindMessage, StopReason: sr},
					Counts: Counts{N: int64(100 + h)}.WithFlag(FlagRefusal, int64(h%3)).WithFlag(FlagEmptyTurn, 1).WithFlag(FlagTruncated, 2),
				})
			}
			groups = append(groups, Group{Dims: Dims{Model: fmt.Sprint("m", m), Kind: KindError}, Counts: Counts{N: 3}})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Rates(groups)
	}
}
