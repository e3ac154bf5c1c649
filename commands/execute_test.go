package commands_test

import (
	"context"
	"path/filepath"
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
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
)

// eachStore runs f on a fresh store of every kind that shares a database between services.
func eachStore(t *testing.T, f func(t *testing.T, st eventstore.Store)) {
	open := map[string]func(t *testing.T) eventstore.Store{
		"memory": func(*testing.T) eventstore.Store { return memory.New() },
		"sqlite": func(t *testing.T) eventstore.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
			require.NoError(t, err)
			return s
		},
		"postgres": func(t *testing.T) eventstore.Store {
			s, err := postgres.Open(context.Background(), pgtest.Schema(t))
			require.NoError(t, err)
			return s
		},
	}
	for _, name := range []string{"memory", "sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st := open[name](t)
			t.Cleanup(func() { _ = st.Close() })
			f(t, st)
		})
	}
}

func serviceOn(st eventstore.Store) *commands.Service {
	return commands.New(st, commands.WithClock(func() time.Time { return now }))
}

// gated runs before() once, just before the first append it passes on: another writer then
// gets there first, after this one has read and decided.
type gated struct {
	eventstore.Store
	once   sync.Once
	before func()
}

func (g *gated) AppendMulti(ctx context.Context, parts ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	g.once.Do(g.before)
	return g.Store.AppendMulti(ctx, parts...)
}

func TestAppendToDocumentNeedsTheDocument(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	doc := uuid.New()
	zero := uint64(0)
	for _, et := range []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated} {
		e, a := demo.Next(c, domain.State{DocumentID: doc, Status: domain.StatusNew}, 1, et, now.Add(-time.Hour))
		_, err := svc.AppendToDocument(ctx, a, e, nil)
		assert.ErrorIs(t, err, commands.ErrNotFound, "%s opens no stream here", et)
		_, err = svc.AppendToDocument(ctx, a, e, &zero)
		assert.ErrorIs(t, err, commands.ErrNotFound, "%s with If-Match 0", et)
	}
	head, err := st.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, head, "nothing written")

	doc, s := journey(t, svc, 3, now.Add(-48*time.Hour), domain.DeliveryRequested, domain.DocumentIssued)
	e, a := demo.Next(c, s, 3, domain.CollectedFromRags, now.Add(-40*time.Hour))
	res, err := svc.AppendToDocument(ctx, a, e, nil)
	require.NoError(t, err)
	assert.Equal(t, doc, res.DocumentID)
	assert.Equal(t, uint64(3), res.Version)
}

// Two hand-overs of one registry race (issue 10 §8): the loser, overtaken after it decided,
// gets the answer a second hand-over gets (422 with state and allowed), or the winner's answer
// when its request was the same; never a duplicate conflict about an id it did not send.
func TestRegistryStepRaces(t *testing.T) {
	eachStore(t, func(t *testing.T, st eventstore.Store) {
		ctx := context.Background()
		winner := serviceOn(st)
		t0 := now.Add(-72 * time.Hour)
		acc := demo.ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
		for round, same := range []bool{false, true} {
			var docs []uuid.UUID
			for n := 0; n < 3; n++ {
				d, _ := journey(t, winner, 40+10*round+n, t0, toPacked...)
				docs = append(docs, d)
			}
			formed, err := winner.FormRegistry(ctx, acc, commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
				FromUnit: c.GKAccumulation.Unit, ToUnit: c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: t0.Add(8 * time.Hour)})
			require.NoError(t, err)
			h := commands.Handover{EventID: uuid.New(), RegistryID: formed.RegistryID, Courier: c.GKCourier, OccurredAt: t0.Add(9 * time.Hour)}
			var won commands.RegistryResult
			loser := serviceOn(&gated{Store: st, before: func() {
				won, err = winner.HandOverRegistry(ctx, acc, h)
				require.NoError(t, err)
			}})
			mine := h
			if !same {
				mine.EventID = uuid.New()
			}
			got, err := loser.HandOverRegistry(ctx, acc, mine)
			if same {
				require.NoError(t, err)
				assert.Equal(t, won, got, "the same request gets the winner's answer")
				continue
			}
			var se *domain.StepError
			require.ErrorAs(t, err, &se, "a second hand-over is refused as such")
			assert.Equal(t, "handed_over", se.State)
			assert.NotErrorIs(t, err, eventstore.ErrDuplicateConflict)
		}
	})
}

// Issue 10 §3: a registry step by a right-role key of another unit is refused (403) at every
// step, and writes nothing.
func TestRegistryStepsCheckTheUnit(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	t0 := now.Add(-72 * time.Hour)
	var docs []uuid.UUID
	for n := 60; n < 62; n++ {
		d, _ := journey(t, svc, n, t0, toPacked...)
		docs = append(docs, d)
	}
	acc := demo.ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	accAst := acc
	accAst.Unit = "GK-AST-ACC"
	at := t0.Add(8 * time.Hour)
	var fe *domain.ForbiddenError
	head, _ := st.Head(ctx)

	_, err := svc.FormRegistry(ctx, accAst, commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
		FromUnit: accAst.Unit, ToUnit: c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: at})
	require.ErrorAs(t, err, &fe, "P.13 another sector may not list documents this one holds")
	after, _ := st.Head(ctx)
	assert.Equal(t, head, after, "nothing written")

	formed, err := svc.FormRegistry(ctx, acc, commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
		FromUnit: c.GKAccumulation.Unit, ToUnit: c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: at})
	require.NoError(t, err)
	h := commands.Handover{EventID: uuid.New(), RegistryID: formed.RegistryID, Courier: c.GKCourier, OccurredAt: at.Add(time.Hour)}
	_, err = svc.HandOverRegistry(ctx, accAst, h)
	require.ErrorAs(t, err, &fe, "P.17 only the giving sector hands its registry over")
	_, err = svc.HandOverRegistry(ctx, acc, h)
	require.NoError(t, err)

	intake := demo.ActorOf(domain.RoleKaspiIntake, c.KaspiIntake)
	intakeAst := intake
	intakeAst.Unit = "KSP-AST-IN1"
	a := commands.Acceptance{EventID: uuid.New(), RegistryID: formed.RegistryID, Accepted: docs, OccurredAt: at.Add(3 * time.Hour)}
	_, err = svc.AcceptRegistry(ctx, intakeAst, a)
	require.ErrorAs(t, err, &fe, "P.18 only the receiving intake point accepts")
	_, err = svc.AcceptRegistry(ctx, intake, a)
	require.NoError(t, err)
}
