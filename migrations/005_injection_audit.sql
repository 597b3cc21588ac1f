-- The injection audit: one row per block injected into a prompt (by the
-- prompt hook or search_memory with max_chars). The prompt is kept as its
-- SHA-256 and its first 200 characters only. Rows are pruned by age and
-- count in the background (SAGE_AUDIT_RETENTION_DAYS, SAGE_AUDIT_MAX_ROWS).
CREATE TABLE injections (
    id          bigserial PRIMARY KEY,
    namespace   text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    source      text        NOT NULL,
    session_id  text        NOT NULL DEFAULT '',
    project     text        NOT NULL DEFAULT '',
    prompt_hash text        NOT NULL,
    prompt_head text        NOT NULL,
    -- [{"id":…,"score":…,"keyword_rank":…,"keyword_score":…,"vector_rank":…,"vector_score":…}]
    memories    jsonb       NOT NULL,
    chars       integer     NOT NULL
);
CREATE INDEX injections_namespace ON injections (namespace, id DESC);
CREATE INDEX injections_session ON injections (namespace, session_id, id DESC);
CREATE INDEX injections_at ON injections (at);

---- create above / drop below ----

DROP TABLE injections;
