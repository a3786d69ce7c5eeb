package analytics

import (
	"testing"
	"time"
)

func TestRecoveredBy(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	msg := func(id int64, model string, sr StopReason, d time.Duration) *Record {
		return &Record{ID: id, Time: t0.Add(d), Kind: KindMessage, Model: model, StopReason: sr}
	}
	refusal := func(recommended string) *Record {
		r := msg(1, "claude-opus-5", StopRefusal, 0)
		r.StopDetails = &StopDetails{Type: "refusal", Category: RefusalCategoryCyber, RecommendedModel: recommended}
		return r
	}
	tests := []struct {
		name   string
		r      *Record
		rest   []*Record
		wantID int64
	}{
		{"answered on the recommended model", refusal("claude-sonnet-4-6"),
			[]*Record{msg(2, "claude-sonnet-4-6-20260101", StopEndTurn, time.Second)}, 2},
		{"another model than the recommended one does not count", refusal("claude-sonnet-4-6"),
			[]*Record{msg(2, "claude-haiku-4-5", StopEndTurn, time.Second)}, 0},
		{"without a recommendation any other model is a fallback", refusal(""),
			[]*Record{msg(2, "claude-opus-5", StopEndTurn, time.Second), msg(3, "claude-sonnet-4-6", StopToolUse, 2*time.Second)}, 3},
		{"the fallback refused too", refusal(""),
			[]*Record{msg(2, "claude-sonnet-4-6", StopRefusal, time.Second)}, 0},
		{"too late", refusal(""),
			[]*Record{msg(2, "claude-sonnet-4-6", StopEndTurn, 2*ConversationGap)}, 0},
		{"not a refusal", msg(1, "claude-opus-5", StopEndTurn, 0),
			[]*Record{msg(2, "claude-sonnet-4-6", StopEndTurn, time.Second)}, 0},
		{"a failed call is no answer", refusal(""),
			[]*Record{{ID: 2, Time: t0.Add(time.Second), Kind: KindError, Model: "claude-sonnet-4-6"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			thread := append([]*Record{msg(9, "claude-sonnet-4-6", StopEndTurn, -time.Second), tt.r}, tt.rest...)
			got := RecoveredBy(tt.r, thread)
			var id int64
			if got != nil {
				id = got.ID
			}
			if id != tt.wantID {
				t.Errorf("RecoveredBy = record %d, want %d", id, tt.wantID)
			}
		})
	}
}

// TestContinuingStopReasons checks that every stop reason the client
// continues from has its continuation patterns, and that compaction is
// first-class: known, not flagged, continued.
func TestContinuingStopReasons(t *testing.T) {
	for _, i := range StopReasonTable {
		if _, _, ok := continuationKinds(i.Reason); ok != i.Continues {
			t.Errorf("%s: Continues %v, continuation patterns %v", i.Reason, i.Continues, ok)
		}
	}
	r := &Record{Kind: KindMessage, StopReason: StopCompaction, Content: []Block{{Type: "compaction"}}}
	Classify(r)
	if !r.StopReason.Known() || r.Flags != 0 {
		t.Errorf("compaction: known %v, flags %v", r.StopReason.Known(), r.Flags.List())
	}
	if !StopReasonInfoOf(StopCompaction).Continues || StopReasonInfoOf(StopCompaction).Advice.Source.URL == "" {
		t.Errorf("compaction: %+v", StopReasonInfoOf(StopCompaction))
	}
}

// TestCompactionTokensCount checks that compaction iterations' tokens,
// which the API leaves out of a message's usage, count in the totals.
func TestCompactionTokensCount(t *testing.T) {
	r := &Record{Kind: KindMessage, StopReason: StopCompaction,
		Usage: Usage{InputTokens: 3, OutputTokens: 4, CompactionInputTokens: 150000, CompactionOutputTokens: 2000}}
	c := CountsOf(r)
	if c.InputTokens != 150003 || c.OutputTokens != 2004 {
		t.Errorf("counts in %d out %d, want 150003 and 2004", c.InputTokens, c.OutputTokens)
	}
}
