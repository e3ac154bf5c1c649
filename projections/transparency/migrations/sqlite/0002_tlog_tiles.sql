-- The tree in tiles (C2SP tlog-tiles layout) and the leaves' positions in runs, instead of a row
-- per node and a row per leaf; the stored tree is carried over, not rebuilt.
-- +goose Up
-- Tile (L, N), id = L<<56 | N: the hashes of tree level 8L with indexes [256N, 256N+w),
-- w <= 256, concatenated (32 bytes each). The levels between are rehashed from them.
CREATE TABLE tlog_tiles (
    id     INTEGER NOT NULL PRIMARY KEY,
    hashes BLOB    NOT NULL
) WITHOUT ROWID;
-- hex/unhex: group_concat works on text.
INSERT INTO tlog_tiles (id, hashes)
SELECT (((id >> 56) / 8) << 56) | ((id & 72057594037927935) >> 8), unhex(group_concat(hex(hash), '' ORDER BY id))
FROM tlog_nodes WHERE (id >> 56) % 8 = 0
GROUP BY 1;
-- Runs of consecutive positions sequenced as consecutive leaves: leaf idx + k is the event at
-- position + k, for k < leaves (positions have gaps only where an append rolled back).
CREATE TABLE tlog_runs (
    position INTEGER NOT NULL PRIMARY KEY,
    idx      INTEGER NOT NULL UNIQUE,
    leaves   INTEGER NOT NULL
) WITHOUT ROWID;
-- Within a run position - idx is constant, and it grows at every gap.
INSERT INTO tlog_runs (position, idx, leaves)
SELECT MIN(position), MIN(idx), COUNT(*) FROM tlog_leaves GROUP BY position - idx;
DROP TABLE tlog_leaves;
DROP TABLE tlog_nodes;
-- +goose Down
-- The old layout is not rebuilt from tiles (it needs hashing): the tree is emptied and the
-- sequencer builds it again from the log; checkpoints are kept and still checked against it.
CREATE TABLE tlog_nodes (
    id   INTEGER NOT NULL PRIMARY KEY,
    hash BLOB    NOT NULL
) WITHOUT ROWID;
CREATE TABLE tlog_leaves (
    position INTEGER NOT NULL PRIMARY KEY,
    idx      INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
UPDATE tlog_state SET size = 0, position = 0, compact = X'';
DROP TABLE tlog_runs;
DROP TABLE tlog_tiles;
