package eventstore

import (
	"context"
	"errors"
	"fmt"
)

// Break describes the first place where a hash chain does not hold.
type Break struct {
	StreamID string `json:"stream_id"`
	Version  uint64 `json:"version"`
	Position uint64 `json:"position"`
	Reason   string `json:"reason"`
}

// Report is the result of a verification.
type Report struct {
	OK      bool   `json:"ok"`
	Streams int    `json:"streams"`
	Events  uint64 `json:"events"`
	Break   *Break `json:"break,omitempty"`
}

const verifyPage = 1000

// VerifyStream walks one stream and reports the first break in its hash chain.
func VerifyStream(ctx context.Context, s Store, stream string) (Report, error) {
	var (
		rep  = Report{OK: true, Streams: 1}
		prev Hash
		next uint64 = 1
	)
	for {
		recs, err := s.ReadStream(ctx, stream, next, verifyPage)
		if errors.Is(err, ErrNotFound) && next > 1 {
			return rep, nil
		}
		if err != nil {
			return rep, fmt.Errorf("verify %s: %w", stream, err)
		}
		for i := range recs {
			if b := check(&recs[i], prev, next); b != nil {
				rep.OK, rep.Break = false, b
				return rep, nil
			}
			prev, next = recs[i].Hash, next+1
			rep.Events++
		}
		if len(recs) < verifyPage {
			return rep, nil
		}
	}
}

// VerifyAll walks the global log and reports the first break in any stream's chain.
func VerifyAll(ctx context.Context, s Store) (Report, error) {
	type tip struct {
		hash    Hash
		version uint64
	}
	var (
		rep   = Report{OK: true}
		tips  = map[string]tip{}
		after uint64
	)
	for {
		recs, err := s.ReadAll(ctx, after, verifyPage)
		if err != nil {
			return rep, fmt.Errorf("verify log: %w", err)
		}
		for i := range recs {
			r := &recs[i]
			t := tips[r.StreamID]
			if r.Position <= after {
				rep.OK, rep.Break = false, &Break{StreamID: r.StreamID, Version: r.Version, Position: r.Position,
					Reason: fmt.Sprintf("position %d does not follow %d", r.Position, after)}
				return rep, nil
			}
			if b := check(r, t.hash, t.version+1); b != nil {
				rep.OK, rep.Break = false, b
				return rep, nil
			}
			tips[r.StreamID] = tip{hash: r.Hash, version: r.Version}
			after = r.Position
			rep.Events++
		}
		rep.Streams = len(tips)
		if len(recs) < verifyPage {
			return rep, nil
		}
	}
}

func check(r *Record, prev Hash, wantVersion uint64) *Break {
	b := &Break{StreamID: r.StreamID, Version: r.Version, Position: r.Position}
	switch {
	case r.Version != wantVersion:
		b.Reason = fmt.Sprintf("version %d where %d was expected (gap or reordering)", r.Version, wantVersion)
	case r.PrevHash != prev:
		b.Reason = "prev_hash does not match the previous event's hash"
	case ChainHash(prev, r) != r.Hash:
		b.Reason = "hash does not match the event's content"
	default:
		return nil
	}
	return b
}
