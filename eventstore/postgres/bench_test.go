package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/storetest"
	"github.com/custody-ledger/custody/internal/pgtest"
)

// The benchmarks compare, in one run, three ways of writing the same rows with the same
// durability (synchronous_commit on, every commit flushed):
//
//	baseline:   plain INSERTs into a bare table of the same columns (no keys, no indexes);
//	store:      Store.Append, the design of this package;
//	serialised: Store.Append holding the position lock until commit (the simple design).
//
// store and serialised also report their throughput as a fraction of the baseline's
// (x_baseline). BenchmarkStore runs the shared storetest benchmarks (appends, ReadAll and
// subscriber catch-up).

// benchURL returns a fresh schema whose sessions commit synchronously whatever the server's
// default.
func benchURL(b *testing.B) string {
	return pgtest.Schema(b) + "&synchronous_commit=on"
}

func BenchmarkStore(b *testing.B) {
	parent := b
	storetest.Bench(b, storetest.BenchHarness{
		// The schema belongs to the parent benchmark: the read benchmarks share one prefilled
		// store across sub-benchmark rounds, and a sub-benchmark's cleanups run after each.
		New: func(b *testing.B) eventstore.Store { return open(b, benchURL(parent)) },
	})
}

var (
	benchData = []byte(`{"document":"REG-2024-000123","from":{"org":"ORG-17","unit":"U-3","role":"clerk"},"to":{"org":"ORG-17","unit":"U-9","role":"archivist"},"at":"2024-05-02T10:15:00Z","note":"handed over in person"}`)
	benchMeta = []byte(`{"request_id":"0b8f6c1e-6a43-4c2b-9a51-3b1f0e0d9c77","api_key":"key-42"}`)
)

func benchEvents(n int) []eventstore.EventData {
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = eventstore.EventData{ID: uuid.New(), Type: "DocumentHandedOver", SchemaVersion: 1, Data: benchData, Metadata: benchMeta}
	}
	return evs
}

// shapes are the append workloads: writers goroutines, each appending batches of size events
// to its own stream.
var shapes = []struct {
	name          string
	writers, size int
}{
	{"writers=1", 1, 1},
	{"writers=8", 8, 1},
	{"batch=100", 1, 100},
}

func BenchmarkAppend(b *testing.B) {
	baseline := map[string]float64{}
	for _, sh := range shapes {
		b.Run("baseline/"+sh.name, func(b *testing.B) {
			baseline[sh.name] = runWriters(b, sh.writers, sh.size, baselineWriter(b))
		})
		for _, variant := range []struct {
			name string
			opts []Option
		}{
			{"store", nil},
			{"serialised", []Option{withSerializedCommits()}},
		} {
			b.Run(variant.name+"/"+sh.name, func(b *testing.B) {
				s := open(b, benchURL(b), variant.opts...)
				defer s.Close()
				rate := runWriters(b, sh.writers, sh.size, func(w int) func(context.Context, []eventstore.EventData) error {
					stream := fmt.Sprintf("bench-%d", w)
					return func(ctx context.Context, evs []eventstore.EventData) error {
						_, err := eventstore.AppendOne(ctx, s, stream, eventstore.Any, evs...)
						return err
					}
				})
				if base := baseline[sh.name]; base > 0 {
					b.ReportMetric(rate/base, "x_baseline")
				}
			})
		}
	}
}

// runWriters runs b.N appends of size events spread over writers goroutines and reports (and
// returns) events per second. Events are made inside the loop, as storetest.Bench does: made
// beforehand, b.N batches of them would be a large live heap for the GC to mark.
func runWriters(b *testing.B, writers, size int, newWriter func(w int) func(context.Context, []eventstore.EventData) error) float64 {
	ctx := context.Background()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Value
	)
	b.ReportAllocs()
	b.ResetTimer()
	for w := range writers {
		write := newWriter(w)
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := write(ctx, benchEvents(size)); err != nil {
					fail.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N*size) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	return rate
}

// baselineWriter inserts the same rows, with values computed by the client, into a table of
// the same columns without keys or indexes: what PostgreSQL itself does for these rows.
func baselineWriter(b *testing.B) func(w int) func(context.Context, []eventstore.EventData) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, benchURL(b)+"&pool_max_conns=16")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE baseline_events (
		position bigint, txid bigint, stream_id text, version bigint, event_id uuid, type text,
		schema_version integer, data bytea, metadata bytea, recorded_at timestamptz,
		prev_hash bytea, hash bytea)`); err != nil {
		b.Fatal(err)
	}
	var pos atomic.Int64
	return func(w int) func(context.Context, []eventstore.EventData) error {
		stream := fmt.Sprintf("bench-%d", w)
		var version int64
		return func(ctx context.Context, evs []eventstore.EventData) error {
			if len(evs) == 1 {
				e := evs[0]
				version++
				_, err := pool.Exec(ctx, `INSERT INTO baseline_events VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
					pos.Add(1), int64(w), stream, version, [16]byte(e.ID), e.Type, int32(e.SchemaVersion), e.Data, e.Metadata,
					time.Now(), randomHash(), randomHash())
				return err
			}
			n := len(evs)
			var (
				positions, versions = make([]int64, n), make([]int64, n)
				ids                 = make([][16]byte, n) // as the store sends them: not through driver.Valuer
				types               = make([]string, n)
				svs                 = make([]int32, n)
				data, meta          = make([][]byte, n), make([][]byte, n)
				prev, hash          = make([][]byte, n), make([][]byte, n)
			)
			for i, e := range evs {
				version++
				positions[i], versions[i], ids[i], types[i], svs[i] = pos.Add(1), version, e.ID, e.Type, int32(e.SchemaVersion)
				data[i], meta[i], prev[i], hash[i] = e.Data, e.Metadata, randomHash(), randomHash()
			}
			_, err := pool.Exec(ctx, `INSERT INTO baseline_events
				SELECT p, $2, $3, v, id, t, sv, d, m, $10, ph, h
				  FROM unnest($1::bigint[], $4::bigint[], $5::uuid[], $6::text[], $7::int[], $8::bytea[], $9::bytea[], $11::bytea[], $12::bytea[])
				       AS u(p, v, id, t, sv, d, m, ph, h)`,
				positions, int64(w), stream, versions, ids, types, svs, data, meta, time.Now(), prev, hash)
			return err
		}
	}
}

func randomHash() []byte {
	h := make([]byte, 32)
	_, _ = rand.Read(h)
	return h
}
