package transparency_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/projections/transparency"
)

// TestHeadsMigrationKeepsTheRows (PostgreSQL): migration 4 turns the heads' stream ids to
// bytewise collation and rebuilds the buckets' table half-empty, keeping every row, and the
// sequencer and the bundles go on from them. It is taken down first, then up again.
func TestHeadsMigrationKeepsTheRows(t *testing.T) {
	ctx := context.Background()
	g := newLedger(t, pgBackend)
	body, err := os.ReadFile("migrations/postgres/0004_heads_cheaper_writes.sql")
	require.NoError(t, err)
	_, down, ok := strings.Cut(string(body), "-- +goose Down")
	require.True(t, ok)
	g.execTree(t, down)
	g.execTree(t, `DELETE FROM goose_tlog WHERE version_id = 4`)
	assert.Equal(t, "", g.collation(t), "taken down: the database's collation")
	rows := func(query string) []string {
		r, err := g.b.tree.QueryContext(ctx, query)
		require.NoError(t, err)
		defer r.Close()
		var out []string
		for r.Next() {
			var s string
			require.NoError(t, r.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, r.Err())
		return out
	}
	const heads = `SELECT concat_ws(' ', bucket, stream_id, version, idx, encode(leaf, 'hex')) FROM tlog_heads ORDER BY 1`
	const buckets = `SELECT concat_ws(' ', bucket, streams, encode(root, 'hex')) FROM tlog_head_buckets ORDER BY 1`
	// Read before the migration by other statements: the connections' prepared ones would be
	// refused once the column's type has changed ("cached plan must not change result type").
	wantHeads, wantBuckets := rows(heads+" -- before"), rows(buckets+" -- before")
	require.Len(t, wantHeads, 3)
	require.Len(t, wantBuckets, 3)

	l, err := transparency.OpenLog(ctx, g.b.tree, g.b.dialect)
	require.NoError(t, err)
	assert.Equal(t, "C", g.collation(t))
	var options string
	require.NoError(t, g.b.tree.QueryRowContext(ctx, `SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'tlog_head_buckets'::regclass`).Scan(&options))
	assert.Equal(t, "fillfactor=50", options)
	assert.Equal(t, wantHeads, rows(heads))
	assert.Equal(t, wantBuckets, rows(buckets))

	more := seedDocs(t, g.b.store, 2, 2)
	require.NoError(t, transparency.NewSequencer(l, g.b.store, transparency.Options{Key: g.key}).CatchUp(ctx))
	assert.Len(t, rows(heads), 5)
	_, tree := g.audit(t)
	require.True(t, tree.OK, "%+v", tree)
	for _, doc := range append(g.docs, more...) {
		_, err := transparency.VerifyBundle(g.bundle(t, doc), transparency.VerifyOptions{PublicKey: g.key.Verifier})
		require.NoError(t, err)
	}
}

// collation is tlog_heads.stream_id's own collation ("" for the database's).
func (g *ledger) collation(t *testing.T) string {
	t.Helper()
	var c *string
	require.NoError(t, g.b.tree.QueryRowContext(context.Background(), `SELECT collation_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'tlog_heads' AND column_name = 'stream_id'`).Scan(&c))
	if c == nil {
		return ""
	}
	return *c
}
