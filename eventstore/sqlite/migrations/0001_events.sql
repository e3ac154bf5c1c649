-- +goose Up
-- The event store: one row per stream (its version and the hash at its tip) and one row per
-- event. position is the global log order; one writer commits at a time, so positions commit
-- in order. Ids and hashes are raw bytes (16 and 32); recorded_at is Unix microseconds, UTC.
CREATE TABLE streams (
    stream_id TEXT    NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version > 0),
    last_hash BLOB    NOT NULL
);

CREATE TABLE events (
    position       INTEGER NOT NULL PRIMARY KEY,
    stream_id      TEXT    NOT NULL REFERENCES streams (stream_id),
    version        INTEGER NOT NULL CHECK (version > 0),
    event_id       BLOB    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    metadata       BLOB,
    recorded_at    INTEGER NOT NULL,
    prev_hash      BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    UNIQUE (stream_id, version)
);
