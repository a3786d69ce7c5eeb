-- A record's content (JSON of []analytics.Block) and request summary (JSON
-- of analytics.Request), stored as a zstd frame, or as they are when that
-- is not smaller, by an engine whose dialect compresses them (SQLite's;
-- sqlstore.Dialect.CompressBodies). A row that has content_z stores '' in
-- content and content_text, one that has req_z '' in req; rows stored
-- before, and every row of an engine that does not compress, keep the
-- text columns and NULL here. New columns rather than a rebuild: adding a
-- column rewrites no row, and both forms read the same.
ALTER TABLE records ADD COLUMN content_z BYTEA;
ALTER TABLE records ADD COLUMN req_z BYTEA;
