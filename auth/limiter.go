package auth

import (
	"sync"
	"time"
)

// Limiter counts failures per key (an IP address, a user name) in a fixed
// window that starts at the first failure, and blocks a key that reached
// Max until its window ends. It is safe for concurrent use; the zero
// value needs Max and Window set first.
type Limiter struct {
	// Max is how many failures a window allows.
	Max int
	// Window is how long failures are remembered.
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

// Allow reports whether key may try again, and if not, how long until it
// may.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.fails[key]
	if w == nil {
		return true, 0
	}
	now := l.now()
	end := w.start.Add(l.Window)
	if !now.Before(end) {
		delete(l.fails, key)
		return true, 0
	}
	if w.n >= l.Max {
		return false, end.Sub(now)
	}
	return true, 0
}

// Fail counts one failure of key.
func (l *Limiter) Fail(key string) {
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
	w.n++
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
