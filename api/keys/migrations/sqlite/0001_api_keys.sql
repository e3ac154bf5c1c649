-- +goose Up
-- api_keys: one row per API key. Only the SHA-256 digest of the secret is kept.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    secret_sha256 BLOB    NOT NULL,
    org           TEXT    NOT NULL,
    unit          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL, -- Unix microseconds, UTC
    revoked_at    INTEGER           -- NULL while the key is live
);
