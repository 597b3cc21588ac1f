-- The console (issue 18): the recall settings the hooks follow, one row
-- per namespace, and an index that lets the console's overview count a
-- namespace's memories by project, kind and day from the index alone.
CREATE TABLE settings (
    namespace    text        PRIMARY KEY,
    max_results  integer     NOT NULL,
    max_chars    integer     NOT NULL,
    min_score    float8      NOT NULL,
    inject       boolean     NOT NULL,
    off_projects text[]      NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memories_overview ON memories (namespace, created_at) INCLUDE (project, kind);

---- create above / drop below ----

DROP INDEX memories_overview;
DROP TABLE settings;
