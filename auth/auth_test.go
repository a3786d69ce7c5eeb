package auth

import (
	"strings"
	"testing"
	"time"
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
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("a")
		now = now.Add(time.Second)
	}
	ok, wait := l.Allow("a")
	if ok || wait != 57*time.Second {
		t.Errorf("after 3 failures: Allow = %v, %v; want blocked for 57s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("another key is blocked")
	}
	now = now.Add(wait)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("still blocked after the window")
	}
	l.Fail("a")
	l.Reset("a")
	if ok, _ := l.Allow("a"); !ok {
		t.Error("blocked after Reset")
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
