package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// claudeCodeSignals returns what Claude Code's log events and its spans
// say about three calls of app, as separate records of one identity each
// (the request id): an answer, an empty turn, and a refusal whose
// api_refusal event comes in an export of its own. The spans start a
// minute before the events are logged, so that a merge moves the calls'
// rollups to another bucket.
func claudeCodeSignals(app string) (logs, refusalEvent, spans []*analytics.Record) {
	at := func(d time.Duration) time.Time { return t0.Add(3*time.Hour + d) }
	mk := func(r analytics.Record) *analytics.Record {
		r.App, r.Environment, r.Source, r.Model, r.KeyedByRequest = app, "harness", "otlp", "claude-sonnet-4-6", true
		r.Kind = analytics.KindMessage
		analytics.Classify(&r)
		return &r
	}
	logged := func(id string, in, out int64, cost float64, text string) *analytics.Record {
		r := analytics.Record{Time: at(70 * time.Second), RequestID: id, SessionID: "s-" + app, UserID: "u",
			Usage: analytics.Usage{InputTokens: in, OutputTokens: out}, CostUSD: cost, LatencyMS: 19, TTFTMS: 14, Attempts: 1,
			StopReasonUnrecorded: analytics.StopUnrecordedClaudeCodeLogs, ContentUnrecorded: true}
		if text != "" {
			r.Content, r.ContentUnrecorded = []analytics.Block{{Type: "text", Text: text}}, false
		}
		return mk(r)
	}
	spanned := func(id string, in, out int64, stop analytics.StopReason) *analytics.Record {
		return mk(analytics.Record{Time: at(10 * time.Second), RequestID: id, SessionID: "s-" + app, TraceID: "trace-" + app,
			SpanID: "span-" + id, StopReason: stop, Usage: analytics.Usage{InputTokens: in, OutputTokens: out},
			LatencyMS: 23, TTFTMS: 14, Attempts: 1, ContentUnrecorded: true})
	}
	logs = []*analytics.Record{
		logged("req_1", 12, 9, 0.000171, "Paris is the capital of France."),
		logged("req_2", 240, 2, 0.00075, ""),
		logged("req_3", 20, 3, 0.000105, ""),
	}
	refusalEvent = []*analytics.Record{mk(analytics.Record{Time: at(69 * time.Second), RequestID: "req_3", SessionID: "s-" + app,
		StopReason: analytics.StopRefusal, Attempts: 1, ContentUnrecorded: true})}
	spans = []*analytics.Record{
		spanned("req_1", 12, 9, analytics.StopEndTurn),
		spanned("req_2", 240, 2, analytics.StopEndTurn),
		spanned("req_3", 20, 3, analytics.StopRefusal),
	}
	return logs, refusalEvent, spans
}

// testMergeSignals stores the signals of the same calls in both orders, and
// again, and checks that each call is one record with the union of its
// facts, counted once, in rollups that a rebuild leaves as they are.
func testMergeSignals(t *testing.T, s store.Store) {
	logs, refusal, spans := claudeCodeSignals("logs-first")
	insert(t, s, logs...)
	insert(t, s, refusal...)
	insert(t, s, spans...)
	logs2, refusal2, spans2 := claudeCodeSignals("spans-first")
	insert(t, s, spans2...)
	insert(t, s, refusal2...)
	insert(t, s, logs2...)
	// At least once: every signal again, in one batch, changes nothing.
	again, againRefusal, againSpans := claudeCodeSignals("logs-first")
	insert(t, s, append(append(again, againRefusal...), againSpans...)...)
	for _, r := range again {
		if r.ID != 0 {
			t.Errorf("a delivery seen before was stored again as record %d", r.ID)
		}
	}
	// Within one batch, the signals of one call are joined too.
	one, oneRefusal, oneSpans := claudeCodeSignals("one-batch")
	insert(t, s, append(append(one, oneRefusal...), oneSpans...)...)

	q := store.Query{Filter: store.Filter{From: t0, To: t0.Add(24 * time.Hour)},
		GroupBy: []store.Dim{store.DimApp, store.DimStopReason}, Bucket: time.Minute}
	incremental, err := s.Aggregate(ctx(), q)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	for _, app := range []string{"logs-first", "spans-first", "one-batch"} {
		var total analytics.Counts
		byStop := map[analytics.StopReason]int64{}
		for _, g := range incremental {
			if g.App != app {
				continue
			}
			total.Add(g.Counts)
			byStop[g.StopReason] += g.N
			if want := t0.Add(3*time.Hour + 10*time.Second).Truncate(time.Minute); !g.Bucket.Equal(want) {
				t.Errorf("%s: counted in bucket %s, want the earliest signal's %s", app, g.Bucket, want)
			}
		}
		if total.N != 3 || byStop[analytics.StopEndTurn] != 2 || byStop[analytics.StopRefusal] != 1 {
			t.Errorf("%s: %d calls, by stop reason %v; want 3: 2 end_turn, 1 refusal", app, total.N, byStop)
		}
		if total.Flag(analytics.FlagEmptyTurn) != 1 || total.Flag(analytics.FlagRefusal) != 1 {
			t.Errorf("%s: %d empty turns, %d refusals; want 1 and 1", app, total.Flag(analytics.FlagEmptyTurn), total.Flag(analytics.FlagRefusal))
		}
		if total.InputTokens != 272 || total.OutputTokens != 14 || total.CostMicroUSD != 171+750+105 {
			t.Errorf("%s: tokens %d in / %d out, cost %d µ$; want 272 / 14, %d", app, total.InputTokens, total.OutputTokens, total.CostMicroUSD, 171+750+105)
		}

		recs, _, err := s.List(ctx(), store.Filter{App: app}, 10, "")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(recs) != 3 {
			t.Fatalf("%s: %d records, want 3", app, len(recs))
		}
		for _, r := range recs {
			if r.SessionID == "" || r.TraceID == "" || r.CostUSD == 0 || r.StopReason == analytics.StopNull || r.StopReasonUnrecorded != "" || r.TTFTMS != 14 || r.Attempts != 1 {
				t.Errorf("%s: record %s lacks a signal's facts: %+v", app, r.RequestID, r)
			}
			if r.RequestID == "req_1" && (len(r.Content) != 1 || r.ContentUnrecorded) {
				t.Errorf("%s: the answer's content is %+v (unrecorded %v), want the logged text", app, r.Content, r.ContentUnrecorded)
			}
		}
	}

	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	rebuilt, err := s.Aggregate(ctx(), q)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	if !reflect.DeepEqual(incremental, rebuilt) {
		t.Errorf("merged rollups differ from a rebuild:\n got %s\nwant %s", firstDiff(incremental, rebuilt), firstDiff(rebuilt, incremental))
	}
	// Every level, not only minutes.
	for _, b := range []time.Duration{time.Hour, 24 * time.Hour, 0} {
		q.Bucket = b
		got, err := s.Aggregate(ctx(), q)
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		var n int64
		for _, g := range got {
			n += g.N
		}
		if n != 9 {
			t.Errorf("bucket %s: %d calls, want 9", b, n)
		}
	}
}
