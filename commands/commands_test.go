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
	"github.com/custody-ledger/custody/eventstore/memory"
)

var (
	c   = demo.Almaty
	now = time.Date(2026, 4, 20, 12, 0, 0, 0, domain.Almaty)
)

func newService(t *testing.T) (*commands.Service, eventstore.Store) {
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	return commands.New(st, commands.WithClock(func() time.Time { return now })), st
}

// journey records the given steps on a new document n, one hour apart from at.
func journey(t testing.TB, svc *commands.Service, n int, at time.Time, ts ...domain.EventType) (uuid.UUID, domain.State) {
	t.Helper()
	doc := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(n), byte(n >> 8)})
	s := domain.State{DocumentID: doc, Status: domain.StatusNew}
	for _, et := range ts {
		e, a := demo.Next(c, s, n, et, at)
		_, err := svc.AppendEvent(context.Background(), a, e, nil)
		require.NoError(t, err, et)
		s, _, err = svc.Document(context.Background(), doc)
		require.NoError(t, err)
		at = at.Add(time.Hour)
	}
	return doc, s
}

var toPacked = []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
	domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed}

func TestAppendEventIdempotentAndConflicts(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	t0 := now.Add(-48 * time.Hour)
	doc, s := journey(t, svc, 1, t0, domain.DeliveryRequested, domain.DocumentIssued)
	require.Equal(t, domain.StatusIssued, s.Status)

	e, a := demo.Next(c, s, 1, domain.CollectedFromRags, t0.Add(5*time.Hour))
	first, err := svc.AppendEvent(ctx, a, e, nil)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), first.Version)
	head, _ := st.Head(ctx)

	again, err := svc.AppendEvent(ctx, a, e, nil)
	require.NoError(t, err, "a retry returns the first answer")
	assert.Equal(t, first, again)
	head2, _ := st.Head(ctx)
	assert.Equal(t, head, head2, "and writes nothing")

	changed := e
	changed.OccurredAt = changed.OccurredAt.Add(time.Minute)
	_, err = svc.AppendEvent(ctx, a, changed, nil)
	assert.ErrorIs(t, err, eventstore.ErrDuplicateConflict, "same id, other content")

	s, _, err = svc.Document(ctx, doc)
	require.NoError(t, err)
	e2, a2 := demo.Next(c, s, 1, domain.ReceivedAtAccumulation, t0.Add(6*time.Hour))
	stale := uint64(2)
	_, err = svc.AppendEvent(ctx, a2, e2, &stale)
	var vc *eventstore.VersionConflictError
	require.ErrorAs(t, err, &vc, "If-Match is honoured as given")
	assert.Equal(t, uint64(3), vc.Actual)
	cur := uint64(3)
	_, err = svc.AppendEvent(ctx, a2, e2, &cur)
	require.NoError(t, err)

	_, _, err = svc.Document(ctx, uuid.New())
	assert.ErrorIs(t, err, commands.ErrNotFound)
}

// Two clients race on one document without If-Match: both decide on the same state; the loser
// re-reads, decides again and is refused because the step is done. With If-Match exactly one
// wins each version.
func TestRaceOnOneDocument(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	t0 := now.Add(-48 * time.Hour)
	doc, s := journey(t, svc, 2, t0, domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated)
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		wins    int
		refused int
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			e, a := demo.Next(c, s, 2, domain.CollectedFromRags, t0.Add(4*time.Hour))
			e.ID = uuid.New()
			ver := s.Version
			_, err := svc.AppendEvent(ctx, a, e, &ver)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
				return
			}
			assert.ErrorIs(t, err, eventstore.ErrVersionConflict)
			refused++
		}(i)
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	assert.Equal(t, n-1, refused)

	s, _, err := svc.Document(ctx, doc)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), s.Version)
	e, a := demo.Next(c, s, 2, domain.ReceivedAtAccumulation, t0.Add(5*time.Hour))
	var wg2 sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg2.Add(1)
		go func(i int) {
			defer wg2.Done()
			ei := e
			ei.ID = uuid.New()
			_, errs[i] = svc.AppendEvent(ctx, a, ei, nil)
		}(i)
	}
	wg2.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		var te *domain.TransitionError
		assert.ErrorAs(t, err, &te, "the loser decides again on the new state")
	}
	assert.Equal(t, 1, ok)
}

func TestRegistryDispatchHandoverAcceptance(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	t0 := now.Add(-72 * time.Hour)
	var docs []uuid.UUID
	for n := 10; n < 14; n++ {
		d, _ := journey(t, svc, n, t0, toPacked...)
		docs = append(docs, d)
	}
	acc := demo.ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	at := t0.Add(8 * time.Hour)
	form := commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch, FromUnit: c.GKAccumulation.Unit,
		ToUnit: c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: at}
	formed, err := svc.FormRegistry(ctx, acc, form)
	require.NoError(t, err)
	assert.Len(t, formed.Documents, 4)
	again, err := svc.FormRegistry(ctx, acc, form)
	require.NoError(t, err)
	assert.Equal(t, formed, again, "P.13 a retried formation is the first answer")

	_, err = svc.FormRegistry(ctx, demo.ActorOf(domain.RoleKaspiIntake, c.KaspiIntake), form)
	var fe *domain.ForbiddenError
	require.ErrorAs(t, err, &fe, "P.13 the accumulation sector forms dispatch registries")

	h := commands.Handover{EventID: uuid.New(), RegistryID: formed.RegistryID, Courier: c.GKCourier, OccurredAt: at.Add(time.Hour)}
	handed, err := svc.HandOverRegistry(ctx, acc, h)
	require.NoError(t, err)
	require.Len(t, handed.Documents, 4)
	head, _ := st.Head(ctx)
	again, err = svc.HandOverRegistry(ctx, acc, h)
	require.NoError(t, err)
	assert.Equal(t, handed.Position, again.Position, "P.17 a retried hand-over doubles nothing")
	head2, _ := st.Head(ctx)
	assert.Equal(t, head, head2)
	for _, d := range docs {
		s, _, err := svc.Document(ctx, d)
		require.NoError(t, err)
		assert.Equal(t, domain.StatusToKaspiIntake, s.Status)
		assert.Equal(t, c.GKCourier.Unit, s.Holder.Unit)
	}

	intake := demo.ActorOf(domain.RoleKaspiIntake, c.KaspiIntake)
	bad := commands.Acceptance{EventID: uuid.New(), RegistryID: formed.RegistryID, Accepted: docs[:2], OccurredAt: at.Add(20 * time.Hour)}
	_, err = svc.AcceptRegistry(ctx, intake, bad)
	var re *domain.StepError
	require.ErrorAs(t, err, &re, "P.18 every line must be accounted for")

	a := commands.Acceptance{EventID: uuid.New(), RegistryID: formed.RegistryID, Accepted: docs[:2], Missing: docs[2:3],
		Damaged: docs[3:], OccurredAt: at.Add(20 * time.Hour)}
	accepted, err := svc.AcceptRegistry(ctx, intake, a)
	require.NoError(t, err)
	assert.Len(t, accepted.Documents, 5, "two accepted, one missing, one damaged (discrepancy + acceptance)")
	for i, want := range []domain.Status{domain.StatusAtKaspiIntake, domain.StatusAtKaspiIntake, domain.StatusToKaspiIntake, domain.StatusAtKaspiIntake} {
		s, evs, err := svc.Document(ctx, docs[i])
		require.NoError(t, err)
		assert.Equal(t, want, s.Status, "line %d", i)
		if i == 2 {
			assert.True(t, s.Flags.Missing)
			charges := domain.Liability(eventsOf(evs))
			require.Len(t, charges, 1)
			assert.Equal(t, domain.OrgGK, charges[0].Org, "P.18 a missing line is charged to the giving side")
		}
		if i == 3 {
			assert.True(t, s.Flags.Damaged)
		}
	}
	r, _, err := svc.Registry(ctx, formed.RegistryID)
	require.NoError(t, err)
	assert.Equal(t, domain.RegistryStatusAccepted, r.Status)
	v, err := eventstore.VerifyAll(ctx, st)
	require.NoError(t, err)
	assert.True(t, v.OK)
}

// A registry step whose document events were partly written (as on a store without atomic
// multi-stream appends) completes on retry and doubles nothing.
func TestRegistryStepResumes(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	t0 := now.Add(-72 * time.Hour)
	var docs []uuid.UUID
	for n := 20; n < 23; n++ {
		d, _ := journey(t, svc, n, t0, toPacked...)
		docs = append(docs, d)
	}
	acc := demo.ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	at := t0.Add(8 * time.Hour)
	formed, err := svc.FormRegistry(ctx, acc, commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
		FromUnit: c.GKAccumulation.Unit, ToUnit: c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: at})
	require.NoError(t, err)
	h := commands.Handover{EventID: uuid.New(), RegistryID: formed.RegistryID, Courier: c.GKCourier, OccurredAt: at.Add(time.Hour)}

	// Write the first document's hand-over alone, as a crashed non-atomic store would have.
	s0, stored0, err := svc.Document(ctx, docs[0])
	require.NoError(t, err)
	e := handoverEvent(formed.RegistryID, docs[0], h, acc, s0)
	data, err := domain.Encode(e)
	require.NoError(t, err)
	_, err = eventstore.AppendOne(ctx, st, commands.DocumentStream(docs[0]), eventstore.Exact(uint64(len(stored0))),
		eventstore.EventData{ID: e.ID, Type: string(e.Type), SchemaVersion: domain.SchemaVersion, Data: data})
	require.NoError(t, err)

	res, err := svc.HandOverRegistry(ctx, acc, h)
	require.NoError(t, err)
	assert.Len(t, res.Documents, 3)
	for _, d := range docs {
		s, evs, err := svc.Document(ctx, d)
		require.NoError(t, err)
		assert.Equal(t, domain.StatusToKaspiIntake, s.Status)
		n := 0
		for _, ev := range evs {
			if ev.Event.Type == domain.HandedToCourier {
				n++
			}
		}
		assert.Equal(t, 1, n, "exactly one hand-over per document")
	}
}

// handoverEvent rebuilds the document event HandOverRegistry derives for doc (same id rule).
func handoverEvent(reg, doc uuid.UUID, h commands.Handover, a domain.Actor, s domain.State) domain.Event {
	return domain.Event{ID: uuid.NewSHA1(reg, []byte("handover/"+doc.String()+"/0")), DocumentID: doc, Type: domain.HandedToCourier,
		OccurredAt: h.OccurredAt, Actor: a, Payload: &domain.HandedToCourierData{
			Transfer: domain.Transfer{From: *s.Holder, To: h.Courier}, RegistryID: reg}}
}

func eventsOf(stored []commands.Stored) []domain.Event {
	out := make([]domain.Event, len(stored))
	for i, s := range stored {
		out[i] = s.Event
	}
	return out
}

func TestForceMajeureAndDisputes(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	from := now.Add(-72 * time.Hour)
	id := uuid.New()
	fm := domain.ForceMajeureDeclaredData{From: from, To: from.Add(24 * time.Hour), Description: "P.37 flood",
		Evidence: demo.Evidence(from), Notified: demo.NotifiedBy(domain.OrgKaspi)}
	res, err := svc.DeclareForceMajeure(ctx, demo.Platform, id, from.Add(2*time.Hour), fm)
	require.NoError(t, err)
	ev, _, err := svc.ForceMajeure(ctx, res.DocumentID)
	require.NoError(t, err)
	assert.Equal(t, domain.OrgKaspi, ev.Payload.(*domain.ForceMajeureDeclaredData).NotifyingOrg, "P.38 a party notifies for itself")
	again, err := svc.DeclareForceMajeure(ctx, demo.Platform, id, from.Add(2*time.Hour), fm)
	require.NoError(t, err)
	assert.Equal(t, res, again)
	_, err = svc.DeclareForceMajeure(ctx, domain.Actor{Role: domain.RoleAuditor}, uuid.New(), from, fm)
	var fe *domain.ForbiddenError
	assert.ErrorAs(t, err, &fe)
	_, err = svc.DeclareForceMajeure(ctx, demo.Platform, uuid.New(), now.Add(time.Hour), fm)
	var ve *domain.ValidationError
	assert.ErrorAs(t, err, &ve)

	comm := domain.Actor{Role: domain.RoleCommission, Unit: "COMMISSION"}
	opened, err := svc.OpenDispute(ctx, comm, uuid.New(), from, domain.DisputeOpenedData{DocumentIDs: []uuid.UUID{uuid.New()},
		Parties: []domain.Org{domain.OrgGK, domain.OrgKaspi}, Subject: "P.36 who lost it"})
	require.NoError(t, err)
	_, err = svc.OpenDispute(ctx, demo.Platform, uuid.New(), from, domain.DisputeOpenedData{})
	assert.ErrorAs(t, err, &fe, "P.36 only the commission")
	resolve := domain.DisputeResolvedData{ProtocolNumber: "PR-12", Decision: "GK answers", ChargedTo: []domain.Org{domain.OrgGK}}
	_, err = svc.ResolveDispute(ctx, comm, opened.DocumentID, uuid.New(), from.Add(time.Hour), resolve)
	require.NoError(t, err)
	_, err = svc.ResolveDispute(ctx, comm, opened.DocumentID, uuid.New(), from.Add(2*time.Hour), resolve)
	var re *domain.StepError
	assert.ErrorAs(t, err, &re, "resolved once")
	_, err = svc.ResolveDispute(ctx, comm, uuid.New(), uuid.New(), from, resolve)
	assert.ErrorIs(t, err, commands.ErrNotFound)
	stored, err := svc.Dispute(ctx, opened.DocumentID)
	require.NoError(t, err)
	assert.Len(t, stored, 2)
}

// The demo data set goes through the same commands; running it twice writes nothing new.
func TestDemoDataSet(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	sum, err := demo.Generate(ctx, svc, demo.Options{Documents: 120})
	require.NoError(t, err)
	assert.Equal(t, 120, sum.Documents)
	assert.Positive(t, sum.CON)
	assert.Positive(t, sum.Collected)
	assert.Positive(t, sum.Returned)
	assert.Positive(t, sum.Stored)
	assert.Equal(t, 1, sum.Lost)
	assert.Equal(t, 1, sum.Missing)
	assert.Equal(t, 1, sum.Delayed)
	assert.Equal(t, 1, sum.ForceMajeure)
	head, err := st.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(sum.Events), head, "every event counted")
	sum2, err := demo.Generate(ctx, svc, demo.Options{Documents: 120})
	require.NoError(t, err)
	assert.True(t, sum2.AlreadyPresent)
	head2, _ := st.Head(ctx)
	assert.Equal(t, head, head2, "idempotent")
	v, err := eventstore.VerifyAll(ctx, st)
	require.NoError(t, err)
	assert.True(t, v.OK)

	// P.34: documents received back at the ЦОН carry its address for the recipient.
	recs, err := st.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	withAddress := 0
	for _, r := range recs {
		if r.Type != string(domain.ReceivedAtIssuance) {
			continue
		}
		e, err := domain.Decode(r.Data)
		require.NoError(t, err)
		if e.Payload.(*domain.ReceivedAtIssuanceData).CONAddress == c.CONAddress {
			withAddress++
		}
	}
	assert.Equal(t, sum.Returned, withAddress)
}

func TestDocumentAsOf(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	t0 := now.Add(-48 * time.Hour)
	doc, _ := journey(t, svc, 30, t0, domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated, domain.CollectedFromRags)
	s, evs, err := svc.DocumentAsOf(ctx, doc, t0.Add(90*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, domain.StatusIssued, s.Status)
	assert.Len(t, evs, 2)
	s, _, err = svc.DocumentAsOf(ctx, doc, t0.Add(-time.Minute))
	require.NoError(t, err)
	assert.Equal(t, domain.StatusNew, s.Status)
}

// Many documents a day still make a valid data set (registries wait for the day's last one).
func TestDemoManyPerDay(t *testing.T) {
	svc, _ := newService(t)
	sum, err := demo.Generate(context.Background(), svc, demo.Options{Documents: 150, PerDay: 75})
	require.NoError(t, err)
	assert.Equal(t, 150, sum.Documents)
	assert.Positive(t, sum.Collected)
}
