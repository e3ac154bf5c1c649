package transparency_test

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// BenchmarkSequencerStepCost: the CPU a sequencer spends per event in its steady state, with
// nothing else running while it is measured: a log of 100,000 single-event streams, then steps
// of 1000 new single-event streams (the appends' pattern), each added and checkpointed by one
// Step. It reports this process's CPU and, on PostgreSQL, the server's, per event: the cost
// that BenchmarkAppendWithSequencer sees as appends lost, without the noise of the load. The
// appends between the steps are measured too (this process and the server), and %-of-append
// is the sequencer's CPU on the appends' machine as a share of an append's.
//
// "postgres-tree-apart" keeps the tree in a database of its own (custody sequence
// --tree-store) and splits the server's CPU by database: what stays with the store's
// database is what the appends would still share their machine with if the tree and the
// sequencer ran on another one.
func BenchmarkSequencerStepCost(b *testing.B) {
	const streams, step, steps = 100_000, 1000, 50
	cost := func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		ctx := context.Background()
		newStreams(b, be.store, streams)
		key := testKey(b, "bench/log")
		_, seq := sequencer(b, be, transparency.Options{Key: key, CheckpointEvents: step})
		require.NoError(b, seq.CatchUp(ctx))
		storeDB, treeDB := currentDatabase(be.db), currentDatabase(be.tree)
		var cpu, srv, srvStore, srvTree, wrote, appends, share stat
		defer measuring(b)()
		for range rounds {
			var used, served, servedStore, servedTree, appended time.Duration
			var written int64
			for range steps {
				a0, as0 := processCPU(b), serverCPU()
				newStreams(b, be.store, step)
				appended += processCPU(b) - a0 + serverCPU() - as0
				c0, s0, w0 := processCPU(b), serverCPUByDatabase(), writtenBytes()
				n, err := seq.Step(ctx)
				s1 := serverCPUByDatabase()
				used, written = used+processCPU(b)-c0, written+writtenBytes()-w0
				for db, t := range s1 {
					d := t - s0[db]
					served += d
					switch {
					case storeDB != treeDB && db == storeDB:
						servedStore += d
					case storeDB != treeDB && db == treeDB:
						servedTree += d
					}
				}
				require.NoError(b, err)
				require.Equal(b, step, n)
			}
			per := func(t time.Duration) float64 { return float64(t.Microseconds()) / (steps * step) }
			cpu, srv = append(cpu, per(used)), append(srv, per(served))
			srvStore, srvTree = append(srvStore, per(servedStore)), append(srvTree, per(servedTree))
			wrote = append(wrote, float64(written)/(steps*step))
			appends = append(appends, per(appended))
			// What the sequencer takes from the appends' machine, as a share of an append's
			// CPU: all of its work, or with the tree apart only the log's reads.
			mine := used + served
			if storeDB != treeDB {
				mine = servedStore
			}
			share = append(share, 100*float64(mine)/float64(appended))
		}
		b.Logf("an append's CPU µs (this process and the server), measured between the steps: %s", appends)
		b.Logf("the sequencer's CPU on the appends' machine per event, %% of an append's: %s", share)
		m, _, _ := share.summary()
		b.ReportMetric(m, "%-of-append")
		b.Logf("sequencer CPU µs per event: this process %s", cpu)
		b.Logf("sequencer bytes written per event (write calls): this process %s", wrote)
		m, _, _ = cpu.summary()
		b.ReportMetric(m, "cpu-µs/event")
		if be.dialect == projections.Postgres {
			b.Logf("sequencer CPU µs per event: the PostgreSQL server %s", srv)
			m, _, _ = srv.summary()
			b.ReportMetric(m, "server-cpu-µs/event")
		}
		if storeDB != treeDB {
			b.Logf("of which the store's database's sessions (the log's reads) %s, the tree's database's %s, the rest the server's own processes (WAL, checkpoints)", srvStore, srvTree)
			m, _, _ = srvStore.summary()
			b.ReportMetric(m, "store-db-cpu-µs/event")
		}
	}
	benchBackends(b, cost)
	b.Run("postgres-tree-apart", func(b *testing.B) { cost(b, pgTreeApartBackend) })
}

// currentDatabase is the PostgreSQL database db works in ("" on SQLite).
func currentDatabase(db *sql.DB) string {
	var name string
	if err := db.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		return "" // SQLite has no such function
	}
	return name
}

// writtenBytes is what this process has passed to write calls so far (/proc/self/io wchar;
// 0 where there is none).
func writtenBytes() int64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// newStreams appends n single-event streams from 8 writers.
func newStreams(b *testing.B, s eventstore.Store, n int) {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if err := appendNewStream(s, "bench-"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestSessionDatabase: the benchmarks attribute a PostgreSQL backend's CPU to the database in
// its process title.
func TestSessionDatabase(t *testing.T) {
	for title, want := range map[string]string{
		"postgres: 15/main: postgres test 127.0.0.1(5432) idle\x00\x00": "test",
		"postgres: app t_0a1b2c [local] SELECT":                         "t_0a1b2c",
		"postgres: 15/main: checkpointer":                               "",
		"postgres: walwriter":                                           "",
		"/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql":    "",
	} {
		assert.Equal(t, want, sessionDatabase(title), title)
	}
}
