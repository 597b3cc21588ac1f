-- Exact counts for the console's overview, kept as the rows change.
--
-- The console must render every page within 50 ms at 100 000 memories,
-- its first overview too; counting a namespace's memories by project, kind
-- and day took ≈ 0.8 s there, however well indexed. So statement triggers
-- on memories and injections record what each statement changed, in the
-- statement's own transaction: the counts commit and roll back with the
-- rows, whatever statement changes them (saves, imports, forgets, a new
-- kind or vector, a namespace deleted by hand, the audit's pruning).
--
-- The triggers only append to count_deltas; they update no shared counter
-- row. A counter row per namespace would be locked by every save until its
-- commit, queueing the namespace's concurrent saves one behind the other
-- (and deadlocking batches that touch two keys in opposite orders). The
-- daemon folds the deltas into memory_counts and day_counts every few
-- seconds (MemoryService.FoldCounts); a reader adds the deltas not yet
-- folded to the folded counts in one statement, so it sees one snapshot and
-- its counts are exact. The index memories_overview, which served the
-- counting scan, goes: one index less to update on every save.

-- What the statements changed, not folded yet: a row either counts the
-- memories of a (project, kind, model) key (day NULL), or the memories
-- stored and injections recorded on a UTC day (project, kind, model NULL).
CREATE TABLE count_deltas (
    namespace  text   NOT NULL,
    project    text,
    kind       text,
    model      text,
    day        date,
    memories   bigint NOT NULL DEFAULT 0,
    injections bigint NOT NULL DEFAULT 0
);
-- A queue: every fold empties it. Vacuumed after every thousand dead rows
-- (not a fifth of the table), so readers' scans stay short.
ALTER TABLE count_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

-- The memories of each namespace by project, kind and embedding model
-- ('' while the vector is pending).
CREATE TABLE memory_counts (
    namespace text   NOT NULL,
    project   text   NOT NULL,
    kind      text   NOT NULL,
    model     text   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (namespace, project, kind, model)
);

-- The memories stored (created_at) and injections recorded (at) on each
-- UTC day.
CREATE TABLE day_counts (
    namespace  text   NOT NULL,
    day        date   NOT NULL,
    memories   bigint NOT NULL DEFAULT 0,
    injections bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, day)
);

-- A statement's memories in (TG_ARGV[0] = 1: its NEW TABLE) or out (-1:
-- its OLD TABLE), counted by key and by day. A trigger with transition
-- tables serves one event and one table, so an UPDATE fires two: one
-- counts the old rows out, the other the new ones in (a change of kind or
-- model moves the count from one key to the other; the rest cancels out).
CREATE FUNCTION count_memories() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO count_deltas (namespace, project, kind, model, day, memories)
    SELECT namespace, project, kind, coalesce(embedding_model, ''), (created_at AT TIME ZONE 'UTC')::date,
           TG_ARGV[0]::int * count(*)
    FROM changed
    GROUP BY GROUPING SETS ((namespace, project, kind, coalesce(embedding_model, '')),
                            (namespace, (created_at AT TIME ZONE 'UTC')::date));
    RETURN NULL;
END $$;

CREATE TRIGGER memories_count_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_memories('1');
CREATE TRIGGER memories_count_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_memories('-1');
CREATE TRIGGER memories_count_update_old AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_memories('-1');
CREATE TRIGGER memories_count_update_new AFTER UPDATE ON memories
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_memories('1');

-- The same for the injection audit, by day.
CREATE FUNCTION count_injections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO count_deltas (namespace, day, injections)
    SELECT namespace, (at AT TIME ZONE 'UTC')::date, TG_ARGV[0]::int * count(*) FROM changed GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE TRIGGER injections_count_insert AFTER INSERT ON injections
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_injections('1');
CREATE TRIGGER injections_count_delete AFTER DELETE ON injections
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_injections('-1');
CREATE TRIGGER injections_count_update_old AFTER UPDATE ON injections
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_injections('-1');
CREATE TRIGGER injections_count_update_new AFTER UPDATE ON injections
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_injections('1');

-- TRUNCATE fires no row events: it empties the table's counts (under the
-- fold's lock, so no fold is adding to them meanwhile).
CREATE FUNCTION count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('sage count fold'));
    IF TG_TABLE_NAME = 'memories' THEN
        DELETE FROM count_deltas WHERE injections = 0;
        DELETE FROM memory_counts;
        UPDATE day_counts SET memories = 0 WHERE memories <> 0;
    ELSE
        DELETE FROM count_deltas WHERE memories = 0;
        UPDATE day_counts SET injections = 0 WHERE injections <> 0;
    END IF;
    DELETE FROM day_counts WHERE memories = 0 AND injections = 0;
    RETURN NULL;
END $$;

CREATE TRIGGER memories_count_truncate AFTER TRUNCATE ON memories
    FOR EACH STATEMENT EXECUTE FUNCTION count_truncate();
CREATE TRIGGER injections_count_truncate AFTER TRUNCATE ON injections
    FOR EACH STATEMENT EXECUTE FUNCTION count_truncate();

-- The counts of the rows stored so far. No write can slip in between: the
-- migration holds the lock below (as CREATE TRIGGER would) until it commits.
LOCK TABLE memories, injections IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO memory_counts (namespace, project, kind, model, n)
SELECT namespace, project, kind, coalesce(embedding_model, ''), count(*) FROM memories GROUP BY 1, 2, 3, 4;
INSERT INTO day_counts (namespace, day, memories, injections)
SELECT namespace, day, sum(m), sum(i)
FROM (SELECT namespace, (created_at AT TIME ZONE 'UTC')::date AS day, 1 AS m, 0 AS i FROM memories
      UNION ALL
      SELECT namespace, (at AT TIME ZONE 'UTC')::date, 0, 1 FROM injections) c
GROUP BY 1, 2;

DROP INDEX memories_overview;

---- create above / drop below ----

CREATE INDEX memories_overview ON memories (namespace, created_at) INCLUDE (project, kind);
DROP TRIGGER injections_count_truncate ON injections;
DROP TRIGGER memories_count_truncate ON memories;
DROP TRIGGER injections_count_update_new ON injections;
DROP TRIGGER injections_count_update_old ON injections;
DROP TRIGGER injections_count_delete ON injections;
DROP TRIGGER injections_count_insert ON injections;
DROP TRIGGER memories_count_update_new ON memories;
DROP TRIGGER memories_count_update_old ON memories;
DROP TRIGGER memories_count_delete ON memories;
DROP TRIGGER memories_count_insert ON memories;
DROP FUNCTION count_truncate();
DROP FUNCTION count_injections();
DROP FUNCTION count_memories();
DROP TABLE day_counts;
DROP TABLE memory_counts;
DROP TABLE count_deltas;
