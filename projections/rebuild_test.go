package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

var demoNow = almaty(2026, 4, 15, 18, 0)

// demoDocs is the size of the demo data set the tests share (generated once per test binary).
const demoDocs = 60

// TestRebuildEqualsIncremental: the demo data set applied in small batches, then rebuilt from
// scratch in large ones, gives the same tables byte for byte.
func TestRebuildEqualsIncremental(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	backends(t, func(t *testing.T, open_ func(testing.TB) backend) {
		ctx := context.Background()
		b := open_(t)
		load(t, b.store, recs)
		now := func() time.Time { return demoNow }
		svc := commands.New(b.store, commands.WithClock(now))
		o := projections.Options{BatchSize: 37, RebuildBatchSize: 5000, Now: now}
		projections.SetBulkRows(&o, 40) // the rebuild's large batches take PostgreSQL's COPY path
		p := open(t, b, svc, o)
		n, err := p.CatchUp(ctx)
		require.NoError(t, err)
		assert.Equal(t, len(recs), n)
		// The watch records the deadlines the data set missed; the runner applies them.
		w, err := p.WatchTick(ctx)
		require.NoError(t, err)
		assert.Positive(t, w.Appended)
		_, err = p.CatchUp(ctx)
		require.NoError(t, err)
		w, err = p.WatchTick(ctx)
		require.NoError(t, err)
		assert.Zero(t, w.Appended, "every miss is recorded once")
		incGen := liveGen(t, b.db)
		inc := dump(t, b.db, incGen)

		st, err := p.Rebuild(ctx)
		require.NoError(t, err)
		assert.Greater(t, st.Events, len(recs))
		assert.NotEqual(t, incGen, st.Generation)
		assert.Equal(t, st.Generation, liveGen(t, b.db))
		reb := dump(t, b.db, st.Generation)
		for table, want := range inc {
			assert.Equal(t, want, reb[table], "table %s", table)
			if table != "disputes" && table != "dispute_documents" && table != "quarantine" { // the demo has no disputes, nor poison
				assert.NotEmpty(t, want, "table %s is empty: the demo data set should fill it", table)
			}
		}
	})
}

// TestFirstBuildOfALongLog: with no generation yet and a log longer than a rebuild batch, the
// first build takes the rebuild path (large batches, indexes at the end); it equals a rebuild.
func TestFirstBuildOfALongLog(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	b := sqliteBackend(t)
	load(t, b.store, recs)
	p := open(t, b, nil, projections.Options{RebuildBatchSize: 100, Now: func() time.Time { return demoNow }})
	n, err := p.CatchUp(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "applied by the rebuild, nothing left for the live runner")
	first := liveGen(t, b.db)
	got := dump(t, b.db, first)
	st, err := p.Rebuild(context.Background())
	require.NoError(t, err)
	assert.Equal(t, got, dump(t, b.db, st.Generation))
}

// TestRebuildWhileLive: a rebuild runs while the runner follows a log that keeps growing and
// queries keep being answered; after the switch the runner goes on in the new generation and
// the tables equal yet another rebuild.
func TestRebuildWhileLive(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	third := len(recs) / 3
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		ctx := context.Background()
		b := mk(t)
		load(t, b.store, recs[:third])
		r := start(t, b)
		waitFor(t, 10*time.Second, "caught up", func() bool {
			l, err := r.p.Lag(ctx)
			return err == nil && l.Positions == 0
		})
		before := liveGen(t, b.db)

		stop := make(chan struct{})
		queried := make(chan int)
		go func() { // the API keeps answering while the rebuild runs
			n := 0
			for {
				select {
				case <-stop:
					queried <- n
					return
				default:
				}
				_, err := r.p.Queries().Overdue(ctx, query.OverdueFilter{})
				assert.NoError(t, err)
				n++
			}
		}()
		loaded := make(chan struct{})
		go func() { // and the log keeps growing
			defer close(loaded)
			load(t, b.store, recs[third:2*third])
		}()
		st, err := r.p.Rebuild(ctx)
		require.NoError(t, err)
		<-loaded
		close(stop)
		assert.Positive(t, <-queried)
		assert.Equal(t, st.Generation, liveGen(t, b.db))
		assert.NotEqual(t, before, st.Generation)

		load(t, b.store, recs[2*third:])
		waitFor(t, 20*time.Second, "caught up in the new generation", func() bool {
			l, err := r.p.Lag(ctx)
			return err == nil && l.Positions == 0 && l.Generation == st.Generation
		})
		got := dump(t, b.db, st.Generation)
		again, err := r.p.Rebuild(ctx)
		require.NoError(t, err)
		assert.Equal(t, got, dump(t, b.db, again.Generation), "nothing skipped or applied twice across the switch")
	})
}
