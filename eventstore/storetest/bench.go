package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/eventstore"
)

// BenchHarness tells Bench how to make stores.
type BenchHarness struct {
	// New returns a fresh, empty, open store. Bench closes it; the harness removes any files
	// (b.TempDir does).
	New func(b *testing.B) eventstore.Store
	// MaxEvents bounds how many events one store receives during an append benchmark before
	// Bench swaps in a fresh one (timer stopped), so fast in-memory stores do not grow without
	// bound under -benchtime. 0 means 100 000.
	MaxEvents int
}

// benchLogSize is the number of events in the log that the read benchmarks walk.
const benchLogSize = 10_000

var errBenchDone = errors.New("storetest: bench done")

// Bench runs the shared event-store benchmarks. Every benchmark reports events/s.
func Bench(b *testing.B, h BenchHarness) {
	if h.New == nil {
		b.Fatal("storetest: BenchHarness.New is required")
	}
	if h.MaxEvents <= 0 {
		h.MaxEvents = 100_000
	}
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("Append/writers=%d", writers), func(b *testing.B) {
			benchAppend(b, h, writers, 1)
		})
	}
	b.Run("AppendBatch/size=100", func(b *testing.B) { benchAppend(b, h, 1, 100) })

	// The read benchmarks share one prefilled store across b.N rounds. It belongs to the parent
	// benchmark: Go runs a sub-benchmark's cleanups after every round, which would drop a
	// schema or a temporary directory still in use.
	var (
		once sync.Once
		log  eventstore.Store
		root = b
	)
	prefilled := func(b *testing.B) eventstore.Store {
		once.Do(func() {
			log = h.New(root)
			ctx := context.Background()
			for i := range benchLogSize / 100 {
				if _, err := eventstore.AppendOne(ctx, log, fmt.Sprintf("bench-%d", i%50), eventstore.Any, benchEvents(100)...); err != nil {
					b.Fatalf("prefill: %v", err)
				}
			}
		})
		if log == nil {
			b.Fatal("prefill failed")
		}
		return log
	}
	defer func() {
		if log != nil {
			_ = log.Close()
		}
	}()

	b.Run(fmt.Sprintf("ReadAll/events=%d", benchLogSize), func(b *testing.B) {
		s := prefilled(b)
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			var after uint64
			n := 0
			for {
				recs, err := s.ReadAll(ctx, after, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				n += len(recs)
				after = recs[len(recs)-1].Position
			}
			if n != benchLogSize {
				b.Fatalf("read %d events, want %d", n, benchLogSize)
			}
		}
		reportEvents(b, benchLogSize*b.N)
	})

	b.Run(fmt.Sprintf("SubscribeCatchUp/events=%d", benchLogSize), func(b *testing.B) {
		s := prefilled(b)
		b.ResetTimer()
		for range b.N {
			n := 0
			err := s.Subscribe(context.Background(), 0, func(eventstore.Record) error {
				n++
				if n == benchLogSize {
					return errBenchDone
				}
				return nil
			})
			if !errors.Is(err, errBenchDone) {
				b.Fatalf("Subscribe: %v after %d events", err, n)
			}
		}
		reportEvents(b, benchLogSize*b.N)
	})
}

// benchAppend measures appends of size events by writers goroutines, each to its own stream
// with expected version Any.
func benchAppend(b *testing.B, h BenchHarness, writers, size int) {
	b.ReportAllocs()
	ctx := context.Background()
	s := h.New(b)
	defer func() { _ = s.Close() }()
	stored := 0
	b.ResetTimer()
	for remaining := b.N; remaining > 0; {
		round := min(remaining, max(h.MaxEvents/size, 1))
		if stored+round*size > h.MaxEvents && stored > 0 {
			b.StopTimer()
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			s, stored = h.New(b), 0
			b.StartTimer()
		}
		var (
			next atomic.Int64
			wg   sync.WaitGroup
			fail atomic.Value
		)
		for w := range writers {
			wg.Go(func() {
				stream := fmt.Sprintf("bench-w%d-%d", w, stored)
				for next.Add(1) <= int64(round) {
					if _, err := eventstore.AppendOne(ctx, s, stream, eventstore.Any, benchEvents(size)...); err != nil {
						fail.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := fail.Load().(error); err != nil {
			b.Fatal(err)
		}
		remaining -= round
		stored += round * size
	}
	reportEvents(b, b.N*size)
}

func reportEvents(b *testing.B, n int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "events/s")
	}
}

// benchEvents makes n small events of realistic size (a custody event is a few hundred bytes).
func benchEvents(n int) []eventstore.EventData {
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = eventstore.EventData{
			ID:            uuid.New(),
			Type:          "DocumentHandedOver",
			SchemaVersion: 1,
			Data:          benchData,
			Metadata:      benchMeta,
		}
	}
	return evs
}

var (
	benchData = []byte(`{"document":"REG-2024-000123","from":{"org":"ORG-17","unit":"U-3","role":"clerk"},"to":{"org":"ORG-17","unit":"U-9","role":"archivist"},"at":"2024-05-02T10:15:00Z","note":"handed over in person"}`)
	benchMeta = []byte(`{"request_id":"0b8f6c1e-6a43-4c2b-9a51-3b1f0e0d9c77","api_key":"key-42"}`)
)
