package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/storetest"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/internal/rounds"
)

// BenchmarkAppend compares, in one run, three ways of writing the same rows with the same
// durability (synchronous_commit on, every commit flushed), interleaved by internal/rounds
// (CUSTODY_BENCH_ROUNDS rounds, default 3, of CUSTODY_BENCH_TIME each, default 2s; order
// rotated each round; run it with -benchtime 1x):
//
//	baseline:   plain INSERTs into a table of the same columns keyed by the event's uuid;
//	store:      the store's append, the design of this package;
//	serialised: the store's append holding the position lock until commit (the simple design).
//
// It prints each one's median and range and its ratio to the baseline paired by round, and
// reports the median ratio as x_baseline. BenchmarkStore runs the shared storetest benchmarks
// (appends, ReadAll and subscriber catch-up).

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
	n, d := benchRounds()
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			store := open(b, benchURL(b))
			serial := open(b, benchURL(b), withSerializedCommits())
			appender := func(s *Store) func(w int) func(context.Context, []eventstore.EventData) error {
				return func(w int) func(context.Context, []eventstore.EventData) error {
					stream := fmt.Sprintf("bench-%d-%s", w, uuid.NewString()[:8])
					return func(ctx context.Context, evs []eventstore.EventData) error {
						_, err := eventstore.AppendOne(ctx, s, stream, eventstore.Any, evs...)
						return err
					}
				}
			}
			cs := []rounds.Contender{
				writersFor("baseline", sh.writers, sh.size, baselineWriter(b)),
				writersFor("store", sh.writers, sh.size, appender(store)),
				writersFor("serialised", sh.writers, sh.size, appender(serial)),
			}
			if sh.size == 1 { // the statement alone, today's against the PL/pgSQL function it replaced
				cs = append(cs, writersFor("statement", sh.writers, 1, statementWriter(store, false)),
					writersFor("plpgsql", sh.writers, 1, statementWriter(store, true)))
			}
			res, err := rounds.Run(context.Background(), n, d, cs...)
			if err != nil {
				b.Fatal(err)
			}
			var out strings.Builder
			res.Write(&out, "events/s", "baseline")
			if sh.size == 1 {
				q := res.Ratio("statement", "plpgsql")
				fmt.Fprintf(&out, "  statement ÷ plpgsql %.2f (%.2f–%.2f)\n", q.Median, q.Min, q.Max)
			}
			b.Logf("%s:\n%s", sh.name, out.String())
			b.ReportMetric(res.Of("store").Median, "events/s")
			b.ReportMetric(res.Ratio("store", "baseline").Median, "x_baseline")
		})
	}
}

// benchRounds reads CUSTODY_BENCH_ROUNDS (at least 3) and CUSTODY_BENCH_TIME.
func benchRounds() (int, time.Duration) {
	n, d := 3, 2*time.Second
	if v, err := strconv.Atoi(os.Getenv("CUSTODY_BENCH_ROUNDS")); err == nil && v >= 3 {
		n = v
	}
	if v, err := time.ParseDuration(os.Getenv("CUSTODY_BENCH_TIME")); err == nil && v > 0 {
		d = v
	}
	return n, d
}

// writersFor is a contender: writers goroutines, each appending batches of size events with
// its own writer, for the round's time; its rate is events per second.
func writersFor(name string, writers, size int, newWriter func(w int) func(context.Context, []eventstore.EventData) error) rounds.Contender {
	fns := make([]func(context.Context, []eventstore.EventData) error, writers)
	for w := range fns {
		fns[w] = newWriter(w)
	}
	return rounds.Contender{Name: name, Run: func(ctx context.Context, d time.Duration) (float64, error) {
		var (
			done atomic.Int64
			wg   sync.WaitGroup
			fail atomic.Value
		)
		start := time.Now()
		until := start.Add(d)
		for _, write := range fns {
			wg.Go(func() {
				for time.Now().Before(until) {
					// Events are made per append, as a server would receive them.
					if err := write(ctx, benchEvents(size)); err != nil {
						fail.Store(err)
						return
					}
					done.Add(int64(size))
				}
			})
		}
		wg.Wait()
		if err, _ := fail.Load().(error); err != nil {
			return 0, err
		}
		return float64(done.Load()) / time.Since(start).Seconds(), nil
	}}
}

// baselineWriter inserts the same rows, with values computed by the client, into a table of
// the same columns whose only key is the event's uuid: what PostgreSQL itself does for these
// rows, with one unique index as any idempotent table would have.
func baselineWriter(b *testing.B) func(w int) func(context.Context, []eventstore.EventData) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, benchURL(b)+"&pool_max_conns=16")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE baseline_events (
		position bigint, txid bigint, stream_id text, version bigint, event_id uuid PRIMARY KEY, type text,
		schema_version integer, data bytea, metadata bytea, recorded_at timestamptz,
		prev_hash bytea, hash bytea)`); err != nil {
		b.Fatal(err)
	}
	var pos atomic.Int64
	return func(w int) func(context.Context, []eventstore.EventData) error {
		stream := fmt.Sprintf("bench-%d-%s", w, uuid.NewString()[:8])
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

// plpgsqlOneSQL calls custody_append, the PL/pgSQL function (with an EXCEPTION block, so a
// subtransaction per call) that appendOneSQL replaced; migration 0001 still creates it.
const plpgsqlOneSQL = `SELECT custody_append(ARRAY[0], ARRAY[$1::text], ARRAY[$2::bigint], ARRAY[$3::uuid],
       ARRAY[$4::text], ARRAY[$5::int], ARRAY[$6::bytea], ARRAY[$7::bytea], ARRAY[$8::bytea], ARRAY[$9::bytea],
       $10, CASE WHEN $11::bigint IS NULL THEN '{}' ELSE ARRAY[$1::text] END,
       CASE WHEN $11::bigint IS NULL THEN '{}' ELSE ARRAY[$11::bigint] END,
       CASE WHEN $11::bigint IS NULL THEN '{}' ELSE ARRAY[$12::bytea] END, false)`

// statementWriter writes single events with the append statement alone (no head lookups, no
// retries: each writer owns its stream), today's or the PL/pgSQL one, to compare the two.
func statementWriter(s *Store, plpgsql bool) func(w int) func(context.Context, []eventstore.EventData) error {
	q := appendOne[0]
	if plpgsql {
		q = plpgsqlOneSQL
	}
	return func(w int) func(context.Context, []eventstore.EventData) error {
		stream := fmt.Sprintf("stmt-%d-%s", w, uuid.NewString()[:8])
		var h head
		return func(ctx context.Context, evs []eventstore.EventData) error {
			e := evs[0]
			r := eventstore.Record{StreamID: stream, Version: h.version + 1, EventID: e.ID, Type: e.Type,
				SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata, RecordedAt: time.Now()}
			eventstore.Seal(h.hash, &r)
			var hVer *int64
			if h.version > 0 {
				v := int64(h.version)
				hVer = &v
			}
			var pos int64
			if err := s.pool.QueryRow(ctx, q, r.StreamID, int64(r.Version), [16]byte(r.EventID), r.Type, int32(r.SchemaVersion),
				r.Data, r.Metadata, r.PrevHash[:], r.Hash[:], r.RecordedAt, hVer, h.hash[:]).Scan(&pos); err != nil {
				return err
			}
			h = head{version: r.Version, hash: r.Hash}
			return nil
		}
	}
}
