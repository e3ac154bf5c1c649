package esdb

import (
	"context"
	"fmt"
	"strings"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/custody-ledger/custody/eventstore"
)

// The global log is $all: the server's transaction log in commit order, which on the leader
// holds only committed events (reads stop at the last indexed position), so no earlier position
// can still commit behind a reader. The client has no server-side filter for reads (only for
// subscriptions), so reads filter by stream prefix here.

// readAllFunc reads up to n events of $all in opts' direction from opts' position, calling fn
// for each until it returns false. The client does it in production; tests give a synthetic
// log to check the paging and filtering below.
type readAllFunc func(ctx context.Context, opts kdb.ReadAllOptions, n uint64, fn func(*kdb.ResolvedEvent) (bool, error)) error

func (s *Store) clientReadAll(ctx context.Context, opts kdb.ReadAllOptions, n uint64, fn func(*kdb.ResolvedEvent) (bool, error)) error {
	rs, err := s.client.ReadAll(ctx, opts, n)
	if err != nil {
		return err
	}
	defer rs.Close()
	return recvAll(rs, fn)
}

// ours maps a $all event to its port stream, reporting whether it is one of the ledger's.
func (s *Store) ours(re *kdb.ResolvedEvent) (string, bool) {
	ev := re.OriginalEvent()
	if ev == nil || strings.HasPrefix(ev.EventType, "$") {
		return "", false
	}
	return s.portStream(ev.StreamID)
}

// origin is where a scan of the ledger's log starts.
func (s *Store) origin() kdb.AllPosition {
	if s.cfg.logStart != nil {
		return *s.cfg.logStart
	}
	return kdb.Start{}
}

// startFor is where reading the log after position after starts. Positions of our records are
// $all positions (commit = prepare for events written without explicit transactions).
func (s *Store) startFor(after uint64) kdb.AllPosition {
	if after == 0 || (s.cfg.logStart != nil && after < s.cfg.logStart.Commit) {
		return s.origin()
	}
	return kdb.Position{Commit: after, Prepare: after}
}

// ReadAll returns up to limit events of the ledger's streams with Position > after.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("esdb: read log: %w", err)
	}
	recs, _, err := s.scanAfter(ctx, after, limit)
	return recs, err
}

// scanAfter reads the log after a port position. The server refuses to read $all from a
// position that is not the start of a record; a caller may pass any number (a position past
// the head, say), so on such a refusal the scan starts again from the origin, skipping up to
// after. It also returns the $all position of the last event it read (nil if none): a valid
// place to continue from.
func (s *Store) scanAfter(ctx context.Context, after uint64, limit int) ([]eventstore.Record, *kdb.Position, error) {
	from := s.startFor(after)
	recs, cur, err := s.scan(ctx, from, after, limit)
	if err != nil && after != 0 && ctx.Err() == nil && !isTransient(err) && from != s.origin() {
		s.cfg.logger.Debug("esdb: $all refused the position; scanning from the origin", "after", after, "err", err)
		recs, cur, err = s.scan(ctx, s.origin(), after, limit)
	}
	return recs, cur, err
}

// scan reads $all forwards from from (inclusive, as the server reads), in pages, keeping the
// ledger's events with Position > after, until limit records or the end of $all.
func (s *Store) scan(ctx context.Context, from kdb.AllPosition, after uint64, limit int) ([]eventstore.Record, *kdb.Position, error) {
	var (
		out []eventstore.Record
		cur *kdb.Position
	)
	for {
		n, full := 0, false
		err := s.readAll(ctx, kdb.ReadAllOptions{Direction: kdb.Forwards, From: from}, uint64(s.allPage), func(re *kdb.ResolvedEvent) (bool, error) {
			n++
			p := allPos(re)
			if cur != nil && !posAfter(p, *cur) {
				return true, nil // the page's first event is the last one of the page before
			}
			cur = &p
			stream, ok := s.ours(re)
			if !ok {
				return true, nil
			}
			pos, ok := eventPosition(re)
			if !ok || pos <= after {
				return true, nil
			}
			st, err := decodeEvent(re.OriginalEvent(), stream, pos)
			if err != nil {
				return false, err
			}
			out = append(out, st.rec)
			full = limit > 0 && len(out) >= limit
			return !full, nil
		})
		if err != nil {
			return nil, nil, mapError(ctx, "read $all", err)
		}
		if full || n < s.allPage || cur == nil {
			return out, cur, nil
		}
		from = *cur
	}
}

// Head returns the position of the ledger's last event (0 if none), reading $all backwards.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("esdb: head: %w", err)
	}
	var (
		from kdb.AllPosition = kdb.End{}
		cur  *kdb.Position
	)
	for {
		var (
			n    int
			head uint64
			past bool // before the origin: nothing of ours can be older
		)
		err := s.readAll(ctx, kdb.ReadAllOptions{Direction: kdb.Backwards, From: from}, uint64(s.allPage), func(re *kdb.ResolvedEvent) (bool, error) {
			n++
			p := allPos(re)
			if cur != nil && !posAfter(*cur, p) {
				return true, nil
			}
			cur = &p
			if s.cfg.logStart != nil && posAfter(*s.cfg.logStart, p) {
				past = true
				return false, nil
			}
			if _, ok := s.ours(re); !ok {
				return true, nil
			}
			if pos, ok := eventPosition(re); ok {
				head = pos
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			return 0, mapError(ctx, "head", err)
		}
		if head != 0 || past || n < s.allPage || cur == nil {
			return head, nil
		}
		from = *cur
	}
}

// lastRaw returns the $all position of the server's last event of any stream (nil if $all is
// empty); Open uses it to check the connection, Subscribe as a safe starting point.
func (s *Store) lastRaw(ctx context.Context) (*kdb.Position, error) {
	var last *kdb.Position
	err := s.readAll(ctx, kdb.ReadAllOptions{Direction: kdb.Backwards, From: kdb.End{}}, 1, func(re *kdb.ResolvedEvent) (bool, error) {
		p := allPos(re)
		last = &p
		return false, nil
	})
	if err != nil {
		return nil, mapError(ctx, "read $all", err)
	}
	return last, nil
}
