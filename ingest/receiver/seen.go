package receiver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/stopscope/stopscope/store"
)

// The signals Seen tells apart.
const (
	SignalTraces  = "traces"
	SignalLogs    = "logs"
	SignalMetrics = "metrics"
	SignalNative  = "native"
)

// ProducerNative is the producer of the native POST /v1/responses.
const ProducerNative = "native"

// DefaultSaveEvery is how often Seen writes a producer and signal's time to
// its store at most, when SaveEvery is zero.
const DefaultSaveEvery = 5 * time.Second

// Seen remembers when each producer last sent each signal, so that the
// Setup page can show the wiring works before any call fails. It keeps
// the times in memory and, when Store is set, in the store too, so that
// a restart (after Load) still shows them: each producer and signal's
// time is written at most every SaveEvery, not on every export, and off
// the request's path. The times a restart can lose are those of the last
// SaveEvery before it (Flush, at shutdown, writes them). It keeps at most
// store.MaxSeen producer and signal pairs. The zero Seen is ready to use;
// Now is its clock (time.Now when nil). A nil *Seen remembers nothing.
type Seen struct {
	Now func() time.Time
	// Store, when set, keeps the times across restarts.
	Store store.SeenStore
	// SaveEvery is the least time between two writes of one pair; zero
	// means DefaultSaveEvery.
	SaveEvery time.Duration
	// Logger reports failed writes; slog.Default when nil.
	Logger *slog.Logger

	mu    sync.Mutex
	last  map[seenKey]time.Time
	saved map[seenKey]time.Time // the time last handed to Store, per pair
	// saving is closed when the write in flight ends; nil when none is.
	saving chan struct{}
}

type seenKey struct{ producer, signal string }

// Load reads the times the store kept; times already newer in memory stay.
func (s *Seen) Load(ctx context.Context) error {
	if s == nil || s.Store == nil {
		return nil
	}
	marks, err := s.Store.LastSeen(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	for _, m := range marks {
		k := seenKey{m.Producer, m.Signal}
		if _, ok := s.last[k]; !ok && len(s.last) >= store.MaxSeen {
			continue
		}
		if m.At.After(s.last[k]) {
			s.last[k] = m.At.UTC()
		}
		if m.At.After(s.saved[k]) {
			s.saved[k] = m.At.UTC()
		}
	}
	return nil
}

func (s *Seen) init() {
	if s.last == nil {
		s.last = map[seenKey]time.Time{}
		s.saved = map[seenKey]time.Time{}
	}
}

// Mark records that an export of signal from the producers arrived now.
func (s *Seen) Mark(signal string, producers ...string) {
	if s == nil || len(producers) == 0 {
		return
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	for _, p := range producers {
		k := seenKey{p, signal}
		if _, ok := s.last[k]; !ok && len(s.last) >= store.MaxSeen {
			continue
		}
		if t.After(s.last[k]) {
			s.last[k] = t
		}
	}
	s.saveLocked(false)
}

// saveLocked starts a write of the pairs due (all newer ones when all is
// set) unless one is in flight; s.mu is held.
func (s *Seen) saveLocked(all bool) {
	if s.Store == nil || s.saving != nil {
		return
	}
	every := s.SaveEvery
	if every <= 0 {
		every = DefaultSaveEvery
	}
	var due []store.Seen
	for k, t := range s.last {
		if sv := s.saved[k]; t.After(sv) && (all || t.Sub(sv) >= every) {
			due = append(due, store.Seen{Producer: k.producer, Signal: k.signal, At: t})
		}
	}
	if len(due) == 0 {
		return
	}
	done := make(chan struct{})
	s.saving = done
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.Store.MarkSeen(ctx, due)
		cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.saving = nil
		if err != nil {
			// The pairs stay due: the next Mark tries again.
			logger := s.Logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.Warn("saving when producers were last seen", "err", err)
			return
		}
		for _, m := range due {
			k := seenKey{m.Producer, m.Signal}
			if m.At.After(s.saved[k]) {
				s.saved[k] = m.At
			}
		}
	}()
}

// Flush writes every time not yet in the store and waits for the writes in
// flight: at shutdown, so that a restart loses nothing.
func (s *Seen) Flush() {
	if s == nil || s.Store == nil {
		return
	}
	s.wait()
	s.mu.Lock()
	s.saveLocked(true)
	s.mu.Unlock()
	s.wait()
}

// wait waits for the write in flight, if any.
func (s *Seen) wait() {
	s.mu.Lock()
	ch := s.saving
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

// Last returns a copy of what Seen remembers: producer → signal → the time
// of the last export.
func (s *Seen) Last() map[string]map[string]time.Time {
	out := map[string]map[string]time.Time{}
	if s == nil {
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.last {
		m := out[k.producer]
		if m == nil {
			m = map[string]time.Time{}
			out[k.producer] = m
		}
		m[k.signal] = t
	}
	return out
}
