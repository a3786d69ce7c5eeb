package web

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stopscope/stopscope/analytics"
)

// syncBuffer is a log destination that requests write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns what was logged since the last call.
func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := strings.Split(strings.TrimSpace(s.b.String()), "\n")
	s.b.Reset()
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

// TestOverloadLogging: a refused request (503 with Retry-After) is
// expected behaviour, logged at WARN at most once per overloadLogEvery
// with a count of the ones held back; any other failure is an ERROR line
// per request.
func TestOverloadLogging(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var fail error
	var logs syncBuffer
	s := &Server{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return clock
		},
		PostResponses: func(echo.Context) error { return fail },
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	post := func() {
		t.Helper()
		resp, err := http.Post(ts.URL+"/v1/responses", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := StatusOf(fail)
		if resp.StatusCode != want {
			t.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
		if want == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Error("a 503 without Retry-After")
		}
	}
	advance := func(d time.Duration) {
		mu.Lock()
		clock = clock.Add(d)
		mu.Unlock()
	}

	fail = analytics.Errorf(analytics.EUnavailable, "the ingest queue is full")
	for range 5 {
		post()
		advance(time.Second)
	}
	got := logs.lines()
	if len(got) != 1 || !strings.Contains(got[0], "level=WARN") || !strings.Contains(got[0], "suppressed_since_last=0") ||
		!strings.Contains(got[0], "the ingest queue is full") {
		t.Errorf("a burst of 5 refusals logged %q, want one WARN line", got)
	}

	advance(overloadLogEvery)
	post()
	got = logs.lines()
	if len(got) != 1 || !strings.Contains(got[0], "level=WARN") || !strings.Contains(got[0], "suppressed_since_last=4") {
		t.Errorf("the first refusal after the interval logged %q, want a WARN line counting the 4 held back", got)
	}

	fail = errors.New("disk on fire")
	post()
	post()
	got = logs.lines()
	if len(got) != 2 || !strings.Contains(got[0], "level=ERROR") || !strings.Contains(got[1], "level=ERROR") {
		t.Errorf("two internal errors logged %q, want an ERROR line each", got)
	}
}
