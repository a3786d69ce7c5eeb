package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
)

// KeyPrefix starts every ingest key, so that scanners and people can tell
// one apart from other secrets.
const KeyPrefix = "sk_ss_"

// keyShown is how many characters of a key its listing shows.
const keyShown = len(KeyPrefix) + 6

// NewKey returns a new ingest key: 32 random bytes, base64url, after
// KeyPrefix. It also returns what is stored of it: its hash (HashSecret)
// and the prefix listings show.
func NewKey() (key, hash, prefix string, err error) {
	raw, err := randomString()
	if err != nil {
		return "", "", "", err
	}
	key = KeyPrefix + raw
	return key, HashSecret(key), key[:keyShown], nil
}

// NewToken returns a new random session or CSRF token and its hash.
func NewToken() (token, hash string, err error) {
	token, err = randomString()
	if err != nil {
		return "", "", err
	}
	return token, HashSecret(token), nil
}

// HashSecret returns the hex SHA-256 of a key or token: what the store
// keeps. The secrets are 256 random bits, so a fast hash is enough.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// KeyFromHeaders returns the ingest key a request carries: the token of
// "Authorization: Bearer", else the x-api-key value (as Anthropic's own
// API takes it), else "".
func KeyFromHeaders(authorization, xAPIKey string) string {
	if scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return strings.TrimSpace(xAPIKey)
}

func parseIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	return ip.Unmap(), err
}
