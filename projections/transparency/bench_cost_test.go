package transparency_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// BenchmarkSequencerStepCost: the CPU a sequencer spends per event in its steady state, with
// nothing else running while it is measured: a log of 100,000 single-event streams, then steps
// of 1000 new single-event streams (the appends' pattern), each added and checkpointed by one
// Step. It reports this process's CPU and, on PostgreSQL, the server's, per event: the cost
// that BenchmarkAppendWithSequencer sees as appends lost, without the noise of the load.
func BenchmarkSequencerStepCost(b *testing.B) {
	const streams, step, steps = 100_000, 1000, 50
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		ctx := context.Background()
		newStreams(b, be.store, streams)
		key := testKey(b, "bench/log")
		_, seq := sequencer(b, be, transparency.Options{Key: key, CheckpointEvents: step})
		require.NoError(b, seq.CatchUp(ctx))
		var cpu, srv, wrote stat
		defer measuring(b)()
		for range rounds {
			var used, served time.Duration
			var written int64
			for range steps {
				newStreams(b, be.store, step)
				c0, s0, w0 := processCPU(b), serverCPU(), writtenBytes()
				n, err := seq.Step(ctx)
				used, served, written = used+processCPU(b)-c0, served+serverCPU()-s0, written+writtenBytes()-w0
				require.NoError(b, err)
				require.Equal(b, step, n)
			}
			per := func(t time.Duration) float64 { return float64(t.Microseconds()) / (steps * step) }
			cpu, srv = append(cpu, per(used)), append(srv, per(served))
			wrote = append(wrote, float64(written)/(steps*step))
		}
		b.Logf("sequencer CPU µs per event: this process %s", cpu)
		b.Logf("sequencer bytes written per event (write calls): this process %s", wrote)
		m, _, _ := cpu.summary()
		b.ReportMetric(m, "cpu-µs/event")
		if be.dialect == projections.Postgres {
			b.Logf("sequencer CPU µs per event: the PostgreSQL server %s", srv)
			m, _, _ = srv.summary()
			b.ReportMetric(m, "server-cpu-µs/event")
		}
	})
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
