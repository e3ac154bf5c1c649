-- The transparency log (projections/transparency): the Merkle tree over the global log.
-- +goose Up
-- Every perfect node of the tree: id = level<<56 | index (level 0 = leaf hashes).
CREATE TABLE tlog_nodes (
    id   BIGINT NOT NULL PRIMARY KEY,
    hash BYTEA   NOT NULL
);
-- Leaf index of each sequenced event (positions may have gaps; indexes never do).
CREATE TABLE tlog_leaves (
    position BIGINT NOT NULL PRIMARY KEY,
    idx      BIGINT NOT NULL UNIQUE
);
-- The sequencer's progress: tree size, last position, and the compact range (its hashes
-- concatenated) from which the next leaves continue. One row; size is the fence.
CREATE TABLE tlog_state (
    id       BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    size     BIGINT NOT NULL,
    position BIGINT NOT NULL,
    compact  BYTEA   NOT NULL
);
INSERT INTO tlog_state (id, size, position, compact) VALUES (1, 0, 0, '\x'::bytea);
-- Signed checkpoints (C2SP tlog-checkpoint notes), kept.
CREATE TABLE tlog_checkpoints (
    size       BIGINT NOT NULL PRIMARY KEY,
    position   BIGINT NOT NULL,
    root       BYTEA   NOT NULL,
    note       TEXT    NOT NULL,
    public_key TEXT    NOT NULL,
    created_at BIGINT NOT NULL
);
-- +goose Down
DROP TABLE tlog_checkpoints;
DROP TABLE tlog_state;
DROP TABLE tlog_leaves;
DROP TABLE tlog_nodes;
