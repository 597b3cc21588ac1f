-- The session index covers the neighbour reads of a search.
--
-- Every hybrid search reads, for each memory it returns, the two memories
-- before and after it in its session (ranking.Spread): ordered by
-- occurred_at, then id, and needing only id and content_hash. The old index
-- (namespace, session_id, occurred_at) made each read a heap visit per row
-- and a sort on id; with id in the key and content_hash included they are
-- index-only scans (2.4 → 1.75 ms for the neighbours of 10 memories on the
-- 100 000-memory benchmark store). The new index serves every query the old
-- one did (the same leading columns), so the old one goes.
CREATE INDEX memories_session_neighbours ON memories (namespace, session_id, occurred_at, id) INCLUDE (content_hash);
DROP INDEX memories_session;

---- create above / drop below ----

CREATE INDEX memories_session ON memories (namespace, session_id, occurred_at);
DROP INDEX memories_session_neighbours;
