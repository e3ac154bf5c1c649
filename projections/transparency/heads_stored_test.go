package transparency_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections/transparency"
)

// storedHeads is tlog_heads_state (the tree size the stored heads are as of, and the
// checkpoint their buckets are as of) and the stored version of stream's head (0: none).
func (g *ledger) storedHeads(t *testing.T, stream string) (size, checkpoint, version uint64) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, g.b.tree.QueryRowContext(ctx, `SELECT size, checkpoint FROM tlog_heads_state WHERE id = 1`).Scan(&size, &checkpoint))
	err := g.b.tree.QueryRowContext(ctx, `SELECT version FROM tlog_heads WHERE stream_id = $1`, stream).Scan(&version)
	if err != nil {
		version = 0
	}
	return size, checkpoint, version
}

// TestHeadsStoredWithCheckpoints: the sequencer's batches do not write the stream heads (so
// appends do not pay for them); each checkpoint stores them with its buckets; a restarted
// sequencer replays only the leaves after the stored heads; a deposed sequencer's late
// checkpoint stores nothing of the heads; and every checkpoint's heads root still equals one
// rebuilt from the log.
func TestHeadsStoredWithCheckpoints(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		g := newLedger(t, open) // 12 events, a checkpoint of 12 with the heads
		doc := commands.DocumentStream(g.docs[0])
		size, cp, v := g.storedHeads(t, doc)
		require.Equal(t, [3]uint64{12, 12, 4}, [3]uint64{size, cp, v})

		// A batch without a checkpoint due leaves the stored heads alone.
		manual := transparency.Options{Key: g.key, CheckpointEvents: 1000, CheckpointEvery: 1 << 40}
		appendTo(t, g.b.store, doc, `{"n":"a"}`)
		appendTo(t, g.b.store, doc, `{"n":"b"}`)
		late := seedDocs(t, g.b.store, 1, 2)[0]
		_, a := sequencer(t, g.b, manual)
		n, err := a.Step(ctx)
		require.NoError(t, err)
		require.Equal(t, 4, n)
		size, cp, v = g.storedHeads(t, doc)
		assert.Equal(t, [3]uint64{12, 12, 4}, [3]uint64{size, cp, v}, "heads not written by the batch")
		_, _, lv := g.storedHeads(t, commands.DocumentStream(late))
		assert.Zero(t, lv)

		// A restarted sequencer replays leaves 12..15 for the heads, then reads the new event.
		appendTo(t, g.b.store, doc, `{"n":"c"}`)
		reader := &countingReader{LogReader: g.b.store}
		b := transparency.NewSequencer(g.l, reader, manual)
		require.NoError(t, b.CatchUp(ctx))
		assert.Equal(t, int64(4+1), reader.n.Load(), "the leaves after the stored heads, then the new event")
		size, cp, v = g.storedHeads(t, doc)
		assert.Equal(t, [3]uint64{17, 17, 7}, [3]uint64{size, cp, v}, "stored with the checkpoint")
		_, _, lv = g.storedHeads(t, commands.DocumentStream(late))
		assert.Equal(t, uint64(2), lv)
		_, tree := g.audit(t)
		require.True(t, tree.OK, "%+v", tree)
		assert.Equal(t, []uint64{17}, tree.Heads, "the latest checkpoint's heads root equals the log's")

		// Sequencer a, deposed: b moved the tree on and checkpointed; a's late checkpoint of
		// its own size (16) is refused for the heads.
		stored, err := a.CheckpointNow(ctx)
		require.NoError(t, err)
		assert.True(t, stored, "the checkpoint itself is a valid one of a smaller tree")
		size, cp, v = g.storedHeads(t, doc)
		assert.Equal(t, [3]uint64{17, 17, 7}, [3]uint64{size, cp, v}, "the heads are not taken back")
		_, tree = g.audit(t)
		require.True(t, tree.OK, "%+v", tree)
		assert.Equal(t, []uint64{17}, tree.Heads)
		for _, d := range append(g.docs, late) {
			got, err := transparency.VerifyBundle(g.bundle(t, d), transparency.VerifyOptions{PublicKey: g.key.Verifier})
			require.NoError(t, err)
			assert.Equal(t, uint64(17), got.Checkpoint.Size)
		}
	})
}

// TestHeadsStoredWithoutKey: a sequencer without a key (no checkpoints) stores the heads as
// often as it would sign checkpoints, so a restart replays at most that much of the log.
func TestHeadsStoredWithoutKey(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		b := open(t)
		l, seq := sequencer(t, b, transparency.Options{CheckpointEvents: 5, CheckpointEvery: 1 << 40, BatchSize: 3})
		g := &ledger{b: b, l: l}
		docs := seedDocs(t, b.store, 2, 4) // 8 events
		require.NoError(t, seq.CatchUp(ctx))
		size, cp, v := g.storedHeads(t, commands.DocumentStream(docs[1]))
		assert.Zero(t, cp, "no checkpoints without a key")
		assert.Less(t, uint64(8)-size, uint64(5), "at most an interval behind")
		assert.NotZero(t, v)

		reader := &countingReader{LogReader: b.store}
		require.NoError(t, transparency.NewSequencer(l, reader, transparency.Options{CheckpointEvents: 5, CheckpointEvery: 1 << 40}).CatchUp(ctx))
		assert.Equal(t, int64(8-size), reader.n.Load(), "only the leaves after the stored heads are replayed")
	})
}
