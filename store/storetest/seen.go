package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testLastSeen: the last-seen marks move forward only, read back as
// stored, and stay within store.MaxSeen pairs.
func testLastSeen(t *testing.T, s store.Store) {
	ss, ok := s.(store.SeenStore)
	if !ok {
		t.Skip("not a SeenStore")
	}
	seen := func(p, sig string, at time.Time) store.Seen { return store.Seen{Producer: p, Signal: sig, At: at} }
	at := func(m int) time.Time { return t0.Add(time.Duration(m)*time.Minute + 123456789) }
	steps := [][]store.Seen{
		{seen("claude_code", "logs", at(1)), seen("claude_code", "traces", at(2))},
		// An older mark, sent late, changes nothing; a newer one moves on.
		{seen("claude_code", "logs", at(0)), seen("claude_code", "traces", at(5)), seen("native", "native", at(3))},
	}
	for _, marks := range steps {
		if err := ss.MarkSeen(ctx(), marks); err != nil {
			t.Fatalf("MarkSeen: %v", err)
		}
	}
	got, err := ss.LastSeen(ctx())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Seen{seen("claude_code", "logs", at(1)), seen("claude_code", "traces", at(5)), seen("native", "native", at(3))}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LastSeen = %v, want %v", got, want)
	}

	for _, bad := range []store.Seen{seen("", "logs", at(1)), seen("p", "", at(1)), seen("p", "logs", time.Time{})} {
		if err := ss.MarkSeen(ctx(), []store.Seen{bad}); errCode(err) != analytics.EInvalid {
			t.Errorf("MarkSeen(%v) = %v, want %s", bad, err, analytics.EInvalid)
		}
	}

	// Past the cap, new pairs are dropped and kept pairs still move on.
	var many []store.Seen
	for i := range store.MaxSeen + 10 {
		many = append(many, store.Seen{Producer: fmt.Sprintf("p%03d", i), Signal: "logs", At: at(10)})
	}
	if err := ss.MarkSeen(ctx(), many); err != nil {
		t.Fatal(err)
	}
	if err := ss.MarkSeen(ctx(), []store.Seen{seen("claude_code", "logs", at(20))}); err != nil {
		t.Fatal(err)
	}
	got, err = ss.LastSeen(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.MaxSeen {
		t.Errorf("kept %d pairs, want the cap %d", len(got), store.MaxSeen)
	}
	if got[0] != seen("claude_code", "logs", at(20)) {
		t.Errorf("first pair %v, want claude_code logs moved to %v", got[0], at(20))
	}
}
