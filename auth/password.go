package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

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
