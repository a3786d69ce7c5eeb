-- Authentication: ingest keys, dashboard users and their sessions. Keys
-- and session tokens are stored only as hex SHA-256 hashes; passwords as
-- encoded argon2id hashes. Times are unix nanoseconds (UTC), 0 when unset.

CREATE TABLE api_keys (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	app TEXT NOT NULL, -- '' when the key may write any app
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	created_ns INTEGER NOT NULL,
	revoked_ns INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_ns INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	hash TEXT PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ns INTEGER NOT NULL,
	expires_ns INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_ns);
