package receiver

import (
	"sync"
	"time"
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

// Seen remembers, in memory, when each producer last sent each signal, so
// that the Setup page can show the wiring works before any call fails. It
// forgets everything when the process ends. The zero Seen is ready to use;
// Now is its clock (time.Now when nil). A nil *Seen remembers nothing.
type Seen struct {
	Now func() time.Time

	mu   sync.Mutex
	last map[string]map[string]time.Time // producer → signal → time
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
	if s.last == nil {
		s.last = map[string]map[string]time.Time{}
	}
	for _, p := range producers {
		m := s.last[p]
		if m == nil {
			m = map[string]time.Time{}
			s.last[p] = m
		}
		if t.After(m[signal]) {
			m[signal] = t
		}
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
	for p, m := range s.last {
		c := make(map[string]time.Time, len(m))
		for k, v := range m {
			c[k] = v
		}
		out[p] = c
	}
	return out
}
