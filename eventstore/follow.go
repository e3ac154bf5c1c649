package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LogReader is the part of a Store that Follow needs.
type LogReader interface {
	ReadAll(ctx context.Context, after uint64, limit int) ([]Record, error)
}

// FollowPage is how many records Follow asks ReadAll for at a time.
const FollowPage = 512

// unavailableRetry is how long Follow waits before retrying a read that failed with
// ErrUnavailable when the caller set no poll interval.
const unavailableRetry = time.Second

// Follow calls fn for every record of r's global log with Position > after, in order, exactly
// once: it catches up in pages of FollowPage, then waits for a signal on wake or for the poll
// interval, whichever comes first, and reads again. Adapters implement Subscribe with it.
//
// wake should be a channel with a buffer of one that committers signal without blocking (see
// Notifier.Listen): a commit that lands between a read and the wait then leaves its token in
// the buffer, so no wake-up is lost. A nil wake means polling only; poll <= 0 means no polling
// (wake only). Reads that fail with ErrUnavailable are retried; Follow returns ctx.Err() when
// ctx ends, fn's error when fn fails, and any other read error.
func Follow(ctx context.Context, r LogReader, after uint64, wake <-chan struct{}, poll time.Duration, fn func(Record) error) error {
	if wake == nil && poll <= 0 {
		return fmt.Errorf("eventstore: follow: %w: neither a wake channel nor a poll interval", ErrInvalid)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// wait blocks until a wake signal, the timeout d (if > 0) or the end of ctx.
	wait := func(d time.Duration) error {
		var tick <-chan time.Time
		if d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d) // Go >= 1.23: Reset on an unstopped timer drops any stale tick.
			}
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-tick:
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		recs, err := r.ReadAll(ctx, after, FollowPage)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if errors.Is(err, ErrUnavailable) {
				d := poll
				if d <= 0 {
					d = unavailableRetry
				}
				if err := wait(d); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("eventstore: follow after %d: %w", after, err)
		}
		for i := range recs {
			// A store that hands back an old position would make fn see an event twice.
			if recs[i].Position <= after {
				return fmt.Errorf("eventstore: follow: position %d does not follow %d", recs[i].Position, after)
			}
			if err := fn(recs[i]); err != nil {
				return err
			}
			after = recs[i].Position
		}
		if len(recs) == FollowPage {
			continue // more may be waiting; catch up before sleeping
		}
		if err := wait(poll); err != nil {
			return err
		}
	}
}

// Notifier broadcasts "something was committed" to any number of listeners. The zero value is
// ready to use; it is safe for concurrent use.
type Notifier struct {
	mu        sync.Mutex
	listeners map[chan struct{}]struct{}
}

// Listen registers a listener. Its channel has a buffer of one and receives a token after
// every Notify (tokens coalesce: many commits may give one wake-up). Call stop when done.
func (n *Notifier) Listen() (wake <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.listeners == nil {
		n.listeners = map[chan struct{}]struct{}{}
	}
	n.listeners[ch] = struct{}{}
	n.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.listeners, ch)
			n.mu.Unlock()
		})
	}
}

// Notify wakes every listener without blocking. Call it after a commit is durable.
func (n *Notifier) Notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.listeners {
		select {
		case ch <- struct{}{}:
		default: // a token is already pending; the listener will read everything anyway
		}
	}
}
