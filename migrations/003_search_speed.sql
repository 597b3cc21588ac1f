-- Faster saves and project-filtered searches.
--
-- The full-text GIN index gets a small pending list: a save appends its
-- terms there, and they are merged into the posting lists in batches (when
-- the list reaches gin_pending_list_limit kB, or at vacuum), which costs
-- far less than updating every term's posting list on each save. Searches
-- read the pending list too, so it stays small.
ALTER INDEX memories_tsv SET (fastupdate = on, gin_pending_list_limit = 64);

-- A memory's row holds its tsvector and its vector inline (uncompressed
-- up to toast_tuple_target bytes; the text and its terms are compressed or
-- moved out first), so a search reads each candidate from one heap page
-- instead of fetching (and decompressing) them from the TOAST table, and a
-- save writes no TOAST rows for them. It applies to rows written from now
-- on; VACUUM FULL memories rewrites the older ones.
ALTER TABLE memories SET (toast_tuple_target = 4080);
ALTER TABLE memories ALTER COLUMN tsv SET STORAGE MAIN, ALTER COLUMN embedding SET STORAGE MAIN;

-- The memories of one project, newest first: a project filter reads a small
-- project's rows exactly through it instead of walking the vector index.
CREATE INDEX memories_project ON memories (namespace, project, occurred_at DESC);

---- create above / drop below ----

DROP INDEX IF EXISTS memories_project;
ALTER TABLE memories ALTER COLUMN tsv SET STORAGE EXTENDED, ALTER COLUMN embedding SET STORAGE EXTERNAL;
ALTER TABLE memories RESET (toast_tuple_target);
ALTER INDEX memories_tsv SET (fastupdate = off);
ALTER INDEX memories_tsv RESET (gin_pending_list_limit);
