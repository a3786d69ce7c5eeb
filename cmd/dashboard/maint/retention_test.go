package maint_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/maint"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// TestRetentionRun runs the retention loop's work on a fake clock: old raw
// records go, their counts stay, old rollups go.
func TestRetentionRun(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var recs []*analytics.Record
	for _, age := range []int{1, 10, 45, 100, 500} {
		for i := range 3 {
			recs = append(recs, &analytics.Record{
				Time: now.Add(-time.Duration(age) * 24 * time.Hour), App: "ret", Kind: analytics.KindMessage,
				StopReason: analytics.StopEndTurn, MessageID: fmt.Sprintf("ret-%d-%d", age, i),
			})
		}
	}
	if err := st.Insert(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	r := &maint.Retention{
		Store: st, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler),
		Raw: maint.Days(30), Rollups: maint.Days(400), Chunk: 2,
	}
	gotRecs, gotRollups, err := r.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if gotRecs != 9 {
		t.Errorf("deleted %d records, want the 9 older than 30 days", gotRecs)
	}
	// One row per level of the 500-day-old bucket: the three count
	// levels and the two usage levels (these records report no latency,
	// so the latency levels have none).
	if gotRollups != 5 {
		t.Errorf("deleted %d rollup rows, want 5 (one per level, the 500-day-old bucket)", gotRollups)
	}
	var raw int64
	st.Reader().QueryRow("SELECT COUNT(*) FROM records").Scan(&raw)
	if raw != 6 {
		t.Errorf("%d records left, want 6", raw)
	}
	// The 45- and 100-day-old records are gone but still counted.
	gs, err := st.Aggregate(context.Background(), store.Query{Filter: store.Filter{
		From: now.Add(-200 * 24 * time.Hour).Truncate(24 * time.Hour), To: now.Truncate(24 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, g := range gs {
		n += g.N
	}
	if n != 12 {
		t.Errorf("the last 200 days count %d records, want 12", n)
	}
	// A second run finds nothing to do.
	if a, b, err := r.RunOnce(context.Background()); a != 0 || b != 0 || err != nil {
		t.Errorf("second run = %d, %d, %v", a, b, err)
	}
}
