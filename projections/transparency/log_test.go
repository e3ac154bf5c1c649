package transparency_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/transparency"
)

// referenceRoots computes the root of every prefix of the log from scratch.
func referenceRoots(t *testing.T, s eventstore.Store) (roots [][]byte, leaves [][]byte) {
	t.Helper()
	recs, err := s.ReadAll(context.Background(), 0, 0)
	require.NoError(t, err)
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := f.NewEmptyRange(0)
	roots = [][]byte{rfc6962.DefaultHasher.EmptyRoot()}
	for i := range recs {
		leaves = append(leaves, transparency.LeafHash(&recs[i]))
		require.NoError(t, r.Append(leaves[i], nil))
		root, err := r.GetRootHash(nil)
		require.NoError(t, err)
		roots = append(roots, root)
	}
	return roots, leaves
}

// TestProofsVerify: a tree sequenced in small batches serves, from its stored nodes, roots,
// inclusion proofs for every leaf and consistency proofs for every pair of sizes, all checking
// against roots computed from scratch.
func TestProofsVerify(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		seedDocs(t, b.store, 4, 5) // 20 events
		l, seq := sequencer(t, b, transparency.Options{BatchSize: 3})
		require.NoError(t, seq.CatchUp(ctx))
		seedDocs(t, b.store, 3, 4) // 12 more, sequenced on top of the stored compact range
		require.NoError(t, seq.CatchUp(ctx))
		roots, leaves := referenceRoots(t, b.store)
		n := uint64(len(leaves))
		size, _, err := l.Size(ctx)
		require.NoError(t, err)
		require.Equal(t, n, size)
		h := rfc6962.DefaultHasher
		for size := uint64(0); size <= n; size++ {
			root, err := l.RootAt(ctx, size)
			require.NoError(t, err)
			require.Equal(t, roots[size], root, "root of size %d", size)
			for i := uint64(0); i < size; i++ {
				p, err := l.InclusionProof(ctx, i, size)
				require.NoError(t, err)
				require.NoError(t, proof.VerifyInclusion(h, i, size, leaves[i], p, root), "leaf %d size %d", i, size)
			}
			for from := uint64(1); from <= size; from++ {
				p, err := l.ConsistencyProof(ctx, from, size)
				require.NoError(t, err)
				require.NoError(t, proof.VerifyConsistency(h, from, size, p, roots[from], root), "%d→%d", from, size)
			}
		}
		_, err = l.InclusionProof(ctx, 0, n+1)
		assert.ErrorIs(t, err, transparency.ErrBeyondTree)
		_, err = l.InclusionProof(ctx, n, n+1) // every node of its path is stored; the leaf is not
		assert.ErrorIs(t, err, transparency.ErrBeyondTree)
		_, err = l.ConsistencyProof(ctx, n, n+1)
		assert.ErrorIs(t, err, transparency.ErrBeyondTree)
		_, err = l.InclusionProof(ctx, n, n)
		assert.ErrorIs(t, err, transparency.ErrNotFound)
	})
}

// TestCheckpointsSignedAndPublished: checkpoints come every CheckpointEvents leaves and after
// CheckpointEvery, are signed notes the public key opens, are kept, and reach a directory and
// a webhook.
func TestCheckpointsSignedAndPublished(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		key := testKey(t, "custody.test/log")
		dir := t.TempDir()
		var (
			mu     sync.Mutex
			posted [][]byte
		)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := make([]byte, r.ContentLength)
			_, _ = r.Body.Read(body)
			mu.Lock()
			posted = append(posted, body)
			mu.Unlock()
		}))
		defer hook.Close()
		webhook, err := transparency.NewPublisher(hook.URL)
		require.NoError(t, err)
		both := publishers{transparency.Dir(dir), webhook}
		l, seq := sequencer(t, b, transparency.Options{Key: key, CheckpointEvents: 10, CheckpointEvery: 300 * time.Millisecond,
			BatchSize: 5, Poll: 20 * time.Millisecond, Publish: both})
		seedDocs(t, b.store, 5, 5) // 25 events, read in batches of 5: by count at 10 and 20, then by time at 25
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- seq.Run(runCtx) }()
		defer func() { stop(); <-done }()
		waitFor(t, "a checkpoint of size 25", func() bool {
			cp, err := l.Latest(ctx)
			return err == nil && cp.Size == 25
		})
		for _, size := range []uint64{10, 20, 25} {
			cp, err := l.CheckpointAt(ctx, size)
			require.NoError(t, err, "checkpoint of size %d kept", size)
			opened, err := transparency.Open(cp.Note, key.Verifier)
			require.NoError(t, err)
			root, err := l.RootAt(ctx, size)
			require.NoError(t, err)
			assert.Equal(t, root, opened.Root)
			assert.Equal(t, key.Public, cp.PublicKey)
			file, err := os.ReadFile(filepath.Join(dir, transparency.FileName(size)))
			require.NoError(t, err, "published to the directory")
			assert.Equal(t, cp.Note, file)
		}
		mu.Lock()
		assert.Len(t, posted, 3, "every checkpoint posted to the webhook")
		mu.Unlock()
		// Idle: no new checkpoint for the same size.
		time.Sleep(400 * time.Millisecond)
		_, err = l.CheckpointAt(ctx, 26)
		assert.ErrorIs(t, err, transparency.ErrNotFound)
	})
}

type publishers []transparency.Publisher

func (ps publishers) Publish(ctx context.Context, cp transparency.Signed) error {
	for _, p := range ps {
		if err := p.Publish(ctx, cp); err != nil {
			return err
		}
	}
	return nil
}

// TestOneSequencerPerDatabase: two sequencers run on one database; one leads, the tree is
// the log's, and when the leader stops the other takes over.
func TestOneSequencerPerDatabase(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		opts := transparency.Options{Poll: 10 * time.Millisecond, LeaseTTL: 300 * time.Millisecond, ElectionRetry: 20 * time.Millisecond, BatchSize: 7}
		l, a := sequencer(t, b, opts)
		_, c := sequencer(t, b, opts)
		actx, stopA := context.WithCancel(ctx)
		cctx, stopC := context.WithCancel(ctx)
		aDone, cDone := make(chan error, 1), make(chan error, 1)
		go func() { aDone <- a.Run(actx) }()
		go func() { cDone <- c.Run(cctx) }()
		defer func() { stopC(); <-cDone }()
		seedDocs(t, b.store, 3, 10)
		waitFor(t, "30 leaves", func() bool { n, _, _ := l.Size(ctx); return n == 30 })
		stopA()
		<-aDone
		seedDocs(t, b.store, 2, 5)
		waitFor(t, "40 leaves after the first sequencer stopped", func() bool { n, _, _ := l.Size(ctx); return n == 40 })
		roots, _ := referenceRoots(t, b.store)
		root, err := l.RootAt(ctx, 40)
		require.NoError(t, err)
		assert.Equal(t, roots[40], root)
	})
}

// TestFencedSequencerWritesNothing: a sequencer whose view of the tree is stale (another one
// moved it, as after a lost election) is refused by the size fence, writes nothing, and goes on
// from the stored tree.
func TestFencedSequencerWritesNothing(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		l, stale := sequencer(t, b, transparency.Options{})
		_, err := stale.Step(ctx) // loads the empty tree
		require.NoError(t, err)
		seedDocs(t, b.store, 2, 3)
		_, fresh := sequencer(t, b, transparency.Options{})
		require.NoError(t, fresh.CatchUp(ctx))

		_, err = stale.Step(ctx)
		require.ErrorIs(t, err, transparency.ErrFenced)
		n, err := stale.Step(ctx) // reloaded: nothing left to add
		require.NoError(t, err)
		assert.Zero(t, n)
		roots, _ := referenceRoots(t, b.store)
		root, err := l.RootAt(ctx, 6)
		require.NoError(t, err)
		assert.Equal(t, roots[6], root)
		size, _, err := l.Size(ctx)
		require.NoError(t, err)
		assert.Equal(t, uint64(6), size)
	})
}

// TestOpenLogAdoptsTablesMadeBeforeInternalMigrate: a database whose tree tables were made
// before internal/migrate (goose into tlog_migrations) is adopted, its tree kept.
func TestOpenLogAdoptsTablesMadeBeforeInternalMigrate(t *testing.T) {
	ctx := context.Background()
	b := sqliteBackend(t)
	body, err := os.ReadFile("migrations/sqlite/0001_tlog.sql")
	require.NoError(t, err)
	up, _, _ := strings.Cut(string(body), "-- +goose Down")
	for _, stmt := range strings.Split(stripComments(up), ";") {
		if strings.TrimSpace(stmt) != "" {
			_, err := b.tree.ExecContext(ctx, stmt)
			require.NoError(t, err, stmt)
		}
	}
	_, err = b.tree.ExecContext(ctx, `UPDATE tlog_state SET size = 0, position = 7`)
	require.NoError(t, err)
	l, err := transparency.OpenLog(ctx, b.tree, b.dialect)
	require.NoError(t, err)
	_, pos, err := l.Size(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), pos, "the existing state is kept")
}

func stripComments(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
