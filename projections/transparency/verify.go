package transparency

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/note"

	"github.com/custody-ledger/custody/eventstore"
)

// TreeReport is the result of rebuilding the tree from the log.
type TreeReport struct {
	OK          bool     `json:"ok"`
	Leaves      uint64   `json:"leaves"`      // events read from the log to rebuild the roots
	Checkpoints []uint64 `json:"checkpoints"` // the checkpoint sizes compared
	// Heads are the checkpoint sizes whose stream-heads root was also compared (those signed
	// with a heads line).
	Heads   []uint64 `json:"heads,omitempty"`
	Failure string   `json:"failure,omitempty"`
	// Position is the first event whose leaf differs from the sequenced tree's, when found.
	Position uint64 `json:"position,omitempty"`
	// KeyPinned: the checkpoints were opened with a key the caller gave, not the stored one.
	KeyPinned bool `json:"key_pinned"`
}

// VerifyLog rebuilds the tree and the stream heads from the log and compares the tree's root
// and the heads root at each checkpoint's size with the checkpoint (whose signatures the
// caller has checked). l, when given, is the stored
// tree, used only to name the first event that differs from what was sequenced.
func VerifyLog(ctx context.Context, store eventstore.LogReader, l *Log, cps []Checkpoint) (TreeReport, error) {
	cps = slices.Clone(cps)
	slices.SortFunc(cps, func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	rep := TreeReport{OK: true}
	if len(cps) == 0 {
		return rep, nil
	}
	rng := factory.NewEmptyRange(0)
	heads := newHeadSet()
	next := 0
	check := func() error {
		for next < len(cps) && cps[next].Size == rng.End() {
			root, err := rng.GetRootHash(nil)
			if err != nil {
				return err
			}
			rep.Checkpoints = append(rep.Checkpoints, cps[next].Size)
			if !bytes.Equal(root, cps[next].Root) && rep.OK {
				rep.OK = false
				rep.Failure = fmt.Sprintf("the log's first %d events do not give the root of the checkpoint of that size: the log was changed", cps[next].Size)
			}
			if want := cps[next].Heads; want != nil {
				got := heads.commit()
				rep.Heads = append(rep.Heads, cps[next].Size)
				if (got.Streams != want.Streams || !bytes.Equal(got.Root, want.Root)) && rep.OK {
					rep.OK = false
					rep.Failure = fmt.Sprintf("the stream heads of the log's first %d events (%d streams) do not give the heads root of the checkpoint of that size (%d streams)",
						cps[next].Size, got.Streams, want.Streams)
				}
			}
			next++
		}
		return nil
	}
	if err := check(); err != nil { // a checkpoint of size 0
		return rep, err
	}
	last := cps[len(cps)-1].Size
	var after uint64
	for rng.End() < last {
		recs, err := store.ReadAll(ctx, after, int(min(last-rng.End(), 5000)))
		if err != nil {
			return rep, fmt.Errorf("transparency: verify: read the log: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for i := range recs {
			r := &recs[i]
			leaf := LeafHash(r)
			heads.set(Head{StreamID: r.StreamID, Version: r.Version, Index: rng.End(), LeafHash: leaf})
			if err := rng.Append(leaf, nil); err != nil {
				return rep, err
			}
			if err := check(); err != nil {
				return rep, err
			}
		}
		after = recs[len(recs)-1].Position
	}
	rep.Leaves = rng.End()
	if rng.End() < last && rep.OK {
		rep.OK = false
		rep.Failure = fmt.Sprintf("the log has %d events but a checkpoint commits to %d: events were deleted", rng.End(), last)
	}
	if !rep.OK && l != nil {
		pos, err := firstDifference(ctx, store, l, rng.End())
		if err != nil {
			return rep, err
		}
		rep.Position = pos
	}
	return rep, nil
}

// firstDifference is the position of the first of the log's first n events whose leaf is not
// the sequenced leaf at its index (0 if all match).
func firstDifference(ctx context.Context, store eventstore.LogReader, l *Log, n uint64) (uint64, error) {
	var after, idx uint64
	for idx < n {
		recs, err := store.ReadAll(ctx, after, int(min(n-idx, 500)))
		if err != nil || len(recs) == 0 {
			return 0, err
		}
		stored, err := l.leafHashes(ctx, idx, uint64(len(recs)))
		if err != nil {
			return 0, err
		}
		for i := range recs {
			if h, ok := stored[idx+uint64(i)]; !ok || !bytes.Equal(h, LeafHash(&recs[i])) {
				return recs[i].Position, nil
			}
		}
		idx += uint64(len(recs))
		after = recs[len(recs)-1].Position
	}
	return 0, nil
}

// VerifyCheckpoints rebuilds the tree from the log and compares it with the latest stored
// checkpoint and with any signed checkpoints held elsewhere (a witness's), each opened with
// v: a checkpoint it cannot open is itself a failure.
func VerifyCheckpoints(ctx context.Context, store eventstore.LogReader, l *Log, v note.Verifier, held ...[]byte) (TreeReport, error) {
	var cps []Checkpoint
	latest, err := l.Latest(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return TreeReport{}, err
	default:
		held = append([][]byte{latest.Note}, held...)
	}
	for i, n := range held {
		cp, err := Open(n, v)
		if err != nil {
			what := "the latest stored checkpoint"
			if i > 0 || latest.Note == nil {
				what = "a held checkpoint"
			}
			return TreeReport{Failure: fmt.Sprintf("%s: %v", what, err)}, nil
		}
		cps = append(cps, cp)
	}
	return VerifyLog(ctx, store, l, cps)
}
