package eventstore_test

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

// fakeLog is a LogReader over a slice, with scripted failures.
type fakeLog struct {
	mu    sync.Mutex
	recs  []eventstore.Record
	fails []error // returned, one per call, before reads succeed
	reads int
}

func (f *fakeLog) add(positions ...uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range positions {
		f.recs = append(f.recs, eventstore.Record{Position: p})
	}
}

func (f *fakeLog) ReadAll(_ context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if len(f.fails) > 0 {
		err := f.fails[0]
		f.fails = f.fails[1:]
		return nil, err
	}
	var out []eventstore.Record
	for _, r := range f.recs {
		if r.Position > after && (limit <= 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, nil
}

// collect runs Follow until it has seen n records, then cancels it and returns the positions.
func collect(t *testing.T, f *fakeLog, after uint64, wake <-chan struct{}, poll time.Duration, n int, during func()) []uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var (
		mu  sync.Mutex
		got []uint64
	)
	done := make(chan error, 1)
	go func() {
		done <- eventstore.Follow(ctx, f, after, wake, poll, func(r eventstore.Record) error {
			mu.Lock()
			got = append(got, r.Position)
			mu.Unlock()
			return nil
		})
	}()
	if during != nil {
		during()
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	}, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestFollow(t *testing.T) {
	t.Run("catches up in pages, then follows wake-ups", func(t *testing.T) {
		f := &fakeLog{}
		var first []uint64
		for p := uint64(1); p <= eventstore.FollowPage*2+5; p++ {
			first = append(first, p*10) // positions need not be dense
		}
		f.add(first...)
		var n eventstore.Notifier
		wake, stop := n.Listen()
		defer stop()
		got := collect(t, f, 20, wake, 0, len(first)-2+2, func() {
			f.add(100000, 100010)
			n.Notify()
		})
		want := append(append([]uint64{}, first[2:]...), 100000, 100010)
		assert.Equal(t, want, got)
	})

	t.Run("polls without a wake channel", func(t *testing.T) {
		f := &fakeLog{}
		got := collect(t, f, 0, nil, time.Millisecond, 2, func() { f.add(1, 2) })
		assert.Equal(t, []uint64{1, 2}, got)
	})

	t.Run("retries ErrUnavailable", func(t *testing.T) {
		f := &fakeLog{fails: []error{eventstore.Unavailable(errors.New("busy")), eventstore.Unavailable(errors.New("busy"))}}
		f.add(1)
		got := collect(t, f, 0, nil, time.Millisecond, 1, nil)
		assert.Equal(t, []uint64{1}, got)
	})

	t.Run("returns other read errors", func(t *testing.T) {
		boom := errors.New("boom")
		f := &fakeLog{fails: []error{boom}}
		err := eventstore.Follow(t.Context(), f, 0, nil, time.Millisecond, func(eventstore.Record) error { return nil })
		require.ErrorIs(t, err, boom)
	})

	t.Run("returns fn's error", func(t *testing.T) {
		f := &fakeLog{}
		f.add(1, 2, 3)
		stop := errors.New("stop")
		var seen []uint64
		err := eventstore.Follow(t.Context(), f, 0, nil, time.Millisecond, func(r eventstore.Record) error {
			seen = append(seen, r.Position)
			if r.Position == 2 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		assert.Equal(t, []uint64{1, 2}, seen)
	})

	t.Run("refuses a log that goes backwards", func(t *testing.T) {
		f := &fakeLog{}
		f.add(5, 4)
		err := eventstore.Follow(t.Context(), f, 0, nil, time.Millisecond, func(eventstore.Record) error { return nil })
		require.ErrorContains(t, err, "does not follow")
	})

	t.Run("needs a wake channel or a poll interval", func(t *testing.T) {
		err := eventstore.Follow(t.Context(), &fakeLog{}, 0, nil, 0, func(eventstore.Record) error { return nil })
		require.ErrorIs(t, err, eventstore.ErrInvalid)
	})

	t.Run("a cancelled context ends it before any read", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		f := &fakeLog{}
		err := eventstore.Follow(ctx, f, 0, nil, time.Millisecond, func(eventstore.Record) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, f.reads)
	})
}

func TestNotifier(t *testing.T) {
	var n eventstore.Notifier
	n.Notify() // no listeners: nothing to do, must not block

	a, stopA := n.Listen()
	b, stopB := n.Listen()
	defer stopB()
	n.Notify()
	n.Notify() // coalesces with the pending token
	for _, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		default:
			t.Fatal("listener not woken")
		}
		select {
		case <-ch:
			t.Fatal("tokens should coalesce")
		default:
		}
	}
	stopA()
	stopA() // idempotent
	n.Notify()
	select {
	case <-a:
		t.Fatal("a stopped listener is not woken")
	default:
	}
	<-b
}
