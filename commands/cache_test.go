package commands_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// Two services (two `custody serve` processes, each with its own stream cache) on one store
// race the same documents (issue 14): every step is written once, in order, and both answer
// the store's state afterwards.
func TestTwoServicesOneStoreRace(t *testing.T) {
	eachStore(t, func(t *testing.T, st eventstore.Store) {
		ctx := context.Background()
		svcs := []*commands.Service{serviceOn(st), serviceOn(st)}
		t0 := now.Add(-48 * time.Hour)
		steps := []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
			domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed}
		var docs []uuid.UUID
		for n := 0; n < 3; n++ {
			d, _ := journey(t, svcs[n%2], 70+n, t0, steps[:2]...)
			docs = append(docs, d)
		}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ { // each worker, on either service, pushes every document on
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				svc := svcs[w%2]
				for i := 2; i < len(steps); i++ {
					for n, d := range docs {
						s, _, err := svc.Document(ctx, d)
						if !assert.NoError(t, err) {
							return
						}
						if s.Version > uint64(i) {
							continue // another worker took this step
						}
						e, a := demo.Next(c, s, 70+n, steps[i], t0.Add(time.Duration(i)*time.Hour))
						_, err = svc.AppendEvent(ctx, a, e, nil)
						var te *domain.TransitionError
						if err != nil && !assert.ErrorAs(t, err, &te, "a lost race is refused on the state that won") {
							return
						}
					}
				}
			}(w)
		}
		wg.Wait()
		for _, d := range docs {
			recs, err := st.ReadStream(ctx, commands.DocumentStream(d), 1, 0)
			require.NoError(t, err)
			require.Len(t, recs, len(steps), "each step once")
			for i, r := range recs {
				assert.Equal(t, string(steps[i]), r.Type)
			}
			for _, svc := range svcs {
				s, _, err := svc.Document(ctx, d)
				require.NoError(t, err)
				assert.Equal(t, domain.StatusPacked, s.Status)
				assert.Equal(t, uint64(len(steps)), s.Version)
			}
		}
	})
}

// A service whose cache holds a document another service has moved on decides on the moved
// state, and a retry of the other's event is answered as a retry, not written again.
func TestTwoServicesOneStoreStaleCache(t *testing.T) {
	eachStore(t, func(t *testing.T, st eventstore.Store) {
		ctx := context.Background()
		a, b := serviceOn(st), serviceOn(st)
		t0 := now.Add(-48 * time.Hour)
		doc, s := journey(t, a, 80, t0, domain.DeliveryRequested, domain.DocumentIssued) // cached by a
		e, actor := demo.Next(c, s, 80, domain.KaspiOrderCreated, t0.Add(3*time.Hour))
		byB, err := b.AppendEvent(ctx, actor, e, nil)
		require.NoError(t, err)

		again, err := a.AppendEvent(ctx, actor, e, nil)
		require.NoError(t, err, "b's event, sent again through a: a retry")
		assert.Equal(t, byB, again)
		_, err = a.AppendEvent(ctx, actor, domain.Event{ID: uuid.New(), DocumentID: doc, Type: e.Type,
			OccurredAt: e.OccurredAt, Actor: actor, Payload: e.Payload}, nil)
		var te *domain.TransitionError
		require.ErrorAs(t, err, &te, "a second order is refused on the moved state (P.8)")

		s, _, err = a.Document(ctx, doc)
		require.NoError(t, err)
		e, actor = demo.Next(c, s, 80, domain.CollectedFromRags, t0.Add(4*time.Hour))
		res, err := a.AppendEvent(ctx, actor, e, nil)
		require.NoError(t, err)
		assert.Equal(t, uint64(4), res.Version)
		stale := uint64(3)
		e.ID = uuid.New()
		_, err = b.AppendEvent(ctx, actor, e, &stale)
		var vc *eventstore.VersionConflictError
		require.ErrorAs(t, err, &vc, "If-Match against the store, not b's cache")
		assert.Equal(t, uint64(4), vc.Actual)
	})
}
