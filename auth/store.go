package auth

import (
	"context"
	"time"
)

// APIKey is an ingest key as stored: never the key itself, only its
// SHA-256 hash and the first characters, to tell keys apart in listings.
type APIKey struct {
	ID int64 `json:"id"`
	// Name is a label for people.
	Name string `json:"name"`
	// App, when set, is the only app the key may write records for.
	App string `json:"app"`
	// Prefix is the start of the key as printed, e.g. "sk_ss_Ab3x".
	Prefix string `json:"prefix"`
	// Hash is the hex SHA-256 of the whole key.
	Hash    string    `json:"-"`
	Created time.Time `json:"created"`
	// Revoked is when the key was revoked; zero while it is active.
	Revoked time.Time `json:"revoked,omitzero"`
}

// Active reports whether the key is not revoked.
func (k APIKey) Active() bool { return k.Revoked.IsZero() }

// User is a local dashboard user.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// PasswordHash is an encoded argon2id hash (auth.HashPassword).
	PasswordHash string    `json:"-"`
	Created      time.Time `json:"created"`
}

// Session is a logged-in browser: the hex SHA-256 of the random token its
// cookie holds, whose user, and until when.
type Session struct {
	Hash     string
	UserID   int64
	UserName string
	Created  time.Time
	Expires  time.Time
}

// Store keeps ingest keys, dashboard users and their sessions. The SQL
// stores (package store/sqlstore) implement it next to store.Store.
type Store interface {
	// CreateAPIKey inserts k (Hash, Prefix and Created set) and returns it
	// with its ID.
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// APIKeyByHash returns the key with this hash, revoked or not, or an
	// ENotFound error.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	// ListAPIKeys returns every key, revoked ones too, by ID.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey marks a key revoked at the given time; an unknown ID is
	// an ENotFound error, and revoking a revoked key keeps its first time.
	RevokeAPIKey(ctx context.Context, id int64, at time.Time) error
	// CountActiveAPIKeys counts the keys not revoked.
	CountActiveAPIKeys(ctx context.Context) (int, error)

	// CreateUser inserts u; a name already taken is an EConflict error.
	CreateUser(ctx context.Context, u User) (User, error)
	// UserByName returns one user, or an ENotFound error.
	UserByName(ctx context.Context, name string) (User, error)
	// SetUserPassword replaces a user's password hash and ends the user's
	// sessions; an unknown name is an ENotFound error.
	SetUserPassword(ctx context.Context, name, passwordHash string) error
	// ListUsers returns every user by name.
	ListUsers(ctx context.Context) ([]User, error)
	// DeleteUser deletes a user and the user's sessions; an unknown name
	// is an ENotFound error.
	DeleteUser(ctx context.Context, name string) error
	// CountUsers counts the users.
	CountUsers(ctx context.Context) (int, error)

	// CreateSession inserts a session.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session with this hash if it has not
	// expired at now, with UserName set, or an ENotFound error.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, error)
	// DeleteSession deletes a session; deleting a missing one is no error.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteExpiredSessions deletes the sessions expired at now and returns
	// how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}
