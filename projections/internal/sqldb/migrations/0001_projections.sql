-- +goose Up
-- Global projection tables, outside any generation. The same SQL runs on SQLite and
-- PostgreSQL: BIGINT and TEXT only, times as Unix microseconds (UTC), no NULLs.

-- Each generation is one full set of read-model tables (rm<gen>_*), built from position zero.
-- Queries read the one generation whose status is 'live'; a rebuild builds a new one
-- ('building') and switches by flipping statuses in one transaction. position is the
-- generation's checkpoint: the last global position applied to its tables, advanced in the
-- same transaction as their rows.
CREATE TABLE projections_generations (
    gen           BIGINT NOT NULL PRIMARY KEY,
    status        TEXT   NOT NULL,
    model_version BIGINT NOT NULL,
    position      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    switched_at   BIGINT NOT NULL DEFAULT 0
);

-- The runner's lease on SQLite (PostgreSQL elects with an advisory lock instead).
CREATE TABLE projections_lease (
    name       TEXT   NOT NULL PRIMARY KEY,
    owner      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Notifications to deliver. Rows are inserted in the projection's transaction, keyed by the
-- dedup key (document, trigger event, channel) with ON CONFLICT DO NOTHING, so neither a
-- retried batch nor a rebuild enqueues a notification twice. It outlives generations.
-- payload holds the recipient's raw contact until delivery, then it is cleared.
CREATE TABLE projections_outbox (
    dedup_key       TEXT   NOT NULL PRIMARY KEY,
    document_id     TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    position        BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    payload         TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT   NOT NULL DEFAULT '',
    enqueued_at     BIGINT NOT NULL,
    delivered_at    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX projections_outbox_due ON projections_outbox (status, next_attempt_at, position);
CREATE INDEX projections_outbox_document ON projections_outbox (document_id);
