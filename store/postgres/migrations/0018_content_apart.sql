-- A record's content, request summary, search text and bodies live apart
-- from its row, which every filter, count and rollup edge reads: the
-- records table keeps only metadata, so a page of it holds many more
-- records, and only the pages that show content read this table. A record
-- with none of them (a metadata-only store's) has no row here. The columns
-- are stored as the records table stored them (sqlstore.Dialect).
CREATE TABLE record_content (
	record_id BIGINT PRIMARY KEY, -- records.id
	content TEXT NOT NULL,
	content_z BYTEA,
	content_text TEXT NOT NULL,
	req TEXT NOT NULL,
	req_z BYTEA,
	request_body BYTEA,
	response_body BYTEA,
	stream_body BYTEA
);
-- Rows stored before keep their content in records until the store moves
-- it here (sqlstore's MoveContent): the records with ids up to
-- content_move_end, from content_move_cursor up, one transaction a chunk,
-- each advancing the cursor, so a move killed half-way goes on where it
-- stopped. Reads take the content from either place meanwhile.
INSERT INTO store_meta (key, value) SELECT 'content_move_end', (SELECT MAX(id) FROM records) WHERE EXISTS (SELECT 1 FROM records);
INSERT INTO store_meta (key, value) SELECT 'content_move_cursor', 0 WHERE EXISTS (SELECT 1 FROM records);
