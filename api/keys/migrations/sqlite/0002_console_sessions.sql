-- +goose Up
-- console_sessions: the web console's sign-ins, shared by every server on the database. Only
-- the SHA-256 of the session token is kept (never the key's secret); a session of a revoked
-- key does not authenticate (the lookup joins api_keys).
CREATE TABLE console_sessions (
    token_sha256 BLOB    PRIMARY KEY,
    key_id       TEXT    NOT NULL REFERENCES api_keys (id),
    created_at   INTEGER NOT NULL, -- Unix microseconds, UTC
    expires_at   INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
