package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections"
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
			if table != "disputes" && table != "dispute_documents" { // the demo has no disputes
				assert.NotEmpty(t, want, "table %s is empty: the demo data set should fill it", table)
			}
		}
	})
}
