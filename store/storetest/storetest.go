// Package storetest is the test suite every store.Store implementation
// passes: call Run from the implementation's tests with a function that
// opens a fresh, empty store, and BenchInsert from its benchmarks.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Run runs the suite. open must return a new, empty store for each call
// and arrange (with t.Cleanup) for it to be closed and removed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Roundtrip", testRoundtrip},
		{"CleanText", testCleanText},
		{"GetMissing", testGetMissing},
		{"InsertInvalid", testInsertInvalid},
		{"Dedupe", testDedupe},
		{"MergeSignals", testMergeSignals},
		{"ConcurrentInsert", testConcurrentInsert},
		{"ListFilters", testListFilters},
		{"TextSearch", testTextSearch},
		{"ListPaging", testListPaging},
		{"RefusalCategory", testRefusalCategory},
		{"Aggregate", testAggregate},
		{"Vocabulary", testVocabulary},
		{"AggregateInvalid", testAggregateInvalid},
		{"Randomized", testRandomized},
		{"Records", testRecords},
		{"RecordsTextCap", testRecordsTextCap},
		{"RefusalCounts", testRefusalCounts},
		{"Retention", testRetention},
		{"CopyDays", testCopyDays},
		{"AlertRules", testAlertRules},
		{"AlertChannels", testAlertChannels},
		{"AlertFlow", testAlertFlow},
		{"AlertSeedsHistoryRouting", testAlertSeedsHistoryRouting},
		{"EvaluatorLock", testEvaluatorLock},
		{"APIKeys", testAPIKeys},
		{"UsersSessions", testUsersSessions},
		{"ProducerTotals", testProducerTotals},
		{"ReleaseDims", testReleaseDims},
		{"DimCap", testDimCap},
		{"LatencyCost", testLatencyCost},
		{"UsageUsers", testUsageUsers},
		{"LatencyCostMerge", testLatencyCostMerge},
		{"LatencyCostLate", testLatencyCostLate},
		{"CompareReads", testCompareReads},
		{"LastSeen", testLastSeen},
		{"SavedViews", testSavedViews},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			tc.fn(t, s)
		})
	}
}

// t0 is a Monday at midnight UTC: the records of the fixed tests sit
// around it.
var t0 = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

func ctx() context.Context { return context.Background() }

func insert(t *testing.T, s store.Store, recs ...*analytics.Record) {
	t.Helper()
	if err := s.Insert(ctx(), recs); err != nil {
		t.Fatalf("Insert: %v", err)
	}
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	return analytics.ErrorCode(err)
}

// fullRecord sets every field of a Record.
func fullRecord() *analytics.Record {
	return &analytics.Record{
		Time:                t0.Add(90*time.Minute + 123456789),
		Source:              "native",
		App:                 "checkout",
		Environment:         "prod",
		Release:             "r42",
		PromptVersion:       "checkout-agent/v3",
		SessionID:           "sess-1",
		UserID:              "user-1",
		RequestID:           "req_01",
		MessageID:           "msg_01",
		TraceID:             "trace-1",
		SpanID:              "span-1",
		PromptID:            "prompt-1",
		ServiceTier:         "priority",
		Kind:                analytics.KindMessage,
		Model:               "claude-sonnet-4-5",
		Streamed:            true,
		StopReason:          analytics.StopEndTurn,
		StopReasonAmbiguous: true,
		StopSequence:        "###",
		Tools:               []string{"get_weather", "web_search"},
		Flags:               analytics.Flags(0).With(analytics.FlagEmptyTurn).With(analytics.FlagIncompleteStream),
		Causes:              []analytics.Cause{analytics.CauseTextAfterToolResult},
		Usage:               analytics.Usage{InputTokens: 1200, OutputTokens: 34, CacheCreationInputTokens: 5, CacheCreation1hInputTokens: 2, CacheReadInputTokens: 700},
		LatencyMS:           842,
		TTFTMS:              120,
		Attempts:            2,
		HTTPStatus:          200,
		ErrorType:           "none_really",
		ErrorMessage:        "message with 'quotes' and \"double\" and 100% _under_",
		Subtype:             analytics.SubtypeSuccess,
		NumTurns:            3,
		CostUSD:             0.012345,
		DurationMS:          5000,
		Content: []analytics.Block{
			{Type: "text", Text: "Hello, Wörld!"},
			{Type: "tool_use", Name: "get_weather"},
		},
		Req: &analytics.Request{
			Model: "claude-sonnet-4-5", MaxTokens: 1024, StopSequences: []string{"###"},
			Messages: []analytics.Message{
				{Role: "user", Blocks: []analytics.Block{{Type: "tool_result", Text: "72F"}, {Type: "text", Text: "and?"}}},
			},
		},
		RequestBody:  json.RawMessage(`{"model":"claude-sonnet-4-5","max_tokens":1024}`),
		ResponseBody: json.RawMessage(`{"id":"msg_01","stop_reason":"end_turn"}`),
		StreamBody:   "event: message_start\ndata: {}\n\n",
	}
}

func testRoundtrip(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		rec  func() *analytics.Record
	}{
		{"every field", fullRecord},
		{"keyed by request", func() *analytics.Record {
			r := fullRecord()
			r.RequestID, r.KeyedByRequest = "req_keyed", true
			return r
		}},
		{"null stop reason", func() *analytics.Record {
			r := fullRecord()
			r.MessageID, r.StopReason, r.Flags = "msg_null", analytics.StopNull, analytics.Flags(0).With(analytics.FlagIncompleteStream)
			return r
		}},
		{"stop reason and content unrecorded", func() *analytics.Record {
			r := fullRecord()
			r.MessageID, r.StopReason, r.StopReasonUnrecorded = "msg_unrecorded", analytics.StopNull, analytics.StopUnrecordedClaudeCodeLogs
			r.Content, r.ContentUnrecorded, r.Tools = nil, true, nil
			r.Flags = analytics.Flags(0).With(analytics.FlagEmptyTurn)
			return r
		}},
		{"unknown stop reason", func() *analytics.Record {
			r := fullRecord()
			r.MessageID, r.StopReason, r.Flags = "msg_unknown", "future_reason", analytics.Flags(0).With(analytics.FlagUnknownStopReason)
			return r
		}},
		{"refusal with stop_details", func() *analytics.Record {
			r := fullRecord()
			r.MessageID, r.StopReason, r.Flags = "msg_refusal", analytics.StopRefusal, analytics.Flags(0).With(analytics.FlagRefusal)
			r.StopDetails = &analytics.StopDetails{Type: "refusal", Category: analytics.RefusalCategoryCyber,
				Explanation: "It's \"explained\" — 100%", RecommendedModel: "claude-sonnet-4-6"}
			return r
		}},
		{"stop_details with null category and compaction tokens", func() *analytics.Record {
			r := fullRecord()
			r.MessageID, r.StopReason, r.Flags = "msg_compaction", analytics.StopCompaction, 0
			r.StopDetails = &analytics.StopDetails{Type: "refusal"}
			r.Usage.CompactionInputTokens, r.Usage.CompactionOutputTokens = 150000, 2300
			return r
		}},
		{"large bodies, stored compressed", func() *analytics.Record {
			r := fullRecord()
			r.MessageID = "msg_large"
			text := strings.Repeat(`{"type":"text","text":"Some words of a long answer, and more."},`, 400)
			r.RequestBody = json.RawMessage(`{"model":"claude-sonnet-4-5","messages":[` + text + `{}]}`)
			r.ResponseBody = json.RawMessage(`{"id":"msg_large","content":[` + text + `{}]}`)
			r.StreamBody = strings.Repeat("event: content_block_delta\ndata: {\"delta\":{\"text\":\"words\"}}\n\n", 300)
			return r
		}},
		{"bodies that start with zstd's frame magic", func() *analytics.Record {
			r := fullRecord()
			r.MessageID = "msg_magic"
			r.RequestBody = json.RawMessage("\x28\xb5\x2f\xfd not a frame")
			r.ResponseBody = json.RawMessage("\x28\xb5\x2f\xfd")
			r.StreamBody = "\x28\xb5\x2f\xfd" + strings.Repeat("x", 5000)
			return r
		}},
		{"minimal, no identity, no bodies", func() *analytics.Record {
			return &analytics.Record{Time: t0.Add(time.Second), App: "a", Kind: analytics.KindError, HTTPStatus: 529, ErrorType: "overloaded_error"}
		}},
		{"non-UTC time zone and all flags", func() *analytics.Record {
			r := fullRecord()
			r.MessageID = "msg_zone"
			r.Time = time.Date(2025, 3, 2, 19, 30, 0, 1, time.FixedZone("EST", -5*3600))
			r.Flags = analytics.FlagMask
			r.Req = nil
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rec()
			insert(t, s, rec)
			if rec.ID == 0 {
				t.Fatal("Insert left ID at zero")
			}
			got, err := s.Get(ctx(), rec.ID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			want := *tc.rec()
			want.ID = rec.ID
			want.Time = want.Time.UTC()
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("Get returned\n%+v\nwant\n%+v", got, &want)
			}
			if !got.Time.Equal(rec.Time) || got.Time.Location() != time.UTC {
				t.Errorf("time %v, want %v in UTC", got.Time, rec.Time)
			}
			// List returns the same record without the request summary
			// and bodies.
			list, _, err := s.List(ctx(), store.Filter{App: want.App, From: want.Time, To: want.Time.Add(1)}, 10, "")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			light := want
			light.Req, light.RequestBody, light.ResponseBody, light.StreamBody = nil, nil, nil, ""
			var listed *analytics.Record
			for _, r := range list {
				if r.ID == rec.ID {
					listed = r
				}
			}
			if !reflect.DeepEqual(listed, &light) {
				t.Errorf("List returned\n%+v\nwant\n%+v", listed, &light)
			}
		})
	}
}

func testCleanText(t *testing.T, s store.Store) {
	// PostgreSQL cannot store NUL or invalid UTF-8 in text: both stores
	// replace them with U+FFFD rather than fail the batch.
	rec := &analytics.Record{Time: t0, App: "a\x00b", Kind: analytics.KindError, ErrorMessage: "bad \xff byte", MessageID: "m\x00"}
	insert(t, s, rec)
	got, err := s.Get(ctx(), rec.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.App != "a\uFFFDb" || got.ErrorMessage != "bad \uFFFD byte" || got.MessageID != "m\uFFFD" {
		t.Errorf("got app %q, message %q, id %q", got.App, got.ErrorMessage, got.MessageID)
	}
	gs, err := s.Aggregate(ctx(), store.Query{GroupBy: []store.Dim{store.DimApp}})
	if err != nil || len(gs) != 1 || gs[0].App != "a\uFFFDb" || gs[0].N != 1 {
		t.Errorf("Aggregate = %+v, %v", gs, err)
	}
	// The record is found again by its cleaned identity.
	again := &analytics.Record{Time: t0, App: "a\x00b", Kind: analytics.KindError, MessageID: "m\x00"}
	insert(t, s, again)
	if again.ID != 0 {
		t.Errorf("retry was stored as %d", again.ID)
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	_, err := s.Get(ctx(), 424242)
	if errCode(err) != analytics.ENotFound {
		t.Fatalf("Get of a missing id: %v, want code %s", err, analytics.ENotFound)
	}
	if got, want := analytics.ErrorMessage(err), "no record with id 424242"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func testInsertInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		recs []*analytics.Record
	}{
		{"zero time", []*analytics.Record{{App: "a", Time: t0}, {App: "a"}}},
		{"before 1970", []*analytics.Record{{App: "a", Time: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)}}},
		{"after 2200", []*analytics.Record{{App: "a", Time: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{"nil record", []*analytics.Record{{App: "a", Time: t0}, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Insert(ctx(), tc.recs)
			if errCode(err) != analytics.EInvalid {
				t.Fatalf("Insert: %v, want code %s", err, analytics.EInvalid)
			}
		})
	}
	// Nothing of the failed batches was stored.
	list, _, err := s.List(ctx(), store.Filter{}, 10, "")
	if err != nil || len(list) != 0 {
		t.Errorf("List after failed inserts = %d records, %v", len(list), err)
	}
	if err := s.Insert(ctx(), nil); err != nil {
		t.Errorf("Insert of no records: %v", err)
	}
}

// total returns the counts of every record, grouped by every dim, per
// minute: what any rollup change would show in.
func total(t *testing.T, s store.Store) []analytics.Group {
	t.Helper()
	var all []analytics.Group
	for _, b := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
		gs, err := s.Aggregate(ctx(), store.Query{GroupBy: allDims, Bucket: b})
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		all = append(all, gs...)
	}
	return all
}

var allDims = []store.Dim{
	store.DimApp, store.DimEnvironment, store.DimModel, store.DimKind,
	store.DimStopReason, store.DimErrorType, store.DimHTTPStatus, store.DimSubtype,
	store.DimRefusalCategory, store.DimRelease, store.DimPromptVersion,
}

func testDedupe(t *testing.T, s store.Store) {
	rec := func(app, msgID, reqID string, sec int) *analytics.Record {
		return &analytics.Record{
			Time: t0.Add(time.Duration(sec) * time.Second), App: app, Kind: analytics.KindMessage,
			MessageID: msgID, RequestID: reqID, StopReason: analytics.StopEndTurn,
			Usage: analytics.Usage{InputTokens: 10, OutputTokens: 1},
		}
	}
	batch := func() []*analytics.Record {
		return []*analytics.Record{
			rec("a", "msg_1", "", 1),
			rec("a", "", "req_2", 2),
			rec("b", "msg_1", "", 3), // same identity, other app: another record
			rec("a", "", "", 4),      // no identity: never deduped
			rec("a", "msg_1", "", 5), // duplicate within the batch: skipped
			rec("a", "req_2", "", 6), // identity req_2 again, via message id
		}
	}
	first := batch()
	if err := s.Insert(ctx(), first); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	stored := []bool{true, true, true, true, false, false}
	for i, r := range first {
		if (r.ID != 0) != stored[i] {
			t.Errorf("record %d: ID %d, want stored=%v", i, r.ID, stored[i])
		}
	}
	if first[0].ID == first[2].ID {
		t.Errorf("records of two apps share id %d", first[0].ID)
	}
	before := total(t, s)

	retry := batch()
	retry[3].App = "c" // still without identity, so it is stored
	for i := range retry {
		retry[i].ID = 99 // Insert must reset skipped records to zero
	}
	if err := s.Insert(ctx(), retry); err != nil {
		t.Fatalf("retry: %v", err)
	}
	for i, r := range retry {
		if (r.ID != 0) != (i == 3) {
			t.Errorf("retried record %d: ID %d", i, r.ID)
		}
	}
	// Only the identity-less record added to the rollups.
	n := func(gs []analytics.Group) (n int64) {
		for _, g := range gs {
			n += g.N
		}
		return n
	}
	after := total(t, s)
	if n(after) != n(before)+3 { // one record counted at three widths
		t.Errorf("rollups went from %d to %d, want +3", n(before), n(after))
	}
	withoutC := after[:0:0]
	for _, g := range after {
		if g.App != "c" {
			withoutC = append(withoutC, g)
		}
	}
	if !reflect.DeepEqual(withoutC, before) {
		t.Errorf("retry changed rollups:\n%+v\nwant\n%+v", withoutC, before)
	}
	list, _, err := s.List(ctx(), store.Filter{}, 100, "")
	if err != nil || len(list) != 5 {
		t.Errorf("List = %d records, %v; want 5", len(list), err)
	}
}

func testConcurrentInsert(t *testing.T, s store.Store) {
	// Writers racing on overlapping identities and the same rollup rows
	// store each identity once and count it once (no deadlock on
	// PostgreSQL, no busy error on SQLite).
	const writers, per = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var recs []*analytics.Record
			for i := 0; i < per; i++ {
				j := i
				if w%2 == 1 { // opposite orders: the worst case for locks
					j = per - 1 - i
				}
				recs = append(recs, &analytics.Record{
					Time: t0.Add(time.Duration(j) * time.Second), App: "app", Kind: analytics.KindMessage,
					Model: fmt.Sprintf("m%d", j%3), MessageID: fmt.Sprintf("msg_%d", j),
				})
			}
			for lo := 0; lo < per; lo += 25 {
				if err := s.Insert(ctx(), recs[lo:lo+25]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Insert: %v", err)
	}
	gs, err := s.Aggregate(ctx(), store.Query{})
	if err != nil || len(gs) != 1 || gs[0].N != per {
		t.Errorf("Aggregate = %+v, %v; want n=%d", gs, err, per)
	}
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatal(err)
	}
	gs2, err := s.Aggregate(ctx(), store.Query{Bucket: time.Minute})
	if err != nil || len(gs2) != 1 || gs2[0].N != per {
		t.Errorf("Aggregate after rebuild = %+v, %v; want n=%d", gs2, err, per)
	}
}

// listFixture is a small set of distinct records for the filter tests;
// records[i] has time t0+i minutes.
func listFixture() []*analytics.Record {
	flags := func(fs ...analytics.Flag) (s analytics.Flags) {
		for _, f := range fs {
			s = s.With(f)
		}
		return s
	}
	text := func(s string) []analytics.Block { return []analytics.Block{{Type: "text", Text: s}} }
	recs := []*analytics.Record{
		{App: "a", Environment: "prod", Model: "m1", Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn, Content: text("The quick brown fox")},
		{App: "a", Environment: "dev", Model: "m2", Kind: analytics.KindMessage, StopReason: analytics.StopNull, Flags: flags(analytics.FlagIncompleteStream), SessionID: "s1"},
		{App: "b", Environment: "prod", Model: "m1", Kind: analytics.KindMessage, StopReason: analytics.StopMaxTokens, Flags: flags(analytics.FlagTruncated), Content: text("100% sure_thing")},
		{App: "b", Environment: "prod", Model: "m1", Kind: analytics.KindError, HTTPStatus: 529, ErrorType: "overloaded_error", SessionID: "s1"},
		{App: "a", Environment: "prod", Model: "m2", Kind: analytics.KindAgentResult, StopReason: "weird", Flags: flags(analytics.FlagUnknownStopReason, analytics.FlagTruncated), Subtype: analytics.SubtypeErrorMaxTurns, Content: text("100 percent SURE")},
		{App: "a", Environment: "prod", Model: "m1", Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn, Flags: flags(analytics.FlagEmptyTurn), Causes: []analytics.Cause{analytics.CauseTextAfterToolResult}, Content: text(`back\slash`)},
	}
	for i, r := range recs {
		r.Time = t0.Add(time.Duration(i) * time.Minute)
	}
	return recs
}

func ids(recs []*analytics.Record) []int64 {
	out := []int64{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// pickIDs returns the ids of recs at the indexes is, last index first: the
// order List returns them in (newest first) when recs are in time order and
// is ascends. It reads the ids when called, so call it after the insert.
// The result is never nil, so that reflect.DeepEqual finds it equal to what
// ids returns for no records when no index is given.
func pickIDs(recs []*analytics.Record, is ...int) []int64 {
	out := []int64{}
	for k := len(is) - 1; k >= 0; k-- {
		out = append(out, recs[is[k]].ID)
	}
	return out
}

func testListFilters(t *testing.T, s store.Store) {
	recs := listFixture()
	insert(t, s, recs...)
	pick := func(is ...int) []int64 { return pickIDs(recs, is...) }
	tests := []struct {
		name string
		f    store.Filter
		want []int64
	}{
		{"all", store.Filter{}, pick(0, 1, 2, 3, 4, 5)},
		{"from", store.Filter{From: t0.Add(2 * time.Minute)}, pick(2, 3, 4, 5)},
		{"to is exclusive", store.Filter{To: t0.Add(2 * time.Minute)}, pick(0, 1)},
		{"from and to", store.Filter{From: t0.Add(time.Minute), To: t0.Add(3*time.Minute + 1)}, pick(1, 2, 3)},
		{"app", store.Filter{App: "b"}, pick(2, 3)},
		{"environment", store.Filter{Environment: "dev"}, pick(1)},
		{"model", store.Filter{Model: "m2"}, pick(1, 4)},
		{"kind", store.Filter{Kind: analytics.KindError}, pick(3)},
		{"stop reason", store.Filter{StopReason: analytics.StopEndTurn, HasStopReason: true}, pick(0, 5)},
		{"null stop reason: responses only, not failed requests", store.Filter{StopReason: analytics.StopNull, HasStopReason: true}, pick(1)},
		{"unknown stop reason", store.Filter{StopReason: "weird", HasStopReason: true}, pick(4)},
		{"stop reason without HasStopReason is ignored", store.Filter{StopReason: analytics.StopEndTurn}, pick(0, 1, 2, 3, 4, 5)},
		{"flag", store.Filter{Flag: analytics.FlagTruncated}, pick(2, 4)},
		{"flag empty turn", store.Filter{Flag: analytics.FlagEmptyTurn}, pick(5)},
		{"flag nobody has", store.Filter{Flag: analytics.FlagRefusal}, pick()},
		{"cause", store.Filter{Cause: analytics.CauseTextAfterToolResult}, pick(5)},
		{"cause nobody has", store.Filter{Cause: analytics.CauseCompletedResponseSentBack}, pick()},
		{"error type", store.Filter{ErrorType: "overloaded_error"}, pick(3)},
		{"session", store.Filter{SessionID: "s1"}, pick(1, 3)},
		{"text is case-insensitive", store.Filter{Text: "QUICK brown"}, pick(0)},
		{"text percent is literal", store.Filter{Text: "100%"}, pick(2)},
		{"text underscore is literal", store.Filter{Text: "e_t"}, pick(2)},
		{"text backslash is literal", store.Filter{Text: `k\s`}, pick(5)},
		{"text matches across records", store.Filter{Text: "sure"}, pick(2, 4)},
		{"text no match", store.Filter{Text: "zebra"}, pick()},
		{"combined", store.Filter{App: "a", Environment: "prod", Kind: analytics.KindMessage, From: t0.Add(time.Minute)}, pick(5)},
		{"no model: every record has one", store.Filter{Model: store.None}, pick()},
		{"no error type: the failed request has one", store.Filter{ErrorType: store.None}, pick()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.List(ctx(), tc.f, 100, "")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("ids %v, want %v", ids(got), tc.want)
			}
			if next != "" {
				t.Errorf("cursor %q at the end", next)
			}
			// Count agrees with the list, and stops at its limit.
			for _, limit := range []int{100, 2, 1} {
				n, err := s.Count(ctx(), tc.f, limit)
				if err != nil {
					t.Fatalf("Count: %v", err)
				}
				if want := min(len(tc.want), limit); n != want {
					t.Errorf("Count(limit %d) = %d, want %d", limit, n, want)
				}
			}
			for _, r := range got {
				if r.Req != nil || r.RequestBody != nil || r.ResponseBody != nil || r.StreamBody != "" {
					t.Errorf("record %d listed with bodies", r.ID)
				}
			}
		})
	}
	bad := []struct {
		name   string
		f      store.Filter
		cursor store.Cursor
	}{
		{"unknown flag", store.Filter{Flag: "nope"}, ""},
		{"unknown cause", store.Filter{Cause: "nope); DROP TABLE records; --"}, ""},
		{"garbage cursor", store.Filter{}, "!!!"},
		{"cursor without id", store.Filter{}, "MTIz"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.List(ctx(), tc.f, 10, tc.cursor)
			if errCode(err) != analytics.EInvalid {
				t.Errorf("List: %v, want code %s", err, analytics.EInvalid)
			}
		})
	}
}

func testListPaging(t *testing.T, s store.Store) {
	// Many records share a time, so the cursor must break ties by id;
	// batches arrive out of order.
	var recs []*analytics.Record
	for i := 0; i < 57; i++ {
		recs = append(recs, &analytics.Record{
			Time: t0.Add(time.Duration(i%9) * time.Second), App: []string{"x", "y"}[i%2],
			Kind: analytics.KindMessage,
		})
	}
	insert(t, s, recs[30:]...)
	insert(t, s, recs[:30]...)
	for _, f := range []store.Filter{{}, {App: "y"}} {
		all, _, err := s.List(ctx(), f, len(recs), "")
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(all); i++ {
			a, b := all[i-1], all[i]
			if a.Time.Before(b.Time) || (a.Time.Equal(b.Time) && a.ID < b.ID) {
				t.Fatalf("List not newest first at %d: %v/%d then %v/%d", i, a.Time, a.ID, b.Time, b.ID)
			}
		}
		for _, size := range []int{1, 4, 10, 56, 57, 100} {
			t.Run(fmt.Sprintf("app=%q/size=%d", f.App, size), func(t *testing.T) {
				var got []*analytics.Record
				var cursor store.Cursor
				for pages := 0; ; pages++ {
					if pages > len(recs)+1 {
						t.Fatal("paging does not end")
					}
					page, next, err := s.List(ctx(), f, size, cursor)
					if err != nil {
						t.Fatal(err)
					}
					if len(page) > size {
						t.Fatalf("page of %d, limit %d", len(page), size)
					}
					got = append(got, page...)
					if next == "" {
						break
					}
					if len(page) != size {
						t.Fatalf("short page of %d with a next cursor", len(page))
					}
					cursor = next
				}
				if !reflect.DeepEqual(ids(got), ids(all)) {
					t.Errorf("paged ids %v\nwant %v", ids(got), ids(all))
				}
			})
		}
	}
	// New records arriving between pages do not shift the pages after.
	page, next, err := s.List(ctx(), store.Filter{}, 5, "")
	if err != nil {
		t.Fatal(err)
	}
	insert(t, s, &analytics.Record{Time: t0.Add(time.Hour), App: "x", Kind: analytics.KindMessage})
	page2, _, err := s.List(ctx(), store.Filter{}, 5, next)
	if err != nil {
		t.Fatal(err)
	}
	last := page[len(page)-1]
	for _, r := range page2 {
		if !(r.Time.Before(last.Time) || (r.Time.Equal(last.Time) && r.ID < last.ID)) {
			t.Errorf("second page has %d, not after %d", r.ID, last.ID)
		}
	}
}

func testAggregate(t *testing.T, s store.Store) {
	// Records at known times: r(minuteOffset, seconds) around t0.
	type spec struct {
		at    time.Duration
		app   string
		stop  analytics.StopReason
		flags analytics.Flags
		tok   int64
	}
	trunc := analytics.Flags(0).With(analytics.FlagTruncated)
	specs := []spec{
		{-25 * time.Hour, "a", analytics.StopEndTurn, 0, 1},               // previous day
		{-90 * time.Second, "a", analytics.StopEndTurn, 0, 2},             // 23:58:30 the day before
		{-30 * time.Second, "b", analytics.StopNull, 0, 4},                // 23:59:30
		{0, "a", analytics.StopMaxTokens, trunc, 8},                       // 00:00:00
		{45 * time.Second, "a", analytics.StopEndTurn, 0, 16},             // 00:00:45
		{61 * time.Second, "b", analytics.StopEndTurn, 0, 32},             // 00:01:01
		{59*time.Minute + 59*time.Second, "a", analytics.StopNull, 0, 64}, // 00:59:59
		{2 * time.Hour, "b", analytics.StopMaxTokens, trunc, 128},         // 02:00:00
		{26 * time.Hour, "a", analytics.StopEndTurn, 0, 256},              // next day 02:00
	}
	var recs []*analytics.Record
	for _, sp := range specs {
		recs = append(recs, &analytics.Record{
			Time: t0.Add(sp.at), App: sp.app, Kind: analytics.KindMessage, Model: "m",
			StopReason: sp.stop, Flags: sp.flags, Usage: analytics.Usage{InputTokens: sp.tok},
			LatencyMS: 10, CostUSD: 0.0000015,
		})
	}
	insert(t, s, recs...)

	// sum returns the Counts of the specs at the given indexes.
	sum := func(is ...int) analytics.Counts {
		var c analytics.Counts
		for _, i := range is {
			c.Add(analytics.CountsOf(recs[i]))
		}
		return c
	}
	group := func(bucket time.Time, d analytics.Dims, c analytics.Counts) analytics.Group {
		return analytics.Group{Bucket: bucket, Dims: d, Counts: c}
	}
	none := analytics.Dims{}
	tests := []struct {
		name string
		q    store.Query
		want []analytics.Group
	}{
		{"everything", store.Query{}, []analytics.Group{group(time.Time{}, none, sum(0, 1, 2, 3, 4, 5, 6, 7, 8))}},
		{"ragged range", store.Query{Filter: store.Filter{From: t0.Add(-31 * time.Second), To: t0.Add(61 * time.Second)}},
			[]analytics.Group{group(time.Time{}, none, sum(2, 3, 4))}},
		{"ragged range, edges on records", store.Query{Filter: store.Filter{From: t0.Add(-30 * time.Second), To: t0.Add(61*time.Second + 1)}},
			[]analytics.Group{group(time.Time{}, none, sum(2, 3, 4, 5))}},
		{"one day exactly", store.Query{Filter: store.Filter{From: t0, To: t0.Add(24 * time.Hour)}},
			[]analytics.Group{group(time.Time{}, none, sum(3, 4, 5, 6, 7))}},
		{"from only", store.Query{Filter: store.Filter{From: t0.Add(time.Nanosecond)}},
			[]analytics.Group{group(time.Time{}, none, sum(4, 5, 6, 7, 8))}},
		{"to only", store.Query{Filter: store.Filter{To: t0.Add(time.Nanosecond)}},
			[]analytics.Group{group(time.Time{}, none, sum(0, 1, 2, 3))}},
		{"empty range", store.Query{Filter: store.Filter{From: t0.Add(time.Nanosecond), To: t0.Add(time.Nanosecond)}}, []analytics.Group{}},
		{"nothing in range", store.Query{Filter: store.Filter{From: t0.Add(3 * time.Hour), To: t0.Add(4 * time.Hour)}}, []analytics.Group{}},
		{"group by app", store.Query{GroupBy: []store.Dim{store.DimApp}}, []analytics.Group{
			group(time.Time{}, analytics.Dims{App: "a"}, sum(0, 1, 3, 4, 6, 8)),
			group(time.Time{}, analytics.Dims{App: "b"}, sum(2, 5, 7)),
		}},
		{"group by stop reason, null first", store.Query{GroupBy: []store.Dim{store.DimStopReason}, Filter: store.Filter{From: t0.Add(-time.Minute), To: t0.Add(time.Hour)}}, []analytics.Group{
			group(time.Time{}, analytics.Dims{StopReason: analytics.StopNull}, sum(2, 6)),
			group(time.Time{}, analytics.Dims{StopReason: analytics.StopEndTurn}, sum(4, 5)),
			group(time.Time{}, analytics.Dims{StopReason: analytics.StopMaxTokens}, sum(3)),
		}},
		{"filter null stop reason", store.Query{Filter: store.Filter{HasStopReason: true, StopReason: analytics.StopNull}}, []analytics.Group{group(time.Time{}, none, sum(2, 6))}},
		{"filter app, group by app and kind", store.Query{Filter: store.Filter{App: "b"}, GroupBy: []store.Dim{store.DimKind, store.DimApp, store.DimKind}}, []analytics.Group{
			group(time.Time{}, analytics.Dims{App: "b", Kind: analytics.KindMessage}, sum(2, 5, 7)),
		}},
		{"hourly series over a ragged range", store.Query{Bucket: time.Hour, Filter: store.Filter{From: t0.Add(-time.Minute), To: t0.Add(2*time.Hour + time.Second)}}, []analytics.Group{
			group(t0.Add(-time.Hour), none, sum(2)),
			group(t0, none, sum(3, 4, 5, 6)),
			group(t0.Add(2*time.Hour), none, sum(7)),
		}},
		{"minute series by app", store.Query{Bucket: time.Minute, GroupBy: []store.Dim{store.DimApp}, Filter: store.Filter{From: t0.Add(-2 * time.Minute), To: t0.Add(2 * time.Minute)}}, []analytics.Group{
			group(t0.Add(-2*time.Minute), analytics.Dims{App: "a"}, sum(1)),
			group(t0.Add(-time.Minute), analytics.Dims{App: "b"}, sum(2)),
			group(t0, analytics.Dims{App: "a"}, sum(3, 4)),
			group(t0.Add(time.Minute), analytics.Dims{App: "b"}, sum(5)),
		}},
		{"daily series", store.Query{Bucket: 24 * time.Hour}, []analytics.Group{
			group(t0.Add(-48*time.Hour), none, sum(0)),
			group(t0.Add(-24*time.Hour), none, sum(1, 2)),
			group(t0, none, sum(3, 4, 5, 6, 7)),
			group(t0.Add(24*time.Hour), none, sum(8)),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, phase := range []string{"incremental", "rebuilt"} {
				got, err := s.Aggregate(ctx(), tc.q)
				if err != nil {
					t.Fatalf("%s: Aggregate: %v", phase, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s: got\n%+v\nwant\n%+v", phase, got, tc.want)
				}
				if err := s.RebuildRollups(ctx()); err != nil {
					t.Fatalf("RebuildRollups: %v", err)
				}
			}
		})
	}
	if sum(3).Flag(analytics.FlagTruncated) != 1 || sum(0).CostMicroUSD == 0 {
		t.Fatalf("fixture counts are off: %+v", sum(0, 3))
	}
}

func testAggregateInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		q    store.Query
	}{
		{"bucket width", store.Query{Bucket: 5 * time.Minute}},
		{"dimension", store.Query{GroupBy: []store.Dim{"colour"}}},
		{"inverted range", store.Query{Filter: store.Filter{From: t0.Add(time.Second), To: t0}}},
		{"flag filter", store.Query{Filter: store.Filter{Flag: analytics.FlagTruncated}}},
		{"session filter", store.Query{Filter: store.Filter{SessionID: "s"}}},
		{"text filter", store.Query{Filter: store.Filter{Text: "x"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Aggregate(ctx(), tc.q)
			if errCode(err) != analytics.EInvalid {
				t.Errorf("Aggregate: %v, want code %s", err, analytics.EInvalid)
			}
		})
	}
}

// testTextSearch checks the free-text filter on contents whose search text
// is easy to get wrong: non-ASCII case, invalid UTF-8 and NUL (searched as
// U+FFFD), several blocks (joined by a newline), blocks without text, and
// a text long enough to be stored compressed; the request is not searched.
func testTextSearch(t *testing.T, s store.Store) {
	contents := [][]analytics.Block{
		{{Type: "text", Text: "ÜBER die Straße"}, {Type: "tool_use", Name: "Search"}},
		{{Type: "text", Text: "Kelvin \u212a sign"}},
		{{Type: "text", Text: "bad \xff utf8, nul \x00 here"}},
		{{Type: "text", Text: "end of one"}, {Type: "text", Text: "Start of two"}},
		{{Type: "thinking", Text: "Deep thought"}},
		{{Type: "text", Text: strings.Repeat("a long answer, ", 200) + "The End"}},
		nil,
	}
	var recs []*analytics.Record
	for i, c := range contents {
		recs = append(recs, &analytics.Record{Time: t0.Add(time.Duration(i) * time.Minute), App: "a", Model: "m",
			Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn, Content: c,
			Req: &analytics.Request{Messages: []analytics.Message{{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "the request's needle"}}}}}})
	}
	insert(t, s, recs...)
	pick := func(is ...int) []int64 { return pickIDs(recs, is...) }
	tests := []struct {
		text string
		want []int64
	}{
		{"über DIE", pick(0)},
		{"straße", pick(0)},
		{"strasse", pick()},
		{"search", pick()}, // a tool's name is not text
		{"kelvin k sign", pick(1)},
		{"\xff", pick(2)},
		{"\ufffd", pick(2)},
		{"nul \x00", pick(2)},
		{"one\nstart", pick(3)},
		{"one start", pick()},
		{"deep", pick(4)},
		{"answer, the end", pick(5)},
		{"needle", pick()},
		{"e", pick(0, 1, 2, 3, 4, 5)},
	}
	for _, tc := range tests {
		got, _, err := s.List(ctx(), store.Filter{Text: tc.text}, 100, "")
		if err != nil {
			t.Fatalf("text %q: %v", tc.text, err)
		}
		if g := ids(got); !slices.Equal(g, tc.want) {
			t.Errorf("text %q: ids %v, want %v", tc.text, g, tc.want)
		}
		if n, err := s.Count(ctx(), store.Filter{Text: tc.text}, 100); err != nil || n != len(tc.want) {
			t.Errorf("text %q: Count %d, %v; want %d", tc.text, n, err, len(tc.want))
		}
	}
}
