-- Authentication: ingest keys, dashboard users and their sessions. Keys
-- and session tokens are stored only as hex SHA-256 hashes; passwords as
-- encoded argon2id hashes. Times are unix nanoseconds (UTC), 0 when unset.

CREATE TABLE api_keys (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name TEXT NOT NULL,
	app TEXT NOT NULL, -- '' when the key may write any app
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	created_ns BIGINT NOT NULL,
	revoked_ns BIGINT NOT NULL
);

CREATE TABLE users (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_ns BIGINT NOT NULL
);

CREATE TABLE sessions (
	hash TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_ns BIGINT NOT NULL,
	expires_ns BIGINT NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_ns);
