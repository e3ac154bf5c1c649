package esdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/custody-ledger/custody/eventstore"
)

// Subscribe calls fn for every event of the ledger's streams with Position > after, in order,
// exactly once, until ctx ends or fn fails.
//
// It first catches up by reading (which also turns after into a $all position the server
// accepts), then keeps a catch-up subscription to $all, filtered on the server by the ledger's
// stream prefixes, from the last position it has seen. When the subscription drops (leader
// change, network, server restart) it waits with a doubling backoff and subscribes again from
// the last event delivered; events at or before that position are skipped, so none is delivered
// twice and none is skipped. The filter's checkpoints are not used to move the resume point:
// their positions need not be event positions the server accepts back, and resuming from the
// last delivered event costs at most a server-side re-scan of other streams' events.
func (s *Store) Subscribe(ctx context.Context, after uint64, fn func(eventstore.Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	last := after
	deliver := func(r eventstore.Record) error {
		if r.Position <= last {
			return nil
		}
		if err := fn(r); err != nil {
			return err
		}
		last = r.Position
		return nil
	}

	// The end of $all before the first read: if that read finds nothing at all, every event
	// up to here is at or before after, so subscribing from here misses nothing.
	end, err := retryTransient(ctx, s, func() (*kdb.Position, error) { return s.lastRaw(ctx) })
	if err != nil {
		return err
	}
	cursor, err := s.catchUp(ctx, after, deliver)
	if err != nil {
		return err
	}
	if cursor == nil {
		cursor = end
	}

	wait := s.cfg.backoffMin
	for {
		delivered, c, dropped, err := s.follow(ctx, cursor, deliver)
		if c != nil {
			cursor = c
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !dropped || !retryableDrop(err) {
			return err
		}
		if delivered {
			wait = s.cfg.backoffMin
		}
		s.cfg.logger.Info("esdb: subscription dropped; resubscribing", "after", last, "wait", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, s.cfg.backoffMax)
	}
}

// catchUp delivers the log after after, page by page, and returns the $all position of the
// last event read (nil if none). Unavailable reads are retried with backoff.
func (s *Store) catchUp(ctx context.Context, after uint64, deliver func(eventstore.Record) error) (*kdb.Position, error) {
	var cursor *kdb.Position
	for {
		type page struct {
			recs []eventstore.Record
			cur  *kdb.Position
		}
		pg, err := retryTransient(ctx, s, func() (*page, error) {
			var (
				recs []eventstore.Record
				cur  *kdb.Position
				err  error
			)
			if cursor == nil {
				recs, cur, err = s.scanAfter(ctx, after, eventstore.FollowPage)
			} else {
				recs, cur, err = s.scan(ctx, *cursor, after, eventstore.FollowPage)
			}
			return &page{recs, cur}, err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range pg.recs {
			if err := deliver(r); err != nil {
				return nil, err
			}
			after = r.Position
		}
		if pg.cur != nil {
			cursor = pg.cur
		}
		if len(pg.recs) < eventstore.FollowPage {
			return cursor, nil
		}
	}
}

// follow runs one subscription from cursor until it drops, ctx ends or deliver fails. It
// reports whether it delivered anything, the position of the last event it received and
// whether the error is the subscription's (as opposed to fn's or a record's).
func (s *Store) follow(ctx context.Context, cursor *kdb.Position, deliver func(eventstore.Record) error) (delivered bool, last *kdb.Position, dropped bool, err error) {
	var from kdb.AllPosition = kdb.Start{}
	if cursor != nil {
		from = *cursor
	} else if s.cfg.logStart != nil {
		from = *s.cfg.logStart
	}
	sub, err := s.client.SubscribeToAll(ctx, kdb.SubscribeToAllOptions{
		From:   from,
		Filter: &kdb.SubscriptionFilter{Type: kdb.StreamFilterType, Prefixes: s.cfg.filterPrefixes()},
	})
	if err != nil {
		return false, nil, true, mapError(ctx, "subscribe", err)
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return delivered, cursor, true, mapError(ctx, "subscription", ev.SubscriptionDropped.Error)
		case ev.EventAppeared != nil:
			re := ev.EventAppeared
			if re.OriginalEvent() == nil {
				continue
			}
			p := allPos(re)
			if cursor != nil && !posAfter(p, *cursor) {
				continue // a subscription that starts inclusively
			}
			cursor = &p
			stream, ok := s.ours(re)
			if !ok {
				continue
			}
			pos, ok := eventPosition(re)
			if !ok {
				return delivered, cursor, false, fmt.Errorf("esdb: subscription: event %s has no $all position", re.OriginalEvent().EventID)
			}
			st, err := decodeEvent(re.OriginalEvent(), stream, pos)
			if err != nil {
				return delivered, cursor, false, err
			}
			if err := deliver(st.rec); err != nil {
				return delivered, cursor, false, err
			}
			delivered = true
		}
		// Checkpoints, caught-up and fell-behind notices carry nothing to deliver.
	}
}

// retryableDrop reports whether to subscribe again after a failed or dropped subscription:
// always, except for a closed store and a refused login or permission, which need an operator.
// A long-running follower must outlive leader elections, restarts and network partitions,
// whatever error the client reports for them.
func retryableDrop(err error) bool {
	if errors.Is(err, ErrClosed) {
		return false
	}
	var ke *kdb.Error
	if errors.As(err, &ke) {
		switch ke.Code() {
		case kdb.ErrorCodeAccessDenied, kdb.ErrorCodeUnauthenticated:
			return false
		}
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		switch se.GRPCStatus().Code() {
		case codes.PermissionDenied, codes.Unauthenticated:
			return false
		}
	}
	return true
}

// retryTransient runs fn until it succeeds, fails otherwise, or ctx ends, waiting with backoff
// between Unavailable failures.
func retryTransient[T any](ctx context.Context, s *Store, fn func() (T, error)) (T, error) {
	wait := s.cfg.backoffMin
	for {
		v, err := fn()
		if err == nil || !isTransient(err) || ctx.Err() != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				var zero T
				return zero, ctxErr
			}
			return v, err
		}
		s.cfg.logger.Info("esdb: read failed; retrying", "wait", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			var zero T
			return zero, err
		}
		wait = min(2*wait, s.cfg.backoffMax)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
