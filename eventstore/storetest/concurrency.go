package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// testConcurrentSameStream lets n writers race for each version of one stream: exactly one
// wins, every other gets a VersionConflictError naming the new current version.
func testConcurrentSameStream(t *testing.T, e *env) {
	const writers, rounds = 8, 12
	stream := streamID("race")
	var (
		acked []eventstore.Record
		v     uint64 // the version every writer of the round expects
	)
	for round := range rounds {
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, writers)
			res   = make([]eventstore.AppendResult, writers)
		)
		for w := range writers {
			wg.Go(func() {
				evs := events(1 + w%2)
				<-start
				res[w], errs[w] = eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Exact(v), evs...)
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		var won eventstore.AppendResult
		for w := range writers {
			if errs[w] == nil {
				winners++
				won = res[w]
			}
		}
		require.Equal(t, 1, winners, "round %d: exactly one writer wins version %d (errors %v)", round, v, errs)
		for w := range writers {
			if errs[w] != nil {
				requireVersionConflict(t, errs[w], stream, eventstore.Exact(v), won.Version)
			}
		}
		acked = append(acked, won.Records...)
		sameRecords(t, acked, e.readStream(stream), "round %d", round)
		v = won.Version
	}
	checkChain(t, e.readStream(stream))
}

// testConcurrentRetryLoop runs writers that each append their events one at a time with exact
// versions, re-reading the version from each conflict: nothing acknowledged may be lost.
func testConcurrentRetryLoop(t *testing.T, e *env) {
	const writers, each = 4, 10
	stream := streamID("retry")
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		acked     = map[uuid.UUID]eventstore.Record{}
		conflicts atomic.Int64
	)
	for range writers {
		wg.Go(func() {
			var v uint64
			for range each {
				ev := event("Retried")
				for attempt := 0; ; attempt++ {
					if attempt > 1000 {
						t.Errorf("writer starved after %d attempts", attempt)
						return
					}
					res, err := eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Exact(v), ev)
					var vc *eventstore.VersionConflictError
					if errors.As(err, &vc) {
						conflicts.Add(1)
						if vc.Actual <= v && v > 0 {
							t.Errorf("conflict reports version %d, not beyond the %d this writer saw", vc.Actual, v)
							return
						}
						v = vc.Actual
						continue
					}
					if err != nil {
						t.Errorf("Append: %v", err)
						return
					}
					mu.Lock()
					acked[ev.ID] = res.Records[0]
					mu.Unlock()
					v = res.Version
					break
				}
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	got := e.readStream(stream)
	requireCount(t, got, writers*each, "every acknowledged event is stored, none twice")
	checkChain(t, got)
	for _, r := range got {
		want, ok := acked[r.EventID]
		require.True(t, ok, "stored event %s was never acknowledged", r.EventID)
		sameRecord(t, want, r, "the stored record is the acknowledged one")
	}
	t.Logf("%d version conflicts", conflicts.Load())
}

// testConcurrentGlobalLog has writers on different streams (single and multi-stream appends)
// while one reader follows with Subscribe and another polls ReadAll with a small limit. Both
// must see every event exactly once, in increasing position order: a store that lets a reader
// pass a position whose transaction has not committed yet loses events here.
func testConcurrentGlobalLog(t *testing.T, e *env) {
	const writers, appends = 6, 25
	start := e.head()
	sub := subscribe(e.ctx(), e.s, start)

	var (
		done    atomic.Bool
		polled  []eventstore.Record
		pollWG  sync.WaitGroup
		pollErr error
	)
	pollWG.Go(func() {
		after := start
		for {
			finished := done.Load() // read before ReadAll: an empty read after done means the end
			recs, err := e.s.ReadAll(e.ctx(), after, 5)
			if err != nil {
				pollErr = err
				return
			}
			for _, r := range recs {
				if r.Position <= after {
					pollErr = errors.New("ReadAll returned a position that does not increase")
					return
				}
				after = r.Position
			}
			polled = append(polled, recs...)
			if len(recs) == 0 {
				if finished {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
	})

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked = map[uuid.UUID]eventstore.Record{}
	)
	for w := range writers {
		wg.Go(func() {
			a, b := streamID("log"), streamID("log")
			var va, vb uint64
			for i := range appends {
				var recs []eventstore.Record
				if i%5 == 4 {
					res, err := e.s.AppendMulti(e.ctx(),
						eventstore.StreamAppend{StreamID: a, Expected: eventstore.Exact(va), Events: events(1)},
						eventstore.StreamAppend{StreamID: b, Expected: eventstore.Exact(vb), Events: events(2)})
					if err != nil {
						t.Errorf("writer %d: AppendMulti: %v", w, err)
						return
					}
					va, vb = res[0].Version, res[1].Version
					recs = append(res[0].Records, res[1].Records...)
				} else {
					res, err := eventstore.AppendOne(e.ctx(), e.s, a, eventstore.Exact(va), events(1+i%3)...)
					if err != nil {
						t.Errorf("writer %d: Append: %v", w, err)
						return
					}
					va = res.Version
					recs = res.Records
				}
				mu.Lock()
				for _, r := range recs {
					acked[r.EventID] = r
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	done.Store(true)
	pollWG.Wait()
	require.False(t, t.Failed())
	require.NoError(t, pollErr, "poller")

	log := e.readAll(start)
	requireIncreasing(t, log, start)
	requireCount(t, log, len(acked), "the log holds every acknowledged event once")
	for _, r := range log {
		want, ok := acked[r.EventID]
		require.True(t, ok, "event %s in the log was never acknowledged", r.EventID)
		sameRecord(t, want, r)
	}

	assert.Equal(t, len(log), len(polled), "the ReadAll poller saw every event once (a skip means a reader passed an uncommitted position)")
	sameRecords(t, log, polled, "ReadAll poller")

	head := e.head()
	require.Equal(t, log[len(log)-1].Position, head)
	sub.waitFor(t, head)
	time.Sleep(30 * time.Millisecond) // give a duplicate delivery the chance to show up
	sub.stop(t)
	sameRecords(t, log, sub.snapshot(), "subscriber")
}

// testConcurrentRetries sends the same append from several goroutines at once, as a client
// does that retries while its first attempt is still in flight: all get the one original
// result and the events are stored once. With the same ids but different content, exactly one
// wins and the others get a DuplicateConflictError.
func testConcurrentRetries(t *testing.T, e *env) {
	const senders = 6
	t.Run("same content", func(t *testing.T) {
		stream := streamID("inflight")
		evs := events(3)
		res := make([]eventstore.AppendResult, senders)
		errs := make([]error, senders)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				batch := clone(evs)
				<-start
				res[i], errs[i] = eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.NoStream, batch...)
			})
		}
		close(start)
		wg.Wait()
		for i := range senders {
			require.NoError(t, errs[i], "sender %d", i)
			sameResult(t, res[0], res[i], "sender %d", i)
		}
		checkResult(t, res[0], stream, 0, evs)
		sameRecords(t, res[0].Records, e.readStream(stream))
	})
	t.Run("different content", func(t *testing.T) {
		stream := streamID("inflight")
		ev := event("Contested")
		errs := make([]error, senders)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range senders {
			wg.Go(func() {
				mine := clone([]eventstore.EventData{ev})
				mine[0].Data = fmt.Appendf(nil, `{"sender":%d}`, i)
				<-start
				_, errs[i] = eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Any, mine...)
			})
		}
		close(start)
		wg.Wait()
		winners := 0
		for i := range senders {
			if errs[i] == nil {
				winners++
				continue
			}
			requireDuplicateConflict(t, errs[i], ev.ID, stream)
		}
		require.Equal(t, 1, winners, "exactly one sender stores the event (errors %v)", errs)
		requireCount(t, e.readStream(stream), 1)
	})
}
