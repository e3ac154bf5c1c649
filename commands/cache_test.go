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

// A service decides on its cached stream without reading it, but never refuses on it: a step
// its stale cache would refuse (the other service moved the document on) is decided again on
// the store's state and written; so is an If-Match that only the store's version satisfies.
func TestTwoServicesOneStoreStaleCacheRefusesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, st eventstore.Store) {
		ctx := context.Background()
		a, b := serviceOn(st), serviceOn(st)
		t0 := now.Add(-48 * time.Hour)
		doc, s := journey(t, a, 90, t0, domain.DeliveryRequested, domain.DocumentIssued) // cached by a at 2
		e, actor := demo.Next(c, s, 90, domain.KaspiOrderCreated, t0.Add(3*time.Hour))
		_, err := b.AppendEvent(ctx, actor, e, nil)
		require.NoError(t, err)
		s = domain.Evolve(s, e)

		e, actor = demo.Next(c, s, 90, domain.CollectedFromRags, t0.Add(4*time.Hour))
		res, err := a.AppendEvent(ctx, actor, e, nil)
		require.NoError(t, err, "refused on a's stale cache (no order yet) but allowed by the store's state")
		assert.Equal(t, uint64(4), res.Version)
		s = domain.Evolve(s, e)

		e, actor = demo.Next(c, s, 90, domain.ReceivedAtAccumulation, t0.Add(5*time.Hour))
		_, err = b.AppendEvent(ctx, actor, e, nil) // b's cache is at 3 now
		require.NoError(t, err)
		s = domain.Evolve(s, e)
		e, actor = demo.Next(c, s, 90, domain.RoutedForDelivery, t0.Add(6*time.Hour))
		five := uint64(5)
		res, err = a.AppendEvent(ctx, actor, e, &five)
		require.NoError(t, err, "If-Match 5 holds in the store though a's cache is at 4")
		assert.Equal(t, uint64(6), res.Version)

		recs, err := st.ReadStream(ctx, commands.DocumentStream(doc), 1, 0)
		require.NoError(t, err)
		assert.Len(t, recs, 6)
	})
}

// streamReads records where each stream read starts.
type streamReads struct {
	eventstore.Store
	mu   sync.Mutex
	from []uint64
}

func (r *streamReads) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	r.mu.Lock()
	r.from = append(r.from, from)
	r.mu.Unlock()
	return r.Store.ReadStream(ctx, stream, from, limit)
}

// A command on a cached stream, or one starting a new stream, asks the store nothing before
// its append; the written events extend the cache, so a journey reads nothing back. A refusal
// is given only on the stream as the store holds it.
func TestCommandsDecideOnTheCache(t *testing.T) {
	eachStore(t, func(t *testing.T, base eventstore.Store) {
		ctx := context.Background()
		st := &streamReads{Store: base}
		svc := serviceOn(st)
		t0 := now.Add(-48 * time.Hour)
		doc := uuid.New()
		s := domain.State{DocumentID: doc, Status: domain.StatusNew}
		for i, et := range toPacked[:4] {
			e, a := demo.Next(c, s, 95, et, t0.Add(time.Duration(i)*time.Hour))
			var err error
			if i == 0 {
				_, err = svc.AppendEvent(ctx, a, e, nil)
			} else {
				_, err = svc.AppendToDocument(ctx, a, e, nil)
			}
			require.NoError(t, err, et)
			s = domain.Evolve(s, e)
		}
		assert.Empty(t, st.from, "no stream read")

		e, a := demo.Next(c, s, 95, domain.DocumentIssued, t0.Add(5*time.Hour))
		_, err := svc.AppendToDocument(ctx, a, e, nil)
		var te *domain.TransitionError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, []uint64{4}, st.from, "refused after one read, from the last cached event: all four were cached")

		got, stored, err := svc.Document(ctx, doc)
		require.NoError(t, err)
		assert.Equal(t, domain.StatusCollectedFromRags, got.Status)
		recs, err := base.ReadStream(ctx, commands.DocumentStream(doc), 1, 0)
		require.NoError(t, err)
		require.Len(t, stored, len(recs))
		for i, r := range recs {
			assert.Equal(t, r, stored[i].Record, "the cache holds the stored records")
			want, err := domain.Decode(r.Data)
			require.NoError(t, err)
			assert.Equal(t, want, stored[i].Event)
		}
	})
}
