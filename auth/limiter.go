package auth

import (
	"sync"
	"time"
)

// Limiter counts attempts per key (an IP address, a user name) in a fixed
// window that starts at the first attempt, and refuses a key that reached
// Max until its window ends. An attempt is counted when it is let through
// (Take), before it is evaluated, so that a synchronised burst cannot slip
// more than Max attempts past the check; one that turns out well is given
// back (Refund) or wipes the key (Reset). It is safe for concurrent use;
// the zero value needs Max and Window set first.
type Limiter struct {
	// Max is how many attempts a window allows.
	Max int
	// Window is how long attempts are remembered.
	Window time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu    sync.Mutex
	fails map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// maxTracked bounds the keys a Limiter remembers; past it, expired windows
// are swept.
const maxTracked = 10000

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Take counts one attempt of key and reports whether it may go ahead; if
// not, nothing is counted and wait says how long until key may try again.
// The check and the count are one step, so that of any number of
// concurrent calls at most Max go ahead in a window.
func (l *Limiter) Take(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.fails == nil {
		l.fails = map[string]*window{}
	}
	w := l.fails[key]
	if w == nil || !now.Before(w.start.Add(l.Window)) {
		if len(l.fails) >= maxTracked {
			l.sweep(now)
		}
		w = &window{start: now}
		l.fails[key] = w
	}
	if w.n >= l.Max {
		return false, w.start.Add(l.Window).Sub(now)
	}
	w.n++
	return true, 0
}

// Refund gives back one attempt of key that Take counted: one that
// succeeded, or that could not be evaluated at all.
func (l *Limiter) Refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.fails[key]; w != nil && w.n > 0 {
		w.n--
	}
}

// Reset forgets the failures of key.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *Limiter) sweep(now time.Time) {
	for k, w := range l.fails {
		if !now.Before(w.start.Add(l.Window)) {
			delete(l.fails, k)
		}
	}
	// Still full: an attack from many addresses. Forgetting the oldest
	// half is better than growing without bound.
	if len(l.fails) >= maxTracked {
		n := 0
		for k := range l.fails {
			delete(l.fails, k)
			if n++; n >= maxTracked/2 {
				break
			}
		}
	}
}
