package web

import (
	"sync"
	"time"
)

// overloadLogEvery is how often at most a refused request is logged.
const overloadLogEvery = 10 * time.Second

// logLimiter lets one log line through per interval and counts the ones it
// holds back, so that a burst of refused requests, which is the service
// protecting itself as designed, logs one line rather than one per request.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged at now, and how many were held
// back since the last one that was.
func (l *logLimiter) allow(now time.Time, every time.Duration) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < every {
		l.suppressed++
		return false, 0
	}
	l.last, suppressed, l.suppressed = now, l.suppressed, 0
	return true, suppressed
}
