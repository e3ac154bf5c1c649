package transparency_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/transparency"
)

// TestHeadsProveDocumentsComplete: a document bundle carries its stream's head in the
// checkpoint's heads tree, so a bundle missing the document's last events fails offline,
// whether the export was edited or the log lost the events after the checkpoint.
func TestHeadsProveDocumentsComplete(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		g := newLedger(t, open)
		pin := transparency.VerifyOptions{PublicKey: g.key.Verifier}
		b := g.bundle(t, g.docs[0])
		require.NotNil(t, b.Head)
		got, err := transparency.VerifyBundle(b, pin)
		require.NoError(t, err)
		assert.Equal(t, uint64(4), got.HeadVersion, "version 4 is the stream's head at the checkpoint")

		cp, err := g.l.Latest(context.Background())
		require.NoError(t, err)
		old := cp.Checkpoint // as signed before the heads existed
		old.Heads = nil
		oldNote, err := transparency.Sign(old, g.key.Signer)
		require.NoError(t, err)

		cases := []struct {
			name string
			edit func(b *transparency.Bundle)
			want string
		}{
			{"last event dropped from the export", func(b *transparency.Bundle) { b.Events = b.Events[:3] },
				"is incomplete: the bundle ends at version 3"},
			{"head taken back to the new last event", func(b *transparency.Bundle) {
				b.Events = b.Events[:3]
				last := b.Events[2]
				r := eventstore.Record{StreamID: last.StreamID, Version: last.Version, Position: last.Position, EventID: last.EventID, Hash: eventstore.Hash(last.Hash)}
				b.Head.Version, b.Head.Index, b.Head.LeafHash = last.Version, last.Index, transparency.LeafHash(&r)
			}, "does not lead to the checkpoint's heads root"},
			{"heads proof edited", func(b *transparency.Bundle) { b.Head.Proof[3][0] ^= 1 }, "does not lead to the checkpoint's heads root"},
			{"bucket size edited", func(b *transparency.Bundle) { b.Head.BucketSize++ }, "its proof in bucket"},
			{"head's version edited", func(b *transparency.Bundle) { b.Head.Version = 5 }, "does not lead to the checkpoint's heads root"},
			{"head of another stream", func(b *transparency.Bundle) { b.Head.StreamID = commands.DocumentStream(g.docs[1]) }, "the bundle's head is of stream"},
			{"head withheld", func(b *transparency.Bundle) { b.Head = nil }, "carries no head of the document's stream"},
			{"heads line changed", func(b *transparency.Bundle) {
				lines := strings.Split(b.Checkpoint, "\n")
				require.True(t, strings.HasPrefix(lines[3], transparency.HeadsExtension+" "), lines[3])
				lines[3] = transparency.HeadsExtension + " 2 " + lines[3][len(lines[3])-44:]
				b.Checkpoint = strings.Join(lines, "\n")
			}, "checkpoint signature"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				b := g.bundle(t, g.docs[0])
				tc.edit(b)
				_, err := transparency.VerifyBundle(b, pin)
				assert.ErrorContains(t, err, tc.want)
			})
		}

		t.Run("checkpoint without heads", func(t *testing.T) {
			b := g.bundle(t, g.docs[0])
			b.Checkpoint, b.Head = string(oldNote), nil
			b.Events = b.Events[:3]
			got, err := transparency.VerifyBundle(b, pin)
			require.NoError(t, err, "still verifies")
			assert.Zero(t, got.HeadVersion, "but its completeness is not shown")
		})

		t.Run("last event deleted from the log after the checkpoint", func(t *testing.T) {
			g.exec(t, `DELETE FROM events WHERE position = 10`) // document 0, version 4 of 4
			b := g.bundle(t, g.docs[0])
			require.Len(t, b.Events, 3)
			_, err := transparency.VerifyBundle(b, pin)
			assert.ErrorContains(t, err, "is incomplete: the bundle ends at version 3 (leaf 6) but the stream's head at the checkpoint of size 12 is version 4 (leaf 9)")
		})
	})
}

// TestHeadsAfterTheCheckpoint: a document written to after the latest checkpoint is exported
// as of the checkpoint, with its head there; one created after it is refused, saying so.
func TestHeadsAfterTheCheckpoint(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		g := newLedger(t, open)
		appendTo(t, g.b.store, commands.DocumentStream(g.docs[1]), `{"n":"later"}`)
		late := seedDocs(t, g.b.store, 1, 1)[0]
		// Sequenced, not yet checkpointed: the tree and the heads move past the checkpoint.
		_, seq := sequencer(t, g.b, transparency.Options{Key: g.key, CheckpointEvents: 1000, CheckpointEvery: 1 << 40})
		_, err := seq.Step(ctx)
		require.NoError(t, err)
		size, _, err := g.l.Size(ctx)
		require.NoError(t, err)
		require.Equal(t, uint64(14), size)

		b := g.bundle(t, g.docs[1])
		assert.Len(t, b.Events, 4, "the events up to the checkpoint")
		got, err := transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: g.key.Verifier})
		require.NoError(t, err)
		assert.Equal(t, uint64(4), got.HeadVersion)
		assert.Equal(t, uint64(12), got.Checkpoint.Size)

		_, err = transparency.Export(ctx, g.b.store, g.l, transparency.Scope{Document: &late})
		assert.ErrorIs(t, err, transparency.ErrNotCheckpointed)
		assert.ErrorContains(t, err, "has no event in the checkpoint of size 12 (it was created after it)")

		require.NoError(t, seq.CatchUp(ctx))
		b = g.bundle(t, g.docs[1])
		got, err = transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: g.key.Verifier})
		require.NoError(t, err)
		assert.Equal(t, uint64(5), got.HeadVersion, "after the next checkpoint")
		b = g.bundle(t, late)
		_, err = transparency.VerifyBundle(b, transparency.VerifyOptions{PublicKey: g.key.Verifier})
		require.NoError(t, err)
	})
}

// countingReader counts the events a sequencer reads from the log.
type countingReader struct {
	eventstore.LogReader
	n atomic.Int64
}

func (c *countingReader) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	recs, err := c.LogReader.ReadAll(ctx, after, limit)
	c.n.Add(int64(len(recs)))
	return recs, err
}

// TestHeadsResume: a restarted sequencer takes the stored heads instead of rereading the log,
// and its checkpoints' heads root equals one rebuilt from the whole log; a tree sequenced
// before the heads existed gets them from the log once.
func TestHeadsResume(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		g := newLedger(t, open)
		seedDocs(t, g.b.store, 4, 3) // 12 more events, 4 new streams, after the checkpoint of 12

		l, err := transparency.OpenLog(ctx, g.b.tree, g.b.dialect)
		require.NoError(t, err)
		reader := &countingReader{LogReader: g.b.store}
		require.NoError(t, transparency.NewSequencer(l, reader, transparency.Options{Key: g.key}).CatchUp(ctx))
		assert.Equal(t, int64(12), reader.n.Load(), "only the new events are read")
		cp, err := l.Latest(ctx)
		require.NoError(t, err)
		opened, err := transparency.Open(cp.Note, g.key.Verifier)
		require.NoError(t, err)
		require.NotNil(t, opened.Heads)
		assert.Equal(t, uint64(7), opened.Heads.Streams)

		_, tree := g.audit(t)
		require.True(t, tree.OK, "%+v", tree)
		assert.Equal(t, []uint64{24}, tree.Heads, "the heads root equals one rebuilt from the log")

		// A tree from before the heads: none stored.
		g.execTree(t, `DELETE FROM tlog_heads`)
		g.execTree(t, `DELETE FROM tlog_head_buckets`)
		g.execTree(t, `UPDATE tlog_heads_state SET size = 0, checkpoint = 0`)
		seedDocs(t, g.b.store, 1, 1)
		reader = &countingReader{LogReader: g.b.store}
		require.NoError(t, transparency.NewSequencer(l, reader, transparency.Options{Key: g.key}).CatchUp(ctx))
		assert.Equal(t, int64(24+1), reader.n.Load(), "the log read once for the heads, then the new event")
		_, tree = g.audit(t)
		require.True(t, tree.OK, "%+v", tree)
		assert.Equal(t, []uint64{25}, tree.Heads)
		for _, doc := range g.docs {
			_, err := transparency.VerifyBundle(g.bundle(t, doc), transparency.VerifyOptions{PublicKey: g.key.Verifier})
			require.NoError(t, err)
		}
	})
}

// TestVerifyComparesHeads: custody verify rebuilds the stream heads from the log and compares
// their root with each checkpoint's heads line.
func TestVerifyComparesHeads(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) backend) {
		ctx := context.Background()
		g := newLedger(t, open)
		_, tree := g.audit(t)
		require.True(t, tree.OK, "%+v", tree)
		assert.Equal(t, []uint64{12}, tree.Heads)

		cp, err := g.l.Latest(ctx)
		require.NoError(t, err)
		opened, err := transparency.Open(cp.Note, g.key.Verifier)
		require.NoError(t, err)
		wrong := opened
		wrong.Heads = &transparency.HeadsCommitment{Streams: opened.Heads.Streams, Root: make([]byte, 32)}
		held, err := transparency.Sign(wrong, g.key.Signer)
		require.NoError(t, err)
		_, tree = g.audit(t, held)
		assert.False(t, tree.OK)
		assert.Contains(t, tree.Failure, "do not give the heads root of the checkpoint of that size")
	})
}
