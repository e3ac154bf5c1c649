package transparency_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/transparency"
)

// ledger is a sequenced, checkpointed log of 3 documents × 4 events, interleaved: document d's
// version v is at position 3(v-1)+d+1.
type ledger struct {
	b    backend
	l    *transparency.Log
	key  *transparency.Key
	docs []uuid.UUID
}

func newLedger(t *testing.T, open func(testing.TB) backend) *ledger {
	t.Helper()
	b := open(t)
	docs := seedDocs(t, b.store, 3, 4)
	key := testKey(t, "custody.test/log")
	l, seq := sequencer(t, b, transparency.Options{Key: key})
	require.NoError(t, seq.CatchUp(context.Background()))
	return &ledger{b: b, l: l, key: key, docs: docs}
}

// exec tampers with the store's tables directly, as a database administrator could.
func (g *ledger) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := g.b.db.ExecContext(context.Background(), query, args...)
	require.NoError(t, err, query)
}

// execTree tampers with the tree's tables.
func (g *ledger) execTree(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := g.b.tree.ExecContext(context.Background(), query, args...)
	require.NoError(t, err, query)
}

// audit is what `custody verify` checks: every stream's chain, and the tree rebuilt from the
// log against the latest checkpoint (and any held elsewhere), opened with the log's key.
func (g *ledger) audit(t *testing.T, held ...[]byte) (eventstore.Report, transparency.TreeReport) {
	t.Helper()
	ctx := context.Background()
	chain, err := eventstore.VerifyAll(ctx, g.b.store)
	require.NoError(t, err)
	tree, err := transparency.VerifyCheckpoints(ctx, g.b.store, g.l, g.key.Verifier, held...)
	require.NoError(t, err)
	return chain, tree
}

func (g *ledger) bundle(t *testing.T, doc uuid.UUID, since ...uint64) *transparency.Bundle {
	t.Helper()
	b, err := transparency.Export(context.Background(), g.b.store, g.l, transparency.Scope{Document: &doc}, since...)
	require.NoError(t, err)
	// Through JSON, as an auditor receives it.
	raw, err := json.Marshal(b)
	require.NoError(t, err)
	var out transparency.Bundle
	require.NoError(t, json.Unmarshal(raw, &out))
	return &out
}

// TestTamperingIsCaught changes the store's tables directly after a checkpoint; each change is
// caught by the chains or by the tree rebuilt against the signed checkpoint. The changes that
// keep every chain valid (a deleted last event, a deleted stream, swapped positions) are
// caught by the tree alone, which is what it adds.
func TestTamperingIsCaught(t *testing.T) {
	cases := []struct {
		name        string
		tamper      func(t *testing.T, g *ledger)
		chainBroken bool // the per-stream chains notice too
	}{
		{"changed payload", func(t *testing.T, g *ledger) {
			g.exec(t, `UPDATE events SET data = $1 WHERE position = 5`, []byte(`{"n":99}`))
		}, true},
		{"deleted middle event", func(t *testing.T, g *ledger) {
			g.exec(t, `DELETE FROM events WHERE position = 5`)
		}, true},
		{"deleted last event of a stream", func(t *testing.T, g *ledger) {
			g.exec(t, `DELETE FROM events WHERE position = 10`) // document 0, version 4 of 4
		}, false},
		{"deleted whole stream", func(t *testing.T, g *ledger) {
			g.exec(t, `DELETE FROM events WHERE stream_id = $1`, commands.DocumentStream(g.docs[2]))
		}, false},
		{"positions swapped across streams", func(t *testing.T, g *ledger) {
			g.exec(t, `UPDATE events SET position = -1 WHERE position = 4`) // document 0 v2
			g.exec(t, `UPDATE events SET position = 4 WHERE position = 5`)  // document 1 v2
			g.exec(t, `UPDATE events SET position = 5 WHERE position = -1`)
		}, false},
	}
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				g := newLedger(t, open)
				chain, tree := g.audit(t)
				require.True(t, chain.OK && tree.OK, "the untouched log verifies: %+v %+v", chain, tree)
				require.Equal(t, []uint64{12}, tree.Checkpoints)

				tc.tamper(t, g)
				chain, tree = g.audit(t)
				assert.Equal(t, tc.chainBroken, !chain.OK, "chain report %+v", chain)
				if tc.name == "changed payload" {
					// The leaf holds the chain hash, which the change left alone: the chain
					// check and the bundle catch it.
					assert.True(t, tree.OK)
					_, err := transparency.VerifyBundle(g.bundle(t, g.docs[1]), transparency.VerifyOptions{PublicKey: g.key.Verifier})
					assert.ErrorContains(t, err, "its hash does not match its content")
					return
				}
				assert.False(t, tree.OK, "the tree catches it")
				assert.NotEmpty(t, tree.Failure)
				assert.NotZero(t, tree.Position, "names the first event that differs from the sequenced tree")
			})
		}
	})
}

// TestRewrittenHistoryIsCaught: after a checkpoint was published, the administrator rewrites
// a document's history with a valid new hash chain, rebuilds the tree and has a new checkpoint
// signed (the key is on the server). Every chain verifies and the new checkpoint matches the
// new log; the checkpoint the witness holds does not, and neither does the new bundle.
func TestRewrittenHistoryIsCaught(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		g := newLedger(t, open)
		published, err := g.l.Latest(ctx)
		require.NoError(t, err)

		// Rewrite document 1 from version 2 on, re-chaining every later event of it.
		stream := commands.DocumentStream(g.docs[1])
		recs, err := g.b.store.ReadStream(ctx, stream, 1, 0)
		require.NoError(t, err)
		prev := recs[0].Hash
		for i := 1; i < len(recs); i++ {
			r := recs[i]
			if i == 1 {
				r.Data = []byte(`{"n":"rewritten"}`)
			}
			eventstore.Seal(prev, &r)
			g.exec(t, `UPDATE events SET data = $1, prev_hash = $2, hash = $3 WHERE position = $4`, r.Data, r.PrevHash[:], r.Hash[:], r.Position)
			prev = r.Hash
		}
		for _, table := range []string{"tlog_tiles", "tlog_runs", "tlog_checkpoints"} {
			g.execTree(t, `DELETE FROM `+table)
		}
		g.execTree(t, `UPDATE tlog_state SET size = 0, position = 0, compact = $1`, []byte{})
		seedDocs(t, g.b.store, 1, 2) // and the log goes on: 14 events
		_, seq := sequencer(t, g.b, transparency.Options{Key: g.key})
		require.NoError(t, seq.CatchUp(ctx))

		chain, tree := g.audit(t)
		require.True(t, chain.OK, "the new chains are valid")
		require.True(t, tree.OK, "the new checkpoint matches the rewritten log")

		_, tree = g.audit(t, published.Note)
		assert.False(t, tree.OK, "the published checkpoint of size %d catches the rewrite", published.Size)
		assert.Contains(t, tree.Failure, "the log was changed")

		b := g.bundle(t, g.docs[1], published.Size)
		_, err = transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: g.key.Verifier})
		require.NoError(t, err, "alone, the new bundle is self-consistent")
		_, err = transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: g.key.Verifier, Earlier: [][]byte{published.Note}})
		assert.ErrorContains(t, err, "does not extend it")
	})
}

// TestEditedBundlesAreCaught: a bundle verifies offline as exported, and each edit fails with
// a message naming what failed.
func TestEditedBundlesAreCaught(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		g := newLedger(t, open)
		pin := transparency.VerifyOptions{PublicKey: g.key.Verifier}
		ok := g.bundle(t, g.docs[1])
		got, err := transparency.VerifyBundle(ok, pin)
		require.NoError(t, err)
		assert.Equal(t, 4, got.Events)
		assert.True(t, got.KeyPinned)

		other := testKey(t, "custody.test/log") // same origin, another key
		cp, err := g.l.Latest(ctx)
		require.NoError(t, err)
		forged, err := transparency.Sign(cp.Checkpoint, other.Signer)
		require.NoError(t, err)

		cases := []struct {
			name string
			edit func(b *transparency.Bundle)
			want string
		}{
			{"proof edited", func(b *transparency.Bundle) { b.Events[2].Proof[0][0] ^= 1 }, "inclusion proof at index"},
			{"payload edited", func(b *transparency.Bundle) { b.Events[1].Data = []byte(`{"n":7}`) }, "its hash does not match its content"},
			{"event withheld", func(b *transparency.Bundle) { b.Events = append(b.Events[:1], b.Events[2:]...) }, "versions 2 to 2 of the stream are missing"},
			{"first event withheld", func(b *transparency.Bundle) { b.Events = b.Events[1:] }, "does not start at the stream's first event"},
			{"checkpoint signed by another key", func(b *transparency.Bundle) {
				b.Checkpoint, b.PublicKey = string(forged), other.Public
			}, "checkpoint signature"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				b := g.bundle(t, g.docs[1])
				tc.edit(b)
				_, err := transparency.VerifyBundle(b, pin)
				assert.ErrorContains(t, err, tc.want)
			})
		}

		// Ranges: complete at both edges, or caught.
		rng, err := transparency.Export(ctx, g.b.store, g.l, transparency.Scope{From: 4, To: 9})
		require.NoError(t, err)
		_, err = transparency.VerifyBundle(rng, pin)
		require.NoError(t, err)
		assert.Len(t, rng.Events, 6)
		cut := *rng
		cut.Events = rng.Events[:5]
		_, err = transparency.VerifyBundle(&cut, pin)
		assert.ErrorContains(t, err, "the bundle has 5 events", "a cut tail")
		head := *rng
		head.Events = rng.Events[1:]
		_, err = transparency.VerifyBundle(&head, pin)
		assert.ErrorContains(t, err, "the range spans leaves", "a withheld first event")
	})
}
