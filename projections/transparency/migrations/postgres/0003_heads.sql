-- The stream heads (projections/transparency, heads*.go): every stream's last event as of the
-- tree's size, committed to by each checkpoint's heads line.
-- +goose Up
-- One row per stream, upserted with each checkpoint (bucket = HeadBucket(stream_id)).
CREATE TABLE tlog_heads (
    bucket    INTEGER NOT NULL,
    stream_id TEXT    NOT NULL,
    version   BIGINT  NOT NULL,
    idx       BIGINT  NOT NULL,
    leaf      BYTEA   NOT NULL,
    PRIMARY KEY (bucket, stream_id)
);
-- size: the tree size tlog_heads is as of (a checkpoint's size, at most tlog_state.size; 0 on a tree sequenced
-- before the heads existed; the sequencer replays the log from it).
-- checkpoint: the checkpoint size tlog_head_buckets is as of.
CREATE TABLE tlog_heads_state (
    id         BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    size       BIGINT NOT NULL,
    checkpoint BIGINT NOT NULL
);
INSERT INTO tlog_heads_state (id, size, checkpoint) VALUES (1, 0, 0);
-- Each bucket's head count and tree root as of that checkpoint (a missing row: empty), so an
-- export proves a head against the checkpoint without reading every head.
CREATE TABLE tlog_head_buckets (
    bucket  INTEGER NOT NULL PRIMARY KEY,
    streams BIGINT  NOT NULL,
    root    BYTEA   NOT NULL
);
-- +goose Down
DROP TABLE tlog_head_buckets;
DROP TABLE tlog_heads_state;
DROP TABLE tlog_heads;
