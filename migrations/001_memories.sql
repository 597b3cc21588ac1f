-- Memories (conversation turns and notes) and sessions.
--
-- The embedding column is an untyped halfvec: each memory records the model
-- its vector came from, and the daemon creates one partial expression HNSW
-- index per model, e.g.
--   CREATE INDEX ... USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops)
--     WHERE embedding_model = 'builtin-384';
-- so a new model or dimension needs no schema change. A NULL vector (and
-- model) means the embedding is pending; a backfill fills it later.

CREATE TABLE memories (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace       text        NOT NULL,
    project         text        NOT NULL DEFAULT '',
    session_id      text        NOT NULL DEFAULT '',
    kind            text        NOT NULL CHECK (kind IN ('turn', 'note', 'decision', 'fact', 'todo')),
    text            text        NOT NULL,
    content_hash    text        NOT NULL,
    idempotency_key text,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    tags            text[]      NOT NULL DEFAULT '{}',
    -- tokens: the search terms of text, tags and date, made by the daemon
    -- (package tokenize: lower-case stems, CJK unigrams and bigrams).
    tokens          text        NOT NULL DEFAULT '',
    tsv             tsvector    GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED,
    occurred_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    embedding       halfvec,
    embedding_model text,
    CHECK ((embedding IS NULL) = (embedding_model IS NULL))
);

-- Idempotency: one memory per key, and one per (session, kind, content).
CREATE UNIQUE INDEX memories_idempotency_key ON memories (namespace, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX memories_content ON memories (namespace, session_id, kind, content_hash);

-- fastupdate off: no pending list, so searches stay fast (and planned
-- right) under a steady stream of inserts.
CREATE INDEX memories_tsv ON memories USING gin (tsv) WITH (fastupdate = off);
CREATE INDEX memories_tags ON memories USING gin (tags);
CREATE INDEX memories_recent ON memories (namespace, occurred_at DESC);
CREATE INDEX memories_session ON memories (namespace, session_id, occurred_at);
CREATE INDEX memories_pending ON memories (namespace, id) WHERE embedding IS NULL;
CREATE INDEX memories_model ON memories (embedding_model, id);

CREATE TABLE sessions (
    namespace text        NOT NULL,
    id        text        NOT NULL,
    project   text        NOT NULL DEFAULT '',
    title     text        NOT NULL DEFAULT '',
    first_at  timestamptz NOT NULL,
    last_at   timestamptz NOT NULL,
    PRIMARY KEY (namespace, id)
);

CREATE INDEX sessions_recent ON sessions (namespace, last_at DESC);

---- create above / drop below ----

DROP TABLE sessions;
DROP TABLE memories;
