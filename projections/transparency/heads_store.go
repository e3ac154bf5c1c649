package transparency

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/custody-ledger/custody/eventstore"
)

// headBatch is the last event of each stream in one batch of leaves, staged until the batch
// commits.
type headBatch map[string]Head

func (b headBatch) add(r *eventstore.Record, index uint64, leaf []byte) {
	b[r.StreamID] = Head{StreamID: r.StreamID, Version: r.Version, Index: index, LeafHash: leaf}
}

// loadHeads makes s.heads the heads as of the tree's size: those in memory when they already
// are, else the stored ones (as of the size they were last stored at, with a checkpoint) with
// the leaves sequenced after that replayed from the log. A tree sequenced before the heads
// existed replays the whole log once.
func (s *Sequencer) loadHeads(ctx context.Context) error {
	if s.heads != nil && s.heads.size == s.st.size {
		return nil
	}
	var size, saved uint64
	if err := s.log.db.QueryRowContext(ctx, `SELECT size, checkpoint FROM tlog_heads_state WHERE id = 1`).Scan(&size, &saved); err != nil {
		return fmt.Errorf("transparency: heads state: %w", err)
	}
	if size > s.st.size {
		// Heads ahead of the tree: only a tree emptied under them (its down migration). Start
		// the heads over from the log.
		if err := s.resetHeads(ctx); err != nil {
			return err
		}
		size, saved = 0, 0
	}
	hs := newHeadSet()
	if size > 0 {
		var err error
		if hs, err = s.log.readHeads(ctx); err != nil {
			return err
		}
	}
	unstored, err := s.replayHeads(ctx, hs, size)
	if err != nil {
		return err
	}
	hs.size = s.st.size
	hs.commit()
	// The stored buckets are as of checkpoint saved: only those that moved since are due
	// (all that have heads when none were saved: a missing bucket row is an empty bucket).
	// The replayed heads are among those that moved: saved <= size <= their indexes.
	clear(hs.unsaved)
	switch saved {
	case 0:
		hs.markNonEmpty()
	case s.lastCP.Size:
		for b := range hs.buckets {
			for _, h := range hs.buckets[b].heads {
				if h.Index >= saved {
					hs.unsaved[uint64(b)] = true
					break
				}
			}
		}
	default:
		for b := range uint64(HeadBuckets) {
			hs.unsaved[b] = true
		}
	}
	s.heads, s.unstored, s.headsStored = hs, unstored, size
	return nil
}

// replayHeads sets in hs the heads of the leaves from index from to the tree's size, read
// from the log, and returns them (they are not stored yet).
func (s *Sequencer) replayHeads(ctx context.Context, hs *headSet, from uint64) (headBatch, error) {
	moved := headBatch{}
	if from == s.st.size {
		return moved, nil
	}
	s.opts.Logger.Info("transparency: replaying the stream heads from the log", "from", from, "to", s.st.size)
	var after uint64
	if from > 0 {
		var err error
		if after, err = s.log.positionOf(ctx, from-1); err != nil {
			return nil, fmt.Errorf("transparency: heads: %w", err)
		}
	}
	for idx := from; idx < s.st.size; {
		recs, err := s.store.ReadAll(ctx, after, int(min(s.st.size-idx, uint64(s.opts.BatchSize))))
		if err != nil {
			return nil, fmt.Errorf("transparency: heads: read the log after %d: %w", after, err)
		}
		if len(recs) == 0 {
			return nil, fmt.Errorf("transparency: heads: the log ends at %d leaves, the tree has %d", idx, s.st.size)
		}
		for i := range recs {
			moved.add(&recs[i], idx, LeafHash(&recs[i]))
			idx++
		}
		after = recs[len(recs)-1].Position
	}
	for _, h := range moved {
		hs.set(h)
	}
	return moved, nil
}

// resetHeads empties the stored heads and buckets.
func (s *Sequencer) resetHeads(ctx context.Context) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{`DELETE FROM tlog_heads`, `DELETE FROM tlog_head_buckets`, `UPDATE tlog_heads_state SET size = 0, checkpoint = 0 WHERE id = 1`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("transparency: heads: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("transparency: heads: commit: %w", err)
	}
	return nil
}

// markNonEmpty marks every bucket with heads as not yet stored.
func (s *headSet) markNonEmpty() {
	for b := range s.buckets {
		if len(s.buckets[b].heads) > 0 {
			s.unsaved[uint64(b)] = true
		}
	}
}

var (
	headColumns   = []column{{"bucket", "bigint"}, {"stream_id", "text"}, {"version", "bigint"}, {"idx", "bigint"}, {"leaf", "bytea"}}
	bucketColumns = []column{{"bucket", "bigint"}, {"streams", "bigint"}, {"root", "bytea"}}
)

// headsDue reports whether a sequencer without a key should store its heads with the batch
// that takes the tree to size: as often as checkpoints would be signed, so that a restart
// replays no more of the log than a checkpoint interval. (With a key they are stored with
// each checkpoint.)
func (s *Sequencer) headsDue(size uint64, now time.Time) bool {
	return s.opts.Key == nil && (size-s.headsStored >= s.opts.CheckpointEvents || now.Sub(s.headsStoredAt) >= s.opts.CheckpointEvery)
}

// storeHeads writes in tx the heads that moved since they were last stored (s.unstored, then
// batch), as of tree size size; with checkpoint, also the buckets that changed since the last
// checkpoint, as of it. The write is fenced on the stored size, and a checkpoint's on there
// being no newer checkpoint, so a deposed sequencer's late write changes nothing; wrote
// reports whether it went in. With a key only checkpoints write the heads; without one, the
// batches do at the checkpoint cadence (headsDue).
func (s *Sequencer) storeHeads(ctx context.Context, tx *sql.Tx, size uint64, batch headBatch, checkpoint bool) (wrote bool, err error) {
	q := `UPDATE tlog_heads_state SET size = $1 WHERE id = 1 AND size <= $1`
	if checkpoint {
		q = `UPDATE tlog_heads_state SET size = $1, checkpoint = $1
			WHERE id = 1 AND size <= $1 AND NOT EXISTS (SELECT 1 FROM tlog_checkpoints WHERE size > $1)`
	}
	res, err := tx.ExecContext(ctx, q, size)
	if err != nil {
		return false, fmt.Errorf("transparency: heads state: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	rows := make([][]any, 0, len(s.unstored)+len(batch))
	row := func(h Head) []any {
		return []any{int64(HeadBucket(h.StreamID)), h.StreamID, h.Version, h.Index, h.LeafHash}
	}
	for id, h := range s.unstored {
		if _, newer := batch[id]; !newer {
			rows = append(rows, row(h))
		}
	}
	for _, h := range batch {
		rows = append(rows, row(h))
	}
	// In key order, the upserts walk the table's B-tree once instead of jumping about it.
	slices.SortFunc(rows, func(a, b []any) int {
		return cmp.Or(cmp.Compare(a[0].(int64), b[0].(int64)), strings.Compare(a[1].(string), b[1].(string)))
	})
	if err := upsertRows(ctx, tx, s.log.dialect, "tlog_heads", headColumns, 2, rows); err != nil {
		return false, err
	}
	if !checkpoint {
		return true, nil
	}
	rows = make([][]any, 0, len(s.heads.unsaved))
	for _, b := range slices.Sorted(maps.Keys(s.heads.unsaved)) {
		bk := &s.heads.buckets[b]
		rows = append(rows, []any{int64(b), len(bk.heads), bk.root})
	}
	return true, upsertRows(ctx, tx, s.log.dialect, "tlog_head_buckets", bucketColumns, 1, rows)
}

// applyHeads takes a committed batch into the heads in memory; stored says whether its
// transaction stored the heads.
func (s *Sequencer) applyHeads(batch headBatch, size uint64, stored bool, now time.Time) {
	for id, h := range batch {
		s.heads.set(h)
		if !stored {
			s.unstored[id] = h
		}
	}
	s.heads.size = size
	if stored {
		s.stored(size, now)
	}
}

// stored records that the heads as of size are in tlog_heads.
func (s *Sequencer) stored(size uint64, now time.Time) {
	clear(s.unstored)
	s.headsStored, s.headsStoredAt = size, now
}

// readHeads reads every stored head.
func (l *Log) readHeads(ctx context.Context) (*headSet, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT stream_id, version, idx, leaf FROM tlog_heads`)
	if err != nil {
		return nil, fmt.Errorf("transparency: heads: %w", err)
	}
	defer rows.Close()
	hs := newHeadSet()
	for rows.Next() {
		var h Head
		if err := rows.Scan(&h.StreamID, &h.Version, &h.Index, &h.LeafHash); err != nil {
			return nil, fmt.Errorf("transparency: heads: %w", err)
		}
		hs.set(h)
	}
	return hs, rows.Err()
}

// headsCheckpoint is the newest checkpoint whose heads are stored, with the top tree's
// leaves as of it. With none (no checkpoint signed with heads yet) it is the latest
// checkpoint and leaves is nil.
func (l *Log) headsCheckpoint(ctx context.Context) (cp Signed, leaves [][]byte, err error) {
	saved := func() (uint64, error) {
		var n uint64
		err := l.db.QueryRowContext(ctx, `SELECT checkpoint FROM tlog_heads_state WHERE id = 1`).Scan(&n)
		return n, err
	}
	for range 5 {
		at, err := saved()
		if err != nil {
			return cp, nil, fmt.Errorf("transparency: heads state: %w", err)
		}
		if at == 0 {
			cp, err := l.Latest(ctx)
			return cp, nil, err
		}
		if cp, err = l.CheckpointAt(ctx, at); err != nil {
			return cp, nil, err
		}
		if leaves, err = l.bucketLeaves(ctx); err != nil {
			return cp, nil, err
		}
		// The buckets and the checkpoint they are as of are written in one transaction: if
		// it did not move while they were read, they belong together.
		if again, err := saved(); err != nil || again == at {
			return cp, leaves, err
		}
	}
	return cp, nil, errors.New("transparency: the stream heads kept moving; try again")
}

func (l *Log) bucketLeaves(ctx context.Context) ([][]byte, error) {
	leaves := make([][]byte, HeadBuckets)
	empty := bucketLeaf(0, hasher.EmptyRoot())
	for i := range leaves {
		leaves[i] = empty
	}
	rows, err := l.db.QueryContext(ctx, `SELECT bucket, streams, root FROM tlog_head_buckets`)
	if err != nil {
		return nil, fmt.Errorf("transparency: head buckets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			b, n uint64
			root []byte
		)
		if err := rows.Scan(&b, &n, &root); err != nil {
			return nil, fmt.Errorf("transparency: head buckets: %w", err)
		}
		if b >= HeadBuckets {
			return nil, fmt.Errorf("transparency: head bucket %d", b)
		}
		leaves[b] = bucketLeaf(n, root)
	}
	return leaves, rows.Err()
}

// proveHeadAt proves stream's head as of checkpoint cp: the stored heads of its bucket, those
// that moved after cp taken back to their event at or before it (read from the log), and
// the other buckets' leaves as of cp.
func (l *Log) proveHeadAt(ctx context.Context, store eventstore.Store, stream string, cp Signed, leaves [][]byte) (*HeadProof, error) {
	b := HeadBucket(stream)
	rows, err := l.db.QueryContext(ctx, `SELECT stream_id, version, idx, leaf FROM tlog_heads WHERE bucket = $1`, int64(b))
	if err != nil {
		return nil, fmt.Errorf("transparency: heads: %w", err)
	}
	var heads, moved []Head
	for rows.Next() {
		var h Head
		if err := rows.Scan(&h.StreamID, &h.Version, &h.Index, &h.LeafHash); err != nil {
			rows.Close()
			return nil, fmt.Errorf("transparency: heads: %w", err)
		}
		if h.Index < cp.Size {
			heads = append(heads, h)
		} else {
			moved = append(moved, h)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, h := range moved {
		at, ok, err := l.headAt(ctx, store, h.StreamID, cp)
		if err != nil {
			return nil, err
		}
		if ok {
			heads = append(heads, at)
		}
	}
	hs := newHeadSet() // sorts the bucket
	for _, h := range heads {
		hs.set(h)
	}
	bucket := hs.buckets[b].heads
	leaves = append([][]byte(nil), leaves...)
	leaves[b] = bucketLeaf(uint64(len(bucket)), bucketRoot(bucket))
	return proveHead(stream, bucket, leaves)
}

// headAt is a stream's last event covered by checkpoint cp, read from the log (ok false when
// the stream has none).
func (l *Log) headAt(ctx context.Context, store eventstore.Store, stream string, cp Signed) (Head, bool, error) {
	recs, err := store.ReadStream(ctx, stream, 1, 0)
	if err != nil {
		return Head{}, false, fmt.Errorf("transparency: heads: read %s: %w", stream, err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		r := &recs[i]
		if r.Position > cp.Position {
			continue
		}
		idx, err := l.Index(ctx, r.Position)
		if err != nil {
			return Head{}, false, err
		}
		return Head{StreamID: stream, Version: r.Version, Index: idx, LeafHash: LeafHash(r)}, true, nil
	}
	return Head{}, false, nil
}

// noteHeads is the heads commitment in a stored checkpoint's note (nil without one); the
// signature is not checked here.
func noteHeads(n []byte) (*HeadsCommitment, error) {
	i := bytes.Index(n, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("transparency: a checkpoint note without signatures")
	}
	c, err := parseBody(string(n[:i+1]))
	return c.Heads, err
}
