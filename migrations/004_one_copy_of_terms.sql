-- Smaller rows: a memory keeps its search terms once, as the tsvector.
--
-- Until now the terms were kept twice: as text (tokens, made by the daemon's
-- tokenizer) and as the tsvector generated from that text (tsv). tsv becomes
-- a plain column, which the daemon fills with to_tsvector('simple', <terms>)
-- when it stores a memory, and tokens goes. That is ≈ 800 bytes less of a
-- ≈ 4.6 kB row on the benchmark store: less to write on every save, and more
-- memories in the same cache for every search. Rows written before keep the
-- space until VACUUM FULL memories.
ALTER TABLE memories ALTER COLUMN tsv DROP EXPRESSION;
ALTER TABLE memories ALTER COLUMN tsv SET DEFAULT ''::tsvector;
ALTER TABLE memories ALTER COLUMN tsv SET NOT NULL;
ALTER TABLE memories DROP COLUMN tokens;

---- create above / drop below ----

-- The terms come back as text from the tsvector (without their order).
ALTER TABLE memories ADD COLUMN tokens text NOT NULL DEFAULT '';
UPDATE memories SET tokens = array_to_string(tsvector_to_array(tsv), ' ');
ALTER TABLE memories DROP COLUMN tsv;
ALTER TABLE memories ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED;
ALTER TABLE memories ALTER COLUMN tsv SET STORAGE MAIN;
CREATE INDEX memories_tsv ON memories USING gin (tsv) WITH (fastupdate = on, gin_pending_list_limit = 64);
