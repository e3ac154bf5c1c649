package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// subscriber runs Subscribe in the background and collects what it receives.
type subscriber struct {
	mu     sync.Mutex
	recs   []eventstore.Record
	more   chan struct{} // signalled (non-blocking) on every record
	cancel context.CancelFunc
	done   chan error
}

func subscribe(ctx context.Context, s eventstore.Store, after uint64) *subscriber {
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscriber{more: make(chan struct{}, 1), cancel: cancel, done: make(chan error, 1)}
	go func() {
		sub.done <- s.Subscribe(ctx, after, func(r eventstore.Record) error {
			sub.mu.Lock()
			sub.recs = append(sub.recs, r)
			sub.mu.Unlock()
			select {
			case sub.more <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	return sub
}

func (s *subscriber) snapshot() []eventstore.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]eventstore.Record(nil), s.recs...)
}

// waitFor waits until the subscriber has received a record at position >= pos.
func (s *subscriber) waitFor(t *testing.T, pos uint64) []eventstore.Record {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		recs := s.snapshot()
		if n := len(recs); n > 0 && recs[n-1].Position >= pos {
			return recs
		}
		select {
		case <-s.more:
		case err := <-s.done:
			require.FailNow(t, "Subscribe returned early", "error %v after %d records", err, len(recs))
		case <-deadline:
			require.FailNow(t, "subscriber did not reach the position in time",
				"position %d; got %d records, last %v", pos, len(recs), lastPos(recs))
		}
	}
}

// stop cancels the subscription and asserts that Subscribe returns context.Canceled.
func (s *subscriber) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		require.ErrorIs(t, err, context.Canceled, "Subscribe returns ctx.Err() when its context ends")
	case <-time.After(waitLimit):
		require.FailNow(t, "Subscribe did not return after its context was cancelled")
	}
}

func lastPos(recs []eventstore.Record) uint64 {
	if len(recs) == 0 {
		return 0
	}
	return recs[len(recs)-1].Position
}

func testSubscribe(t *testing.T, e *env) {
	stream := streamID("sub")

	t.Run("from the start of an empty store, then live", func(t *testing.T) {
		sub := subscribe(e.ctx(), e.s, 0)
		defer sub.stop(t)
		time.Sleep(20 * time.Millisecond) // let it reach the live wait before the first commit
		e.append(stream, eventstore.NoStream, events(2)...)
		e.append(streamID("sub-other"), eventstore.NoStream, events(1)...)
		got := sub.waitFor(t, e.head())
		sameRecords(t, e.readAll(0), got)
	})

	t.Run("from a middle position: catch up, then live, exactly once", func(t *testing.T) {
		e.append(stream, eventstore.Exact(2), events(3)...)
		log := e.readAll(0)
		requireCount(t, log, 6)
		after := log[2].Position
		sub := subscribe(e.ctx(), e.s, after)
		got := sub.waitFor(t, log[5].Position)
		sameRecords(t, log[3:], got, "catch-up")

		for i := range 4 {
			e.append(stream, eventstore.Exact(uint64(5+i)), events(1)...)
		}
		head := e.head()
		got = sub.waitFor(t, head)
		time.Sleep(30 * time.Millisecond) // give a duplicate delivery the chance to show up
		sub.stop(t)
		sameRecords(t, e.readAll(after), sub.snapshot(), "live")
		assert.Equal(t, head, got[len(got)-1].Position)
	})

	t.Run("from the head sees only later events", func(t *testing.T) {
		head := e.head()
		sub := subscribe(e.ctx(), e.s, head)
		defer sub.stop(t)
		res := e.append(stream, eventstore.Any, events(1)...)
		got := sub.waitFor(t, res.Records[0].Position)
		sameRecords(t, res.Records, got)
	})

	t.Run("an error from fn ends the subscription with that error", func(t *testing.T) {
		errStop := errors.New("stop here")
		calls := 0
		err := e.s.Subscribe(e.ctx(), 0, func(eventstore.Record) error {
			calls++
			if calls == 2 {
				return errStop
			}
			return nil
		})
		require.ErrorIs(t, err, errStop)
		assert.Equal(t, 2, calls, "fn is not called again after it failed")
	})

	t.Run("two subscribers each see everything", func(t *testing.T) {
		head := e.head()
		a, b := subscribe(e.ctx(), e.s, head), subscribe(e.ctx(), e.s, head)
		for range 3 {
			e.append(stream, eventstore.Any, events(2)...)
		}
		want := e.readAll(head)
		sameRecords(t, want, a.waitFor(t, want[len(want)-1].Position))
		sameRecords(t, want, b.waitFor(t, want[len(want)-1].Position))
		a.stop(t)
		b.stop(t)
	})
}

// testSubscribeCatchUpPages makes a subscriber catch up over more events than one page of
// eventstore.Follow while new events keep arriving.
func testSubscribeCatchUpPages(t *testing.T, e *env) {
	const batches, size = 14, 100
	streams := []string{streamID("pages"), streamID("pages")}
	for i := range batches {
		e.append(streams[i%2], eventstore.Any, events(size)...)
	}
	sub := subscribe(e.ctx(), e.s, 0)
	for i := range 3 {
		e.append(streams[i%2], eventstore.Any, events(size)...)
	}
	head := e.head()
	sub.waitFor(t, head)
	sub.stop(t)
	got := sub.snapshot()
	requireCount(t, got, (batches+3)*size)
	sameRecords(t, e.readAll(0), got)
}
