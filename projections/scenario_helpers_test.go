package projections_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// scen drives documents through the real commands on a real store, with a clock the test
// moves, and reads the read models back.
type scen struct {
	t   *testing.T
	ctx context.Context
	b   backend
	clk *clock
	svc *commands.Service
	p   *projections.Projections
	c   demo.City
	num map[uuid.UUID]int
}

// monday is 6 April 2026, a week without holidays in Kazakhstan.
var monday = almaty(2026, 4, 6, 0, 0)

func day(n int, h, m int) time.Time {
	return monday.AddDate(0, 0, n).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func newScen(t *testing.T, mk func(testing.TB) backend, o projections.Options) *scen {
	t.Helper()
	b := mk(t)
	clk := newClock(day(0, 8, 0))
	svc := commands.New(b.store, commands.WithClock(clk.Now))
	o.Now = clk.Now
	if o.BatchSize == 0 {
		o.BatchSize = 16
	}
	p := open(t, b, svc, o)
	return &scen{t: t, ctx: context.Background(), b: b, clk: clk, svc: svc, p: p, c: demo.Almaty, num: map[uuid.UUID]int{}}
}

func (s *scen) newDoc() uuid.UUID {
	id := uuid.New()
	s.num[id] = len(s.num) + 1
	return id
}

// at moves the clock forward to t (never back).
func (s *scen) at(t time.Time) {
	if t.After(s.clk.Now()) {
		s.clk.Set(t)
	}
}

func (s *scen) state(doc uuid.UUID) domain.State {
	st, _, err := s.svc.Document(s.ctx, doc)
	if errors.Is(err, commands.ErrNotFound) {
		return domain.State{DocumentID: doc, Status: domain.StatusNew}
	}
	require.NoError(s.t, err)
	return st
}

// step records one step of the journey as its party would (demo.Next).
func (s *scen) step(doc uuid.UUID, typ domain.EventType, at time.Time) {
	s.t.Helper()
	s.at(at)
	e, a := demo.Next(s.c, s.state(doc), s.num[doc], typ, at)
	_, err := s.svc.AppendEvent(s.ctx, a, e, nil)
	require.NoError(s.t, err, "%s at %s", typ, at)
}

// record appends an event built by the test.
func (s *scen) record(a domain.Actor, doc uuid.UUID, at time.Time, p domain.Payload) {
	s.t.Helper()
	s.at(at)
	e := domain.Event{ID: uuid.New(), DocumentID: doc, Type: p.EventType(), OccurredAt: at, Actor: a, Payload: p}
	_, err := s.svc.AppendEvent(s.ctx, a, e, nil)
	require.NoError(s.t, err)
}

func (s *scen) walk(doc uuid.UUID, at time.Time, gap time.Duration, types ...domain.EventType) time.Time {
	s.t.Helper()
	for _, typ := range types {
		s.step(doc, typ, at)
		at = at.Add(gap)
	}
	return at
}

var toPacked = []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
	domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed}

func (s *scen) acc() domain.Actor { return demo.ActorOf(domain.RoleGKAccumulation, s.c.GKAccumulation) }

// dispatch forms a dispatch registry of docs and hands it to the GK courier (P.13, P.17).
func (s *scen) dispatch(formed, handed time.Time, docs ...uuid.UUID) uuid.UUID {
	s.t.Helper()
	s.at(formed)
	res, err := s.svc.FormRegistry(s.ctx, s.acc(), commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
		FromUnit: s.c.GKAccumulation.Unit, ToUnit: s.c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: formed})
	require.NoError(s.t, err)
	s.at(handed)
	_, err = s.svc.HandOverRegistry(s.ctx, s.acc(), commands.Handover{EventID: uuid.New(), RegistryID: res.RegistryID,
		Courier: s.c.GKCourier, OccurredAt: handed})
	require.NoError(s.t, err)
	return res.RegistryID
}

// accept records Kaspi intake's acceptance of a dispatch registry (P.18).
func (s *scen) accept(reg uuid.UUID, at time.Time, accepted, missing, damaged, extra []uuid.UUID) {
	s.t.Helper()
	s.at(at)
	_, err := s.svc.AcceptRegistry(s.ctx, demo.ActorOf(domain.RoleKaspiIntake, s.c.KaspiIntake), commands.Acceptance{
		EventID: uuid.New(), RegistryID: reg, Accepted: accepted, Missing: missing, Damaged: damaged, Extra: extra, OccurredAt: at})
	require.NoError(s.t, err)
}

// returnRegistry forms the return registry of unclaimed documents (P.32).
func (s *scen) returnRegistry(at time.Time, docs ...uuid.UUID) uuid.UUID {
	s.t.Helper()
	s.at(at)
	res, err := s.svc.FormRegistry(s.ctx, s.acc(), commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryReturnCollection,
		FromUnit: s.c.KaspiIntake.Unit, ToUnit: s.c.GKIssuance.Unit, DocumentIDs: docs, OccurredAt: at})
	require.NoError(s.t, err)
	return res.RegistryID
}

// collectReturns: the GK courier collects the return registry (P.33) and the ЦОН receives it (P.34).
func (s *scen) collectReturns(reg uuid.UUID, collected, received time.Time, docs ...uuid.UUID) {
	s.t.Helper()
	s.at(collected)
	_, err := s.svc.HandOverRegistry(s.ctx, demo.ActorOf(domain.RoleGKCourier, s.c.GKCourier), commands.Handover{
		EventID: uuid.New(), RegistryID: reg, OccurredAt: collected})
	require.NoError(s.t, err)
	s.at(received)
	_, err = s.svc.AcceptRegistry(s.ctx, demo.ActorOf(domain.RoleGKIssuance, s.c.GKIssuance), commands.Acceptance{
		EventID: uuid.New(), RegistryID: reg, Accepted: docs, OccurredAt: received})
	require.NoError(s.t, err)
}

// delivered takes a document from its request to the postomat cell: order at day 0 09:20,
// handed to the courier day 0 15:00, accepted at intake day 1 10:00, placed day 2 12:00.
func (s *scen) delivered(doc uuid.UUID) uuid.UUID {
	s.t.Helper()
	s.walk(doc, day(0, 9, 0), 10*time.Minute, toPacked...)
	reg := s.dispatch(day(0, 14, 0), day(0, 15, 0), doc)
	s.accept(reg, day(1, 10, 0), []uuid.UUID{doc}, nil, nil, nil)
	s.walk(doc, day(2, 10, 0), 2*time.Hour, domain.OutForPostomatDelivery, domain.PlacedInCell)
	return reg
}

func (s *scen) sync() {
	s.t.Helper()
	_, err := s.p.CatchUp(s.ctx)
	require.NoError(s.t, err)
}

// overdue moves the clock to now, brings the read models up to date and lists what is overdue
// for doc.
func (s *scen) overdue(now time.Time, doc uuid.UUID) []query.Overdue {
	s.t.Helper()
	s.at(now)
	s.sync()
	var out []query.Overdue
	list, err := s.p.Queries().Overdue(s.ctx, query.OverdueFilter{})
	require.NoError(s.t, err)
	for _, o := range list.Items {
		if o.DocumentID == doc {
			out = append(out, o)
		}
	}
	return out
}

func (s *scen) custody(doc uuid.UUID) query.Custody {
	s.t.Helper()
	s.sync()
	c, err := s.p.Queries().Custody(s.ctx, doc)
	require.NoError(s.t, err)
	return c
}

// tick runs the deadline watch at the current clock and applies what it appended.
func (s *scen) tick() int {
	s.t.Helper()
	s.sync()
	r, err := s.p.WatchTick(s.ctx)
	require.NoError(s.t, err)
	s.sync()
	return r.Appended
}
