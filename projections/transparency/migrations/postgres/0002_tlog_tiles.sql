-- The tree in tiles (C2SP tlog-tiles layout) and the leaves' positions in runs, instead of a row
-- per node and a row per leaf; the stored tree is carried over, not rebuilt.
-- +goose Up
-- Tile (L, N), id = L<<56 | N: the hashes of tree level 8L with indexes [256N, 256N+w),
-- w <= 256, concatenated (32 bytes each). The levels between are rehashed from them.
CREATE TABLE tlog_tiles (
    id     BIGINT NOT NULL PRIMARY KEY,
    hashes BYTEA  NOT NULL
);
INSERT INTO tlog_tiles (id, hashes)
SELECT (((id >> 56) / 8) << 56) | ((id & 72057594037927935) >> 8), string_agg(hash, ''::bytea ORDER BY id)
FROM tlog_nodes WHERE (id >> 56) % 8 = 0
GROUP BY 1;
-- Runs of consecutive positions sequenced as consecutive leaves: leaf idx + k is the event at
-- position + k, for k < leaves (positions have gaps only where an append rolled back).
CREATE TABLE tlog_runs (
    position BIGINT NOT NULL PRIMARY KEY,
    idx      BIGINT NOT NULL UNIQUE,
    leaves   BIGINT NOT NULL
);
-- Within a run position - idx is constant, and it grows at every gap.
INSERT INTO tlog_runs (position, idx, leaves)
SELECT MIN(position), MIN(idx), COUNT(*) FROM tlog_leaves GROUP BY position - idx;
DROP TABLE tlog_leaves;
DROP TABLE tlog_nodes;
-- +goose Down
-- The old layout is not rebuilt from tiles (it needs hashing): the tree is emptied and the
-- sequencer builds it again from the log; checkpoints are kept and still checked against it.
CREATE TABLE tlog_nodes (
    id   BIGINT NOT NULL PRIMARY KEY,
    hash BYTEA   NOT NULL
);
CREATE TABLE tlog_leaves (
    position BIGINT NOT NULL PRIMARY KEY,
    idx      BIGINT NOT NULL UNIQUE
);
UPDATE tlog_state SET size = 0, position = 0, compact = '\x'::bytea;
DROP TABLE tlog_runs;
DROP TABLE tlog_tiles;
