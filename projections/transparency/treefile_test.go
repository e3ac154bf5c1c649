package transparency_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

func TestTreeFile(t *testing.T) {
	for _, tc := range []struct{ store, tree string }{
		{"./data/custody.db", "data/custody.tlog.db"},
		{"/var/lib/custody/ledger.sqlite", "/var/lib/custody/ledger.tlog.sqlite"},
		{"ledger", "ledger.tlog"},
		{"/srv/v1.2/ledger", "/srv/v1.2/ledger.tlog"},
	} {
		assert.Equal(t, filepath.Clean(tc.tree), filepath.Clean(transparency.TreeFile(tc.store)), tc.store)
	}
}

// tlogTables counts the tree's tables in a SQLite database.
func tlogTables(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM sqlite_master
		WHERE type = 'table' AND (name = 'goose_tlog' OR name LIKE 'tlog\_%' ESCAPE '\')`).Scan(&n))
	return n
}

// TestMoveTree: a tree that an earlier version kept in the store's SQLite file moves to its
// own file whole (tree, checkpoints, stream heads, migration version), goes on growing there
// and still verifies; the old tables are dropped; a second call, or one after a move cut
// short before the old tables were dropped, copies nothing.
func TestMoveTree(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custody.db")
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	seedDocs(t, s, 3, 4)
	key := testKey(t, "custody.test/log")

	// An earlier version: the tree in the store's file.
	old, err := transparency.OpenLog(ctx, s.DB(), projections.SQLite)
	require.NoError(t, err)
	require.NoError(t, transparency.NewSequencer(old, s, transparency.Options{Key: key}).CatchUp(ctx))
	before, err := old.Latest(ctx)
	require.NoError(t, err)
	proof, err := old.InclusionProof(ctx, 5, before.Size)
	require.NoError(t, err)
	tables := tlogTables(t, s.DB())
	require.Greater(t, tables, 5)

	tree, err := sqlite.OpenDB(ctx, transparency.TreeFile(path), sqlite.Rebuildable())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tree.Close() })
	moved, err := transparency.MoveTree(ctx, tree, path)
	require.NoError(t, err)
	assert.True(t, moved)
	assert.Zero(t, tlogTables(t, s.DB()), "the store's file no longer holds the tree")
	assert.Equal(t, tables, tlogTables(t, tree))
	// The move made its copy durable (FULL) on one connection; every connection of the pool is
	// back at the tree's own setting, NORMAL.
	conns := make([]*sql.Conn, 0, 8)
	for range 8 { // the pool's size: every connection is one of these
		c, err := tree.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
		var sync int
		require.NoError(t, c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync))
		assert.Equal(t, 1, sync, "synchronous=NORMAL")
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}

	l, err := transparency.OpenLog(ctx, tree, projections.SQLite)
	require.NoError(t, err)
	after, err := l.Latest(ctx)
	require.NoError(t, err)
	assert.Equal(t, before.Note, after.Note, "the signed checkpoint moved")
	got, err := l.InclusionProof(ctx, 5, before.Size)
	require.NoError(t, err)
	assert.Equal(t, proof, got)

	// The sequencer goes on from the moved state: it reads only the new events.
	seedDocs(t, s, 1, 2)
	reader := &countingReader{LogReader: s}
	require.NoError(t, transparency.NewSequencer(l, reader, transparency.Options{Key: key}).CatchUp(ctx))
	assert.Equal(t, int64(2), reader.n.Load(), "only the events after the moved tree are read")
	rep, err := transparency.VerifyCheckpoints(ctx, s, l, key.Verifier, before.Note)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep)
	chain, err := eventstore.VerifyAll(ctx, s)
	require.NoError(t, err)
	assert.True(t, chain.OK)

	moved, err = transparency.MoveTree(ctx, tree, path)
	require.NoError(t, err)
	assert.False(t, moved, "nothing left to move")

	// A move cut short after the copy committed: the old tables are still there (here, made
	// again empty). They are dropped, and the moved tree is left as it is.
	_, err = transparency.OpenLog(ctx, s.DB(), projections.SQLite)
	require.NoError(t, err)
	require.Equal(t, tables, tlogTables(t, s.DB()))
	size, _, err := l.Size(ctx)
	require.NoError(t, err)
	moved, err = transparency.MoveTree(ctx, tree, path)
	require.NoError(t, err)
	assert.False(t, moved)
	assert.Zero(t, tlogTables(t, s.DB()))
	again, _, err := l.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, size, again)
}

// TestLostTreeSignsTheSameCheckpoint: a tree that lost transactions (here all of them, the
// worst a power loss can do to the tree's file, which runs with synchronous=NORMAL) is built
// again from the log, and the checkpoint of the same size is the same bytes, since the note
// holds only what the log determines and Ed25519 signatures are deterministic: a checkpoint a
// witness already holds stays the log's.
func TestLostTreeSignsTheSameCheckpoint(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		seedDocs(t, b.store, 3, 4)
		key := testKey(t, "custody.test/log")
		l, seq := sequencer(t, b, transparency.Options{Key: key})
		require.NoError(t, seq.CatchUp(ctx))
		held, err := l.Latest(ctx)
		require.NoError(t, err)
		require.Equal(t, uint64(12), held.Size)

		resetTree(t, b)
		for _, q := range []string{`DELETE FROM tlog_heads`, `DELETE FROM tlog_head_buckets`, `UPDATE tlog_heads_state SET size = 0, checkpoint = 0`} {
			_, err := b.tree.ExecContext(ctx, q)
			require.NoError(t, err, q)
		}
		_, err = l.Latest(ctx)
		require.ErrorIs(t, err, transparency.ErrNotFound, "the tree is gone")

		_, seq = sequencer(t, b, transparency.Options{Key: key})
		require.NoError(t, seq.CatchUp(ctx))
		again, err := l.Latest(ctx)
		require.NoError(t, err)
		assert.Equal(t, string(held.Note), string(again.Note))
		rep, err := transparency.VerifyCheckpoints(ctx, b.store, l, key.Verifier, held.Note)
		require.NoError(t, err)
		assert.True(t, rep.OK, "%+v", rep)
	})
}
