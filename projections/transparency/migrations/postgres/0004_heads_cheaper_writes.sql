-- Cheaper writes for the sequencer's per-stream rows (docs/transparency.md, "What the
-- sequencer costs"): every checkpoint upserts the heads of the streams that moved and their
-- buckets.
-- +goose Up
-- Stream ids compare bytewise ("C"), the order the heads are sorted in everywhere (in memory
-- and in the heads tree), instead of by the database's locale, which costs every key
-- comparison of the upserts; the primary key is rebuilt.
ALTER TABLE tlog_heads ALTER COLUMN stream_id TYPE TEXT COLLATE "C";
-- Half-empty pages, so that a bucket's new version fits beside the old one (a HOT update:
-- no new index entry); the table holds at most 16,384 small rows. It is rebuilt so that the
-- rows already there get the room too.
CREATE TABLE tlog_head_buckets_new (
    bucket  INTEGER NOT NULL PRIMARY KEY,
    streams BIGINT  NOT NULL,
    root    BYTEA   NOT NULL
) WITH (fillfactor = 50);
INSERT INTO tlog_head_buckets_new SELECT bucket, streams, root FROM tlog_head_buckets;
DROP TABLE tlog_head_buckets;
ALTER TABLE tlog_head_buckets_new RENAME TO tlog_head_buckets;
ALTER INDEX tlog_head_buckets_new_pkey RENAME TO tlog_head_buckets_pkey;
-- +goose Down
ALTER TABLE tlog_head_buckets RESET (fillfactor);
ALTER TABLE tlog_heads ALTER COLUMN stream_id TYPE TEXT COLLATE "default";
