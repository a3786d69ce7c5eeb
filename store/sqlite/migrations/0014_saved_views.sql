-- Saved views: a dashboard URL (a filter or a comparison) under a name,
-- reached at /v/<slug>. Times are unix nanoseconds (UTC).
CREATE TABLE saved_views (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	slug TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	url TEXT NOT NULL,
	created_ns INTEGER NOT NULL
) STRICT;
