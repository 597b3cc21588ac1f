-- Access tokens and OAuth 2.1 state of sage-daemon's HTTP surface.
-- Secrets are never stored: only their SHA-256 hashes.

-- auth_tokens holds access keys (kind 'key', issued by an admin or created at
-- first start) and the OAuth access and refresh tokens issued from them. An
-- OAuth token inherits namespace and scopes from its parent key and dies with it.
CREATE TABLE auth_tokens (
    id           text PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('key', 'oauth_access', 'oauth_refresh')),
    name         text NOT NULL DEFAULT '',
    namespace    text NOT NULL,
    scopes       text[] NOT NULL DEFAULT '{}',
    hash         bytea NOT NULL UNIQUE,
    parent_id    text REFERENCES auth_tokens (id) ON DELETE CASCADE,
    client_id    text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE INDEX auth_tokens_parent_idx ON auth_tokens (parent_id);
CREATE INDEX auth_tokens_kind_idx ON auth_tokens (kind, created_at);

-- oauth_clients are clients registered with RFC 7591 dynamic registration.
-- Only public clients (no secret, PKCE required) are supported.
CREATE TABLE oauth_clients (
    id            text PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    redirect_uris text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- oauth_codes are authorization codes: single use, short lived.
CREATE TABLE oauth_codes (
    hash           bytea PRIMARY KEY,
    client_id      text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    resource       text NOT NULL DEFAULT '',
    parent_id      text NOT NULL REFERENCES auth_tokens (id) ON DELETE CASCADE,
    scopes         text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);

---- create above / drop below ----

DROP TABLE IF EXISTS oauth_codes;
DROP TABLE IF EXISTS oauth_clients;
DROP TABLE IF EXISTS auth_tokens;
