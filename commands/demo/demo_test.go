package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// Two cities' data sets of the same day share a store (the nationwide benchmark runs several a
// day): each writes its own streams, and running one again still finds it and writes nothing.
func TestDemoCitiesShareADay(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 15, 18, 0, 0, 0, domain.Almaty)
	m := memory.New()
	svc := commands.New(m, commands.WithClock(func() time.Time { return now }))
	other := demo.Almaty
	other.Name = "Shymkent"
	for _, h := range []*domain.Holder{&other.RAGS, &other.GKCourier, &other.GKAccumulation, &other.GKIssuance,
		&other.KaspiIntake, &other.KaspiCourier, &other.Postomat} {
		h.Unit += "-2"
	}
	docs := map[string]int{}
	for _, c := range []demo.City{demo.Almaty, other} {
		before, err := m.ReadAll(ctx, 0, 0)
		require.NoError(t, err)
		sum, err := demo.Generate(ctx, svc, demo.Options{Documents: 24, PerDay: 12, Now: now, City: c, Applications: -1})
		require.NoError(t, err)
		require.False(t, sum.AlreadyPresent, c.Name)
		recs, err := m.ReadAll(ctx, uint64(len(before)), 0)
		require.NoError(t, err)
		require.Len(t, recs, sum.Events, c.Name)
		for _, r := range recs {
			if r.Version == 1 && strings.HasPrefix(r.StreamID, domain.DocumentPrefix) {
				docs[c.Name]++
			}
		}
		again, err := demo.Generate(ctx, svc, demo.Options{Documents: 24, PerDay: 12, Now: now, City: c, Applications: -1})
		require.NoError(t, err)
		assert.True(t, again.AlreadyPresent, c.Name)
	}
	assert.Equal(t, map[string]int{"Almaty": 24, "Shymkent": 24}, docs)
}
