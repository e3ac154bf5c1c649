package projections_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/query"
)

// TestReadyMeansReady: started on a store the demo filled, the read models are never called
// ready while a query would miss what the log holds (issue 10 §9). The log is shorter than
// the allowed lag, so a bounded lag alone answered "ready" over empty tables.
func TestReadyMeansReady(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	registries := map[string]bool{}
	versions := map[uuid.UUID]uint64{}
	for _, r := range recs {
		switch {
		case strings.HasPrefix(r.StreamID, domain.RegistryPrefix):
			registries[r.StreamID] = true
		case strings.HasPrefix(r.StreamID, domain.DocumentPrefix):
			versions[uuid.MustParse(strings.TrimPrefix(r.StreamID, domain.DocumentPrefix))] = r.Version
		}
	}
	require.Less(t, len(recs), 1000, "the log is within the default lag bound")
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		b := mk(t)
		load(t, b.store, recs)
		p := open(t, b, nil, projections.Options{BatchSize: 10, Now: func() time.Time { return demoNow }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		defer func() {
			cancel()
			require.NoError(t, <-done)
		}()
		deadline := time.Now().Add(60 * time.Second)
		notReady, ready := 0, 0
		for ready < 3 {
			require.True(t, time.Now().Before(deadline), "never ready")
			err := p.Ready(ctx)
			if err != nil {
				notReady++
				require.Contains(t, err.Error(), "not ready")
				continue
			}
			ready++
			list, err := p.Queries().Registries(ctx, query.RegistryFilter{Page: query.Page{Limit: 1000}})
			require.NoError(t, err)
			require.Len(t, list.Items, len(registries), "every registry of the log, once ready")
			for doc, v := range versions {
				c, err := p.Queries().Custody(ctx, doc)
				require.NoError(t, err)
				require.EqualValues(t, v, c.Version, "document %s, once ready", doc)
			}
		}
		require.Positive(t, notReady, "not ready while catching up")
	})
}

// TestReadyAfterARebuildSwitch: a generation switched to is met anew: not ready until it has
// reached the head of that moment, however short the log.
func TestReadyAfterARebuildSwitch(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	b := sqliteBackend(t)
	load(t, b.store, recs)
	p := open(t, b, nil, projections.Options{Now: func() time.Time { return demoNow }})
	ctx := context.Background()
	_, err := p.CatchUp(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Ready(ctx))

	gen, err := sqldb.Create(ctx, b.db, b.dialect, sqldb.StatusBuilding, time.Now())
	require.NoError(t, err)
	require.NoError(t, sqldb.Switch(ctx, b.db, gen, time.Now()))
	err = p.Ready(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "catching up")

	_, err = p.CatchUp(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Ready(ctx))
}
