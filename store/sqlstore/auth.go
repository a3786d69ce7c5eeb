package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/auth"
)

var _ auth.Store = (*Store)(nil)

const apiKeyCols = `id, name, app, prefix, hash, created_ns, revoked_ns`

func scanKey(sc scanner) (auth.APIKey, error) {
	var k auth.APIKey
	var created, revoked int64
	err := sc.Scan(&k.ID, &k.Name, &k.App, &k.Prefix, &k.Hash, &created, &revoked)
	k.Created, k.Revoked = timeOf(created), timeOf(revoked)
	return k, err
}

// CreateAPIKey inserts k and returns it with its ID.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey) (auth.APIKey, error) {
	if k.Hash == "" {
		return k, analytics.Errorf(analytics.EInvalid, "an ingest key needs its hash")
	}
	q := `INSERT INTO api_keys (name, app, prefix, hash, created_ns, revoked_ns)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING RETURNING id`
	err := s.w.QueryRowContext(ctx, s.d.rebind(q), k.Name, k.App, k.Prefix, k.Hash, nsOf(k.Created), nsOf(k.Revoked)).Scan(&k.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return k, analytics.Errorf(analytics.EConflict, "an ingest key with this hash already exists")
	}
	if err != nil {
		return k, fmt.Errorf("sqlstore: creating ingest key: %w", err)
	}
	return k, nil
}

// APIKeyByHash returns the key with this hash, or an ENotFound error.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (auth.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, analytics.Errorf(analytics.ENotFound, "no such ingest key")
	}
	if err != nil {
		return k, fmt.Errorf("sqlstore: reading ingest key: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns every key by ID.
func (s *Store) ListAPIKeys(ctx context.Context) ([]auth.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing ingest keys: %w", err)
	}
	defer rows.Close()
	var out []auth.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing ingest keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey marks key id revoked at at, keeping an earlier revocation.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64, at time.Time) error {
	if at.IsZero() {
		return analytics.Errorf(analytics.EInvalid, "a revocation needs its time")
	}
	res, err := s.w.ExecContext(ctx, s.d.rebind(`UPDATE api_keys SET revoked_ns = CASE WHEN revoked_ns = 0 THEN ? ELSE revoked_ns END WHERE id = ?`), nsOf(at), id)
	if err != nil {
		return fmt.Errorf("sqlstore: revoking ingest key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Errorf(analytics.ENotFound, "no ingest key with id %d", id)
	}
	return nil
}

// CountActiveAPIKeys counts the keys not revoked.
func (s *Store) CountActiveAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE revoked_ns = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: counting ingest keys: %w", err)
	}
	return n, nil
}

const userCols = `id, name, password_hash, created_ns`

func scanUser(sc scanner) (auth.User, error) {
	var u auth.User
	var created int64
	err := sc.Scan(&u.ID, &u.Name, &u.PasswordHash, &created)
	u.Created = timeOf(created)
	return u, err
}

// CreateUser inserts u; a taken name is an EConflict error.
func (s *Store) CreateUser(ctx context.Context, u auth.User) (auth.User, error) {
	if u.Name == "" || u.PasswordHash == "" {
		return u, analytics.Errorf(analytics.EInvalid, "a user needs a name and a password hash")
	}
	q := `INSERT INTO users (name, password_hash, created_ns) VALUES (?, ?, ?)
ON CONFLICT (name) DO NOTHING RETURNING id`
	err := s.w.QueryRowContext(ctx, s.d.rebind(q), u.Name, u.PasswordHash, nsOf(u.Created)).Scan(&u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return u, analytics.Errorf(analytics.EConflict, "user %q already exists", u.Name)
	}
	if err != nil {
		return u, fmt.Errorf("sqlstore: creating user: %w", err)
	}
	return u, nil
}

// UserByName returns one user, or an ENotFound error.
func (s *Store) UserByName(ctx context.Context, name string) (auth.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+userCols+` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, analytics.Errorf(analytics.ENotFound, "no user %q", name)
	}
	if err != nil {
		return u, fmt.Errorf("sqlstore: reading user: %w", err)
	}
	return u, nil
}

// SetUserPassword replaces a user's password hash and ends the user's
// sessions, in one transaction.
func (s *Store) SetUserPassword(ctx context.Context, name, passwordHash string) error {
	if passwordHash == "" {
		return analytics.Errorf(analytics.EInvalid, "a user needs a password hash")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: setting password: %w", err)
	}
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, s.d.rebind(`UPDATE users SET password_hash = ? WHERE name = ? RETURNING id`), passwordHash, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return analytics.Errorf(analytics.ENotFound, "no user %q", name)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: setting password: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
		return fmt.Errorf("sqlstore: ending sessions: %w", err)
	}
	return tx.Commit()
}

// ListUsers returns every user by name.
func (s *Store) ListUsers(ctx context.Context) ([]auth.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing users: %w", err)
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUser deletes a user; the user's sessions go with it. They are
// deleted explicitly too, so that no engine setting about foreign keys
// can leave one behind.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting user: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?)`), name); err != nil {
		return fmt.Errorf("sqlstore: deleting user: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM users WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Errorf(analytics.ENotFound, "no user %q", name)
	}
	return tx.Commit()
}

// CountUsers counts the users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: counting users: %w", err)
	}
	return n, nil
}

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, se auth.Session) error {
	if se.Hash == "" || se.UserID == 0 {
		return analytics.Errorf(analytics.EInvalid, "a session needs its hash and user")
	}
	_, err := s.w.ExecContext(ctx, s.d.rebind(`INSERT INTO sessions (hash, user_id, created_ns, expires_ns) VALUES (?, ?, ?, ?)`),
		se.Hash, se.UserID, nsOf(se.Created), nsOf(se.Expires))
	if err != nil {
		return fmt.Errorf("sqlstore: creating session: %w", err)
	}
	return nil
}

// SessionByHash returns the unexpired session with this hash and its
// user's name, or an ENotFound error.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (auth.Session, error) {
	var se auth.Session
	var created, expires int64
	q := `SELECT s.hash, s.user_id, u.name, s.created_ns, s.expires_ns
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ? AND s.expires_ns > ?`
	err := s.r.QueryRowContext(ctx, s.d.rebind(q), hash, nsOf(now)).Scan(&se.Hash, &se.UserID, &se.UserName, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return se, analytics.Errorf(analytics.ENotFound, "no such session")
	}
	if err != nil {
		return se, fmt.Errorf("sqlstore: reading session: %w", err)
	}
	se.Created, se.Expires = timeOf(created), timeOf(expires)
	return se, nil
}

// DeleteSession deletes a session if it exists.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.w.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE hash = ?`), hash); err != nil {
		return fmt.Errorf("sqlstore: deleting session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions expired at now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.d.rebind(`DELETE FROM sessions WHERE expires_ns <= ?`), nsOf(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
