package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/stopscope/stopscope/analytics"
)

// Params are argon2id's cost parameters.
type Params struct {
	// Memory is in KiB.
	Memory  uint32
	Time    uint32
	Threads uint8
	// KeyLen and SaltLen are in bytes.
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams follow OWASP's recommendation for argon2id: 19 MiB, two
// passes, one lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// MinPasswordLen is the shortest password users add accepts.
const MinPasswordLen = 8

var b64 = base64.RawStdEncoding

// HashPassword hashes a password with DefaultParams.
func HashPassword(password string) (string, error) {
	return DefaultParams.Hash(password)
}

// Hash hashes a password with a random salt and encodes the result with
// its parameters in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$salt$hash.
func (p Params) Hash(password string) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an encoded hash made by
// Hash, with the parameters the hash names. A malformed hash is an error.
func CheckPassword(encoded, password string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// DefaultMaxChecks is how many password checks a Verifier runs at once
// unless told otherwise: each holds DefaultParams.Memory (19 MiB), so four
// hold about 76 MiB however many logins arrive together.
const DefaultMaxChecks = 4

// DefaultCheckWait is how long a check waits for a free slot before a
// Verifier gives up on it.
const DefaultCheckWait = 2 * time.Second

// Verifier checks passwords with a bound on how many checks run at once,
// so that a burst of logins cannot make the service hold a hash's memory
// per request. It is safe for concurrent use; the zero value uses the
// defaults.
type Verifier struct {
	// Max is how many checks may run at once; DefaultMaxChecks when 0.
	Max int
	// Wait is how long a check waits for a free slot; DefaultCheckWait
	// when 0.
	Wait time.Duration
	// Check checks one password; CheckPassword when nil.
	Check func(encoded, password string) (bool, error)

	once sync.Once
	sem  chan struct{}
}

// Verify checks password against encoded as CheckPassword does, once a
// slot is free. When none frees up within Wait (or ctx ends first), it
// checks nothing and returns an EUnavailable error: the caller should ask
// the client to try again shortly.
func (v *Verifier) Verify(ctx context.Context, encoded, password string) (bool, error) {
	v.once.Do(func() {
		n := v.Max
		if n <= 0 {
			n = DefaultMaxChecks
		}
		v.sem = make(chan struct{}, n)
	})
	wait := v.Wait
	if wait <= 0 {
		wait = DefaultCheckWait
	}
	select {
	case v.sem <- struct{}{}:
	default:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case v.sem <- struct{}{}:
		case <-t.C:
			return false, analytics.Errorf(analytics.EUnavailable, "too many logins at once: try again in a second")
		case <-ctx.Done():
			return false, analytics.Errorf(analytics.EUnavailable, "too many logins at once: try again in a second")
		}
	}
	defer func() { <-v.sem }()
	check := v.Check
	if check == nil {
		check = CheckPassword
	}
	return check(encoded, password)
}

// decodeHash parses a PHC argon2id string, refusing parameters far outside
// what Hash makes, so that a tampered row cannot make a login allocate
// gigabytes.
func decodeHash(encoded string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, analytics.Errorf(analytics.EInvalid, "not an argon2id password hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, analytics.Errorf(analytics.EInvalid, "unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, analytics.Errorf(analytics.EInvalid, "bad argon2 parameters %q", parts[3])
	}
	if p.Memory < 8 || p.Memory > 1<<20 || p.Time < 1 || p.Time > 64 || p.Threads < 1 {
		return p, nil, nil, analytics.Errorf(analytics.EInvalid, "argon2 parameters out of range: %q", parts[3])
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, analytics.Errorf(analytics.EInvalid, "bad argon2 salt or hash")
	}
	return p, salt, key, nil
}
