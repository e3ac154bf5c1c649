-- The transparency log (projections/transparency): the Merkle tree over the global log.
-- +goose Up
-- Every perfect node of the tree: id = level<<56 | index (level 0 = leaf hashes).
CREATE TABLE tlog_nodes (
    id   INTEGER NOT NULL PRIMARY KEY,
    hash BLOB    NOT NULL
) WITHOUT ROWID;
-- Leaf index of each sequenced event (positions may have gaps; indexes never do).
CREATE TABLE tlog_leaves (
    position INTEGER NOT NULL PRIMARY KEY,
    idx      INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
-- The sequencer's progress: tree size, last position, and the compact range (its hashes
-- concatenated) from which the next leaves continue. One row; size is the fence.
CREATE TABLE tlog_state (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size     INTEGER NOT NULL,
    position INTEGER NOT NULL,
    compact  BLOB    NOT NULL
);
INSERT INTO tlog_state (id, size, position, compact) VALUES (1, 0, 0, X'');
-- Signed checkpoints (C2SP tlog-checkpoint notes), kept.
CREATE TABLE tlog_checkpoints (
    size       INTEGER NOT NULL PRIMARY KEY,
    position   INTEGER NOT NULL,
    root       BLOB    NOT NULL,
    note       TEXT    NOT NULL,
    public_key TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
-- The sequencer's election on SQLite (PostgreSQL uses an advisory lock).
CREATE TABLE tlog_lease (
    name       TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
-- +goose Down
DROP TABLE tlog_lease;
DROP TABLE tlog_checkpoints;
DROP TABLE tlog_state;
DROP TABLE tlog_leaves;
DROP TABLE tlog_nodes;
