package auth

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// cheap keeps the tests fast; the format and the check are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestPassword(t *testing.T) {
	h, err := cheap.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q does not encode its parameters", h)
	}
	h2, _ := cheap.Hash("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no random salt")
	}
	tests := []struct {
		name, hash, password string
		ok, err              bool
	}{
		{"right", h, "correct horse", true, false},
		{"wrong", h, "correct horse ", false, false},
		{"empty", h, "", false, false},
		{"not argon2id", "$2y$10$abc", "x", false, true},
		{"huge memory", strings.Replace(h, "m=64", "m=99999999", 1), "correct horse", false, true},
		{"bad salt", strings.Replace(h, "$argon2id$v=19$m=64,t=1,p=1$", "$argon2id$v=19$m=64,t=1,p=1$!!", 1), "x", false, true},
	}
	for _, tc := range tests {
		ok, err := CheckPassword(tc.hash, tc.password)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("%s: CheckPassword = %v, %v; want %v, error %v", tc.name, ok, err, tc.ok, tc.err)
		}
	}
	// The default parameters are what production uses: check once.
	hd, err := HashPassword("pw")
	if ok, err2 := CheckPassword(hd, "pw"); err != nil || err2 != nil || !ok || !strings.Contains(hd, "m=19456,t=2,p=1") {
		t.Errorf("default hash %q: %v, %v, %v", hd, ok, err, err2)
	}
}

func TestKeys(t *testing.T) {
	k, hash, prefix, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k, KeyPrefix) || len(k) != len(KeyPrefix)+43 || !strings.HasPrefix(k, prefix) || len(prefix) != len(KeyPrefix)+6 {
		t.Errorf("key %q, prefix %q", k, prefix)
	}
	if hash != HashSecret(k) || len(hash) != 64 || strings.Contains(hash, k) {
		t.Errorf("hash %q", hash)
	}
	if k2, _, _, _ := NewKey(); k2 == k {
		t.Error("two keys are equal")
	}
	tests := []struct{ authz, xkey, want string }{
		{"Bearer sk_ss_a", "", "sk_ss_a"},
		{"bearer  sk_ss_a ", "sk_ss_b", "sk_ss_a"},
		{"", "sk_ss_b", "sk_ss_b"},
		{"Basic dXNlcjpwdw==", "sk_ss_b", "sk_ss_b"},
		{"Basic dXNlcjpwdw==", "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		if got := KeyFromHeaders(tc.authz, tc.xkey); got != tc.want {
			t.Errorf("KeyFromHeaders(%q, %q) = %q, want %q", tc.authz, tc.xkey, got, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Limiter{Max: 3, Window: time.Minute, Now: func() time.Time { return now }}
	for i := range 3 {
		if ok, _ := l.Take("a"); !ok {
			t.Fatalf("refused after %d attempts", i)
		}
		now = now.Add(time.Second)
	}
	ok, wait := l.Take("a")
	if ok || wait != 57*time.Second {
		t.Errorf("after 3 attempts: Take = %v, %v; want refused for 57s", ok, wait)
	}
	if ok, _ := l.Take("b"); !ok {
		t.Error("another key is refused")
	}
	l.Refund("a")
	if ok, _ := l.Take("a"); !ok {
		t.Error("refused after a Refund")
	}
	if ok, _ := l.Take("a"); ok {
		t.Error("a Refund gave back more than one attempt")
	}
	now = now.Add(wait)
	if ok, _ := l.Take("a"); !ok {
		t.Error("still refused after the window")
	}
	l.Reset("a")
	for range 3 {
		if ok, _ := l.Take("a"); !ok {
			t.Error("refused after Reset")
		}
	}
}

// TestLimiterBurst: of many concurrent attempts, exactly Max go ahead.
func TestLimiterBurst(t *testing.T) {
	l := &Limiter{Max: 5, Window: time.Minute}
	var wg sync.WaitGroup
	var taken atomic.Int32
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			if ok, _ := l.Take("ann"); ok {
				taken.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := taken.Load(); n != 5 {
		t.Errorf("%d of 100 concurrent attempts went ahead, want 5", n)
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, {"127.0.0.2", true}, {"::1", true}, {"[::1]", true}, {"localhost", true},
		{"", false}, {"0.0.0.0", false}, {"::", false}, {"10.0.0.5", false}, {"example.com", false},
	}
	for _, tc := range tests {
		if got := IsLoopback(tc.host); got != tc.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

// TestVerifierBound: however many checks are asked for at once, at most
// Max run together, and one that finds no free slot within Wait checks
// nothing and says to try again.
func TestVerifierBound(t *testing.T) {
	var running, peak, calls atomic.Int32
	release := make(chan struct{})
	v := &Verifier{Max: 3, Wait: 50 * time.Millisecond, Check: func(encoded, password string) (bool, error) {
		calls.Add(1)
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		return false, nil
	}}
	var wg sync.WaitGroup
	var busy atomic.Int32
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			if _, err := v.Verify(t.Context(), "h", "pw"); err != nil {
				if analytics.ErrorCode(err) != analytics.EUnavailable {
					t.Errorf("busy: %v, want EUnavailable", err)
				}
				busy.Add(1)
			}
		})
	}
	close(start)
	// Hold the slots until every other check has given up.
	for deadline := time.Now().Add(5 * time.Second); busy.Load() < 17 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if p, c, b := peak.Load(), calls.Load(), busy.Load(); p != 3 || c != 3 || b != 17 {
		t.Errorf("peak %d checks at once, %d checked, %d refused; want 3, 3, 17", p, c, b)
	}
	// With the slots free, a check runs.
	if ok, err := v.Verify(t.Context(), "h", "pw"); ok || err != nil {
		t.Errorf("free Verifier: %v, %v", ok, err)
	}
}
