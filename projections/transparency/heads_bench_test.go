package transparency_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/transparency"
)

// docLog is a generated store of documents: the event at position p (1-based) is version
// (p-1)/streams+1 of document (p-1)%streams, so the streams interleave; chain hashes are real
// so bundles verify. Only ReadAll and ReadStream are served.
type docLog struct {
	eventstore.Store
	n       atomic.Uint64
	streams uint64
}

func (d *docLog) doc(k uint64) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], k+1)
	u[6], u[8] = 0x40, u[8]|0x80
	return u
}

// stream returns document k's events up to the log's end (all of them with limit 0).
func (d *docLog) stream(k uint64, limit uint64) []eventstore.Record {
	var (
		out  []eventstore.Record
		prev eventstore.Hash
	)
	id := commands.DocumentStream(d.doc(k))
	for v := uint64(1); ; v++ {
		p := k + 1 + (v-1)*d.streams
		if p > d.n.Load() || (limit > 0 && v > limit) {
			return out
		}
		var ev uuid.UUID
		binary.BigEndian.PutUint64(ev[:8], p)
		r := eventstore.Record{StreamID: id, Version: v, Position: p, EventID: ev, Type: "Bench", SchemaVersion: 1,
			Data: []byte(`{"n":1}`), RecordedAt: time.Unix(0, 0).UTC()}
		eventstore.Seal(prev, &r)
		prev = r.Hash
		out = append(out, r)
	}
}

func (d *docLog) ReadAll(_ context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	var out []eventstore.Record
	for p := after + 1; p <= d.n.Load() && len(out) < limit; p++ {
		k, v := (p-1)%d.streams, (p-1)/d.streams+1
		recs := d.stream(k, v)
		out = append(out, recs[len(recs)-1])
	}
	return out, nil
}

func (d *docLog) ReadStream(_ context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	id, err := uuid.Parse(stream[len("document-"):])
	if err != nil {
		return nil, err
	}
	recs := d.stream(binary.BigEndian.Uint64(id[8:])&^(1<<63)-1, 0)
	if len(recs) == 0 {
		return nil, eventstore.ErrNotFound
	}
	return recs[from-1:], nil
}

// benchLock takes the shared benchmark lock (CUSTODY_BENCH_LOCK, a file) for the measured part
// only, so that building the data does not hold it.
func benchLock(b *testing.B) func() {
	path := os.Getenv("CUSTODY_BENCH_LOCK")
	if path == "" {
		return func() {}
	}
	f, err := os.Open(path)
	require.NoError(b, err)
	require.NoError(b, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	return func() { _ = f.Close() }
}

// BenchmarkHeadsExport1M: on a log of one million events over 600,000 document streams, the
// time of a sequencer step adding 1000 events and signing a checkpoint with the heads, and of
// a document's export (its events, proofs and head) against a one-event range export of the
// same document's first event (same proofs, no head), alternating, 3 rounds.
func BenchmarkHeadsExport1M(b *testing.B) {
	events, streams := uint64(1_000_000), uint64(600_000)
	if testing.Short() { // a smoke run
		events, streams = 20_000, 12_000
	}
	benchBackends(b, func(b *testing.B, open func(testing.TB) backend) {
		be := open(b)
		ctx := context.Background()
		log := &docLog{streams: streams}
		log.n.Store(events)
		l, err := transparency.OpenLog(ctx, be.tree, be.dialect)
		require.NoError(b, err)
		key := testKey(b, "bench/log")
		seq := transparency.NewSequencer(l, log, transparency.Options{Key: key})
		start := time.Now()
		require.NoError(b, seq.CatchUp(ctx))
		b.Logf("sequenced %d events over %d streams in %.1fs", events, streams, time.Since(start).Seconds())
		defer benchLock(b)()
		var step, doc, rng, ratio stat
		r := rand.New(rand.NewPCG(3, 4))
		for round := range rounds {
			log.n.Add(1000)
			t0 := time.Now()
			require.NoError(b, seq.CatchUp(ctx))
			step = append(step, float64(time.Since(t0).Milliseconds()))
			var dm, rm []time.Duration
			for i := range 20 {
				k := r.Uint64N(streams)
				id := log.doc(k)
				first := k + 1
				for j := range 2 {
					t0 := time.Now()
					if (round+i+j)%2 == 0 {
						bd, err := transparency.Export(ctx, log, l, transparency.Scope{Document: &id})
						require.NoError(b, err)
						dm = append(dm, time.Since(t0))
						if i == 0 {
							got, err := transparency.VerifyBundle(bd, transparency.VerifyOptions{PublicKey: key.Verifier})
							require.NoError(b, err)
							require.NotZero(b, got.HeadVersion)
						}
					} else {
						_, err := transparency.Export(ctx, log, l, transparency.Scope{From: first, To: first})
						require.NoError(b, err)
						rm = append(rm, time.Since(t0))
					}
				}
			}
			d, g := float64(percentile(dm, 0.5).Microseconds())/1000, float64(percentile(rm, 0.5).Microseconds())/1000
			doc, rng, ratio = append(doc, d), append(rng, g), append(ratio, 100*d/g)
		}
		b.Logf("at %d events, %d streams: step of 1000 events + checkpoint ms %s; export p50 ms: document %s, one-event range %s; document/range %% %s",
			events, streams, step, fmtStat(doc), fmtStat(rng), ratio)
	})
}

func fmtStat(s stat) string {
	m, lo, hi := s.summary()
	return fmt.Sprintf("%.1f (%.1f–%.1f)", m, lo, hi)
}
