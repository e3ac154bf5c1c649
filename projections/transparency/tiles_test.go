package transparency_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/migrate"
	"github.com/custody-ledger/custody/projections/transparency"
)

// gappy is a generated log of n events whose positions skip every multiple of 97 (appends that
// rolled back), the same records on every read.
type gappy uint64

func (n gappy) position(index uint64) uint64 { return index + index/96 + 1 }

func (n gappy) ReadAll(_ context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	var out []eventstore.Record
	for p := after + 1; p <= n.position(uint64(n)-1) && (limit <= 0 || len(out) < limit); p++ {
		if p%97 == 0 {
			continue
		}
		r := eventstore.Record{StreamID: fmt.Sprintf("document-%d", p/7), Version: p%7 + 1, Position: p}
		binary.BigEndian.PutUint64(r.EventID[:], p)
		binary.BigEndian.PutUint64(r.Hash[:], p*2654435761)
		out = append(out, r)
	}
	return out, nil
}

// reference is the tree of a log computed from scratch: the leaves and the root of every size.
type reference struct {
	leaves, roots [][]byte
	positions     []uint64
}

func referenceOf(t testing.TB, log eventstore.LogReader) reference {
	t.Helper()
	recs, err := log.ReadAll(context.Background(), 0, 0)
	require.NoError(t, err)
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := f.NewEmptyRange(0)
	ref := reference{roots: [][]byte{rfc6962.DefaultHasher.EmptyRoot()}}
	for i := range recs {
		ref.leaves = append(ref.leaves, transparency.LeafHash(&recs[i]))
		ref.positions = append(ref.positions, recs[i].Position)
		require.NoError(t, r.Append(ref.leaves[i], nil))
		root, err := r.GetRootHash(nil)
		require.NoError(t, err)
		ref.roots = append(ref.roots, root)
	}
	return ref
}

// checkTree compares the stored tree with the reference: roots at the edges of tiles and at
// random sizes, inclusion and consistency proofs at random, and the position index.
func checkTree(t *testing.T, l *transparency.Log, ref reference, rnd *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	h := rfc6962.DefaultHasher
	n := uint64(len(ref.leaves))
	sizes := []uint64{0, 1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, n - 1, n}
	for range 40 {
		sizes = append(sizes, 1+rnd.Uint64N(n))
	}
	for _, size := range sizes {
		if size > n {
			continue
		}
		root, err := l.RootAt(ctx, size)
		require.NoError(t, err)
		require.Equal(t, ref.roots[size], root, "root of size %d", size)
		if size == 0 {
			continue
		}
		for _, i := range []uint64{0, size - 1, rnd.Uint64N(size), rnd.Uint64N(size)} {
			p, err := l.InclusionProof(ctx, i, size)
			require.NoError(t, err)
			require.NoError(t, proof.VerifyInclusion(h, i, size, ref.leaves[i], p, root), "leaf %d size %d", i, size)
		}
		from := 1 + rnd.Uint64N(size)
		p, err := l.ConsistencyProof(ctx, from, size)
		require.NoError(t, err)
		require.NoError(t, proof.VerifyConsistency(h, from, size, p, ref.roots[from], root), "%d→%d", from, size)
	}
	_, err := l.InclusionProof(ctx, n-1, n+1)
	assert.ErrorIs(t, err, transparency.ErrBeyondTree)
	_, err = l.ConsistencyProof(ctx, n, n+1)
	assert.ErrorIs(t, err, transparency.ErrBeyondTree)

	var asked []uint64
	for range 30 {
		i := rnd.Uint64N(n)
		idx, err := l.Index(ctx, ref.positions[i])
		require.NoError(t, err)
		require.Equal(t, i, idx, "index of position %d", ref.positions[i])
		asked = append(asked, ref.positions[i])
	}
	missing := ref.positions[n-1] + 1
	for p := uint64(97); p < ref.positions[n-1]; p += 97 * 61 { // the gaps
		_, err := l.Index(ctx, p)
		require.ErrorIs(t, err, transparency.ErrNotFound, "position %d is a gap", p)
		asked = append(asked, p)
	}
	_, err = l.Index(ctx, missing)
	require.ErrorIs(t, err, transparency.ErrNotFound)
	idx, err := l.Indexes(ctx, append(asked, missing))
	require.NoError(t, err)
	for _, p := range asked {
		if p%97 == 0 {
			assert.NotContains(t, idx, p)
		} else {
			assert.Equal(t, uint64(gappy(n).indexOf(p)), idx[p], "position %d", p)
		}
	}
	assert.NotContains(t, idx, missing)
}

func (gappy) indexOf(position uint64) uint64 { return position - 1 - (position-1)/97 }

// TestTilesServeALargeTree: a log of 66,000 events with gaps in its positions, sequenced in
// batches by sequencers restarted between them (each reloads the partial edge tiles), serves
// roots, proofs and positions at three tile levels that check against a tree computed from
// scratch.
func TestTilesServeALargeTree(t *testing.T) {
	const n = 66_000
	ref := referenceOf(t, gappy(n))
	require.Len(t, ref.leaves, n)
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		l, err := transparency.OpenLog(ctx, b.tree, b.dialect)
		require.NoError(t, err)
		for steps := 0; ; steps++ {
			seq := transparency.NewSequencer(l, gappy(n), transparency.Options{BatchSize: 4999 + steps%3*1000})
			added, err := seq.Step(ctx)
			require.NoError(t, err)
			if added == 0 {
				break
			}
			if steps%2 == 0 { // and one more batch on the same sequencer's edge tiles
				_, err := seq.Step(ctx)
				require.NoError(t, err)
			}
		}
		size, _, err := l.Size(ctx)
		require.NoError(t, err)
		require.Equal(t, uint64(n), size)
		checkTree(t, l, ref, rand.New(rand.NewPCG(1, 2)))
	})
}

// TestMigrationCarriesTheTreeOver: a tree stored by version 1 (a row per node and per leaf) is
// turned into tiles and runs by migration 2 and serves the same roots and proofs, and the
// sequencer goes on from it.
func TestMigrationCarriesTheTreeOver(t *testing.T) {
	const before, after = 1500, 1800
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		v1, err := os.ReadFile("migrations/" + string(b.dialect) + "/0001_tlog.sql")
		require.NoError(t, err)
		require.NoError(t, migrate.Up(ctx, b.tree, migrate.Dialect(b.dialect),
			migrate.Component{Name: "tlog", FS: fstest.MapFS{"0001_tlog.sql": {Data: v1}}}))

		// What the version-1 sequencer stored: every perfect node, every leaf's position, the
		// compact range.
		recs, err := gappy(before).ReadAll(ctx, 0, 0)
		require.NoError(t, err)
		f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
		rng := f.NewEmptyRange(0)
		tx, err := b.tree.BeginTx(ctx, nil)
		require.NoError(t, err)
		for i := range recs {
			_, err := tx.ExecContext(ctx, `INSERT INTO tlog_leaves (position, idx) VALUES ($1, $2)`, recs[i].Position, i)
			require.NoError(t, err)
			require.NoError(t, rng.Append(transparency.LeafHash(&recs[i]), func(id compact.NodeID, h []byte) {
				_, err := tx.ExecContext(ctx, `INSERT INTO tlog_nodes (id, hash) VALUES ($1, $2)`, int64(id.Level)<<56|int64(id.Index), h)
				require.NoError(t, err)
			}))
		}
		var packed []byte
		for _, h := range rng.Hashes() {
			packed = append(packed, h...)
		}
		_, err = tx.ExecContext(ctx, `UPDATE tlog_state SET size = $1, position = $2, compact = $3`, len(recs), recs[len(recs)-1].Position, packed)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())

		l, err := transparency.OpenLog(ctx, b.tree, b.dialect)
		require.NoError(t, err)
		rnd := rand.New(rand.NewPCG(3, 4))
		checkTree(t, l, referenceOf(t, gappy(before)), rnd)

		seq := transparency.NewSequencer(l, gappy(after), transparency.Options{})
		require.NoError(t, seq.CatchUp(ctx))
		checkTree(t, l, referenceOf(t, gappy(after)), rnd)
		q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
		if b.dialect == "postgres" {
			q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
		}
		for _, table := range []string{"tlog_nodes", "tlog_leaves"} {
			var n int
			require.NoError(t, b.tree.QueryRowContext(ctx, q, table).Scan(&n))
			assert.Zero(t, n, "%s is gone", table)
		}
	})
}
