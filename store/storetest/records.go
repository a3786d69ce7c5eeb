package storetest

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testRecords checks Records: newest first, bounded, filtered, with the
// request summary and content but without bodies.
func testRecords(t *testing.T, s store.Store) {
	full := fullRecord()
	recs := append(listFixture(), full)
	insert(t, s, recs...)
	byID := map[int64]*analytics.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}

	tests := []struct {
		name  string
		f     store.Filter
		limit int
		want  []int // indexes into recs, newest first
	}{
		{"all", store.Filter{}, 0, []int{6, 5, 4, 3, 2, 1, 0}},
		{"limit", store.Filter{}, 2, []int{6, 5}},
		{"range", store.Filter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, 10, []int{2, 1}},
		{"app", store.Filter{App: "b"}, 10, []int{3, 2}},
		{"session", store.Filter{SessionID: "s1"}, 10, []int{3, 1}},
		{"flag", store.Filter{Flag: analytics.FlagTruncated}, 10, []int{4, 2}},
		{"text", store.Filter{Text: "sure"}, 10, []int{4, 2}},
		{"none", store.Filter{App: "nope"}, 10, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Records(ctx(), tc.f, tc.limit)
			if err != nil {
				t.Fatalf("Records: %v", err)
			}
			want := []int64{}
			for _, i := range tc.want {
				want = append(want, recs[i].ID)
			}
			if !reflect.DeepEqual(ids(got), want) {
				t.Fatalf("Records = %v, want %v", ids(got), want)
			}
		})
	}

	got, err := s.Records(ctx(), store.Filter{App: full.App}, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Records of the full record: %v, %v", got, err)
	}
	r := got[0]
	if !reflect.DeepEqual(r.Req, full.Req) {
		t.Errorf("Req = %+v, want %+v", r.Req, full.Req)
	}
	if !reflect.DeepEqual(r.Content, full.Content) {
		t.Errorf("Content = %+v, want %+v", r.Content, full.Content)
	}
	if r.RequestBody != nil || r.ResponseBody != nil || r.StreamBody != "" {
		t.Errorf("Records returned bodies")
	}
	if r.SessionID != full.SessionID || r.UserID != full.UserID || r.Flags != full.Flags || r.StopReason != full.StopReason {
		t.Errorf("Records lost fields: %+v", r)
	}

	if _, err := s.Records(ctx(), store.Filter{Flag: "bogus"}, 1); errCode(err) != analytics.EInvalid {
		t.Errorf("Records with a bad flag: %v, want %s", err, analytics.EInvalid)
	}
}

// testRecordsTextCap checks that Records cuts each block's text to
// store.MaxRecordText, and that the cut texts still compare as the whole
// ones did: a range of requests of megabytes each used to be read whole
// for the overview's patterns.
func testRecordsTextCap(t *testing.T, s store.Store) {
	big := strings.Repeat("a long prompt, ", 200000) // 3 MB
	other := big[:len(big)-1] + "!"                  // differs at the very end
	wide := strings.Repeat("ü", 100000)              // two bytes a rune
	blank := strings.Repeat(" ", 100000)
	texts := []string{big, big, other, wide, blank, "short"}
	var recs []*analytics.Record
	for i, text := range texts {
		recs = append(recs, &analytics.Record{
			Time: t0.Add(time.Duration(i) * time.Second), Source: "native", App: "big", Kind: analytics.KindMessage,
			StopReason: analytics.StopEndTurn,
			Content:    []analytics.Block{{Type: "text", Text: text}},
			Req: &analytics.Request{Messages: []analytics.Message{
				{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: text}}},
			}},
		})
	}
	insert(t, s, recs...)
	got, err := s.Records(ctx(), store.Filter{App: "big"}, 0)
	if err != nil || len(got) != len(texts) {
		t.Fatalf("Records: %d records, %v", len(got), err)
	}
	slices.Reverse(got) // oldest first, as texts
	var reqText, contentText []string
	for i, r := range got {
		if r.Req == nil || len(r.Req.Messages) != 1 || len(r.Req.Messages[0].Blocks) != 1 || len(r.Content) != 1 {
			t.Fatalf("record %d: Req %+v, Content of %d blocks", i, r.Req, len(r.Content))
		}
		rt, ct := r.Req.Messages[0].Blocks[0].Text, r.Content[0].Text
		for _, x := range []string{rt, ct} {
			if len(x) > store.MaxRecordText || !utf8.ValidString(x) {
				t.Errorf("record %d: a text of %d bytes (valid UTF-8: %v), want at most %d", i, len(x), utf8.ValidString(x), store.MaxRecordText)
			}
		}
		reqText, contentText = append(reqText, rt), append(contentText, ct)
	}
	for _, list := range [][]string{reqText, contentText} {
		if list[0] != list[1] {
			t.Errorf("equal texts differ once cut")
		}
		if list[0] == list[2] {
			t.Errorf("texts that differ at the end are equal once cut")
		}
		if strings.TrimSpace(list[4]) != "" || strings.TrimSpace(list[0]) == "" {
			t.Errorf("blank text is %q…, long text %q…: blank must stay blank and text not", list[4][:10], list[0][:10])
		}
		if list[5] != "short" {
			t.Errorf("short text = %q", list[5])
		}
	}
	if !strings.HasPrefix(reqText[0], "a long prompt, ") || !strings.HasPrefix(reqText[3], "üü") {
		t.Errorf("cut texts keep their start: %q…, %q…", reqText[0][:20], reqText[3][:20])
	}
}

// testRefusalCounts checks RefusalCounts against counts made directly from
// random records, by session and by user, whole and bounded.
func testRefusalCounts(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(4, 2))
	var recs []*analytics.Record
	for i := range 600 {
		r := &analytics.Record{
			Time:       t0.Add(time.Duration(rng.Int64N(int64(6 * time.Hour)))),
			App:        pickOne(rng, []string{"a", "b"}),
			Kind:       pickOne(rng, analytics.Kinds),
			StopReason: pickOne(rng, []analytics.StopReason{analytics.StopEndTurn, analytics.StopRefusal, analytics.StopNull}),
			SessionID:  pickOne(rng, []string{"", "s1", "s2", "s3", "s\u00e9"}),
			UserID:     pickOne(rng, []string{"", "u1", "u2"}),
		}
		if rng.IntN(5) == 0 {
			r.Flags = r.Flags.With(analytics.FlagRefusal)
		}
		if i%7 == 6 {
			// Same time as another record: the bound cuts by (time, id).
			r.Time = recs[len(recs)-1].Time
		}
		recs = append(recs, r)
	}
	insert(t, s, recs...)

	// Newest first by (time, id), as the store orders them.
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b *analytics.Record) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	expect := func(f store.Filter, by store.RecordKey, limit int) ([]analytics.ScopeCount, int) {
		var in []*analytics.Record
		for _, r := range sorted {
			k := r.SessionID
			if by == store.KeyUser {
				k = r.UserID
			}
			if r.Kind == analytics.KindError || k == "" || (f.App != "" && r.App != f.App) ||
				(!f.From.IsZero() && r.Time.Before(f.From)) || (!f.To.IsZero() && !r.Time.Before(f.To)) {
				continue
			}
			if len(in) == limit {
				break
			}
			in = append(in, r)
		}
		out := analytics.RecordRefusalCounts(in, func(r *analytics.Record) string {
			if by == store.KeyUser {
				return r.UserID
			}
			return r.SessionID
		})
		slices.SortFunc(out, func(a, b analytics.ScopeCount) int { return strings.Compare(a.Key, b.Key) })
		return out, len(in)
	}
	tests := []struct {
		name  string
		f     store.Filter
		by    store.RecordKey
		limit int
	}{
		{"sessions", store.Filter{}, store.KeySession, 1000},
		{"users", store.Filter{}, store.KeyUser, 1000},
		{"sessions bounded", store.Filter{}, store.KeySession, 37},
		{"users of b in range", store.Filter{App: "b", From: t0.Add(time.Hour), To: t0.Add(4 * time.Hour)}, store.KeyUser, 1000},
		{"users of b in range bounded", store.Filter{App: "b", From: t0.Add(time.Hour), To: t0.Add(4 * time.Hour)}, store.KeyUser, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, read, err := s.RefusalCounts(ctx(), tc.f, tc.by, tc.limit)
			if err != nil {
				t.Fatalf("RefusalCounts: %v", err)
			}
			slices.SortFunc(got, func(a, b analytics.ScopeCount) int { return strings.Compare(a.Key, b.Key) })
			want, wantRead := expect(tc.f, tc.by, tc.limit)
			if !reflect.DeepEqual(got, want) || read != wantRead {
				t.Errorf("RefusalCounts = %+v from %d records, want %+v from %d", got, read, want, wantRead)
			}
		})
	}
	if _, _, err := s.RefusalCounts(ctx(), store.Filter{}, "bogus", 10); errCode(err) != analytics.EInvalid {
		t.Errorf("RefusalCounts by a bad key: %v, want %s", err, analytics.EInvalid)
	}
}
