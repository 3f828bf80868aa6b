-- Credentials of the admin API, one per integration (a mail provider posting inbound
-- mail, say). The integration holds `nbk_` and 256 random bits; the database holds
-- only the SHA-256 of that secret, so a copy of it opens nothing. A token may do only
-- what its scope says. Revoking keeps the row: the audit log names the token.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL,
    scope           TEXT    NOT NULL CHECK (scope IN ('inbound')),
    created_at      INTEGER NOT NULL,
    created_by      TEXT    NOT NULL,
    revoked_at      INTEGER,
    revoked_by      TEXT,
    last_used_at    INTEGER
);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (name);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
