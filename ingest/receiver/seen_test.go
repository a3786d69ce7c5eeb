package receiver

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// TestSeenPersists: Seen writes each producer and signal's time to a real
// store at most every SaveEvery, Flush writes the rest, and a new Seen
// (a restart) loads what the old one saw.
func TestSeenPersists(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ss store.SeenStore = st
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	s := &Seen{Now: func() time.Time { return now }, Store: ss, SaveEvery: 5 * time.Second}
	stored := func() map[string]time.Time {
		t.Helper()
		s.wait()
		marks, err := ss.LastSeen(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]time.Time{}
		for _, m := range marks {
			out[m.Producer+"/"+m.Signal] = m.At
		}
		return out
	}
	steps := []struct {
		after    time.Duration
		signal   string
		flush    bool
		want     map[string]time.Duration // pair → stored time after t0
		wantNote string
	}{
		{0, SignalTraces, false, map[string]time.Duration{"claude_code/traces": 0}, "a first mark is written at once"},
		{time.Second, SignalTraces, false, map[string]time.Duration{"claude_code/traces": 0}, "within SaveEvery nothing is written"},
		{5 * time.Second, SignalTraces, false, map[string]time.Duration{"claude_code/traces": 6 * time.Second}, "past SaveEvery it is"},
		{time.Second, SignalLogs, false, map[string]time.Duration{"claude_code/traces": 6 * time.Second, "claude_code/logs": 7 * time.Second}, "a new pair is written at once"},
		{time.Second, SignalTraces, true, map[string]time.Duration{"claude_code/traces": 8 * time.Second, "claude_code/logs": 7 * time.Second}, "Flush writes what is not yet stored"},
	}
	for _, step := range steps {
		now = now.Add(step.after)
		s.Mark(step.signal, "claude_code")
		if step.flush {
			s.Flush()
		}
		want := map[string]time.Time{}
		for k, d := range step.want {
			want[k] = t0.Add(d)
		}
		if got := stored(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: stored %v, want %v", step.wantNote, got, want)
		}
	}

	restarted := &Seen{Store: ss}
	if err := restarted.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := restarted.Last(), s.Last(); !reflect.DeepEqual(got, want) {
		t.Errorf("after a restart Last = %v, want %v", got, want)
	}
}

// TestSeenBounded: however many producers an export names, Seen keeps at
// most store.MaxSeen pairs, and the pairs it has keep moving on.
func TestSeenBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := &Seen{Now: func() time.Time { return now }}
	s.Mark(SignalLogs, "claude_code")
	var many []string
	for i := range store.MaxSeen * 2 {
		many = append(many, "p"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	s.Mark(SignalTraces, many...)
	now = now.Add(time.Minute)
	s.Mark(SignalLogs, "claude_code")
	n := 0
	for _, m := range s.Last() {
		n += len(m)
	}
	if n != store.MaxSeen {
		t.Errorf("kept %d pairs, want %d", n, store.MaxSeen)
	}
	if got := s.Last()["claude_code"][SignalLogs]; !got.Equal(now) {
		t.Errorf("claude_code logs at %v, want %v", got, now)
	}
}
