-- The search terms of the memories stored so far are made again.
--
-- The tokenizer changed: the index holds a memory's text and tags only (no
-- metadata values, no date), with Snowball English stems. The terms are made
-- in Go, so SQL cannot rebuild them: each row of tsv_rebuild is a range of
-- memory ids (above next_id, up to max_id) whose tsv the daemon rebuilds in
-- the background, in batches (MemoryService.Retokenize, run with the
-- embedding backfill), moving next_id on and deleting the row when done.
-- Memories stored after this migration already have the new terms.
CREATE TABLE tsv_rebuild (
    version int PRIMARY KEY,
    next_id bigint NOT NULL DEFAULT 0,
    max_id bigint NOT NULL
);
INSERT INTO tsv_rebuild (version, max_id) SELECT 2, coalesce(max(id), 0) FROM memories;

---- create above / drop below ----

DROP TABLE tsv_rebuild;
