package projections_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
)

// journeys drives random documents along random paths of the state machine (both routes,
// collections, returns, losses, delays, missing and damaged lines), with force majeure and
// the deadline watch at random moments, and the runner catching up at random moments.
type journeys struct {
	s    *scen
	rng  *rand.Rand
	docs []*jdoc
	now  time.Time
}

type jdoc struct {
	id       uuid.UUID
	con      bool
	pending  bool // on a registry waiting for its next step
	reg      uuid.UUID
	fate     int // 0 normal, 1 lost on the way, 2 missing at acceptance, 3 damaged
	unclaim  bool
	finished bool
}

func (j *journeys) chance(pct int) bool { return j.rng.IntN(100) < pct }

func (j *journeys) run(steps, maxDocs int) {
	s := j.s
	for range steps {
		j.now = j.now.Add(time.Duration(1+j.rng.IntN(240)) * time.Minute)
		s.at(j.now)
		switch r := j.rng.IntN(100); {
		case r < 12 && len(j.docs) < maxDocs:
			d := &jdoc{id: s.newDoc(), con: j.chance(25), unclaim: j.chance(30)}
			switch f := j.rng.IntN(100); {
			case f < 6:
				d.fate = 1
			case f < 10:
				d.fate = 2
			case f < 14:
				d.fate = 3
			}
			j.docs = append(j.docs, d)
			if d.con {
				s.step(d.id, domain.DocumentIssued, j.now)
			} else {
				s.step(d.id, domain.DeliveryRequested, j.now)
			}
		case r < 14:
			from := j.now.Add(-time.Duration(j.rng.IntN(72)) * time.Hour).Truncate(time.Hour)
			// P.37: each organisation declares for itself; orgs may be left to default to it.
			who := []domain.Actor{demo.Platform, s.acc()}[j.rng.IntN(2)]
			orgs := [][]domain.Org{nil, {who.Org}}[j.rng.IntN(2)]
			region := []string{"", "Almaty", "Astana"}[j.rng.IntN(3)]
			_, err := s.svc.DeclareForceMajeure(s.ctx, who, uuid.New(), j.now, domain.ForceMajeureDeclaredData{
				From: from, To: from.Add(time.Duration(1+j.rng.IntN(48)) * time.Hour), Orgs: orgs, Region: region,
				Description: "random period", Evidence: demo.Evidence(from), Notified: demo.NotifiedBy(who.Org)})
			require.NoError(s.t, err)
		case r < 18:
			s.tick()
		case r < 28:
			s.sync()
		default:
			if len(j.docs) > 0 {
				j.advance(j.docs[j.rng.IntN(len(j.docs))])
			}
		}
	}
}

// advance moves a document one step along its path, if its next step may happen now.
func (j *journeys) advance(d *jdoc) {
	s, now := j.s, j.now
	if d.finished || d.pending {
		return
	}
	st := s.state(d.id)
	if d.fate == 1 && st.Holder != nil && st.Status != domain.StatusIssued && (st.Flags.Missing || j.chance(20)) {
		s.step(d.id, domain.DocumentLost, now)
		s.step(d.id, domain.LossActRegistered, now.Add(time.Minute))
		s.step(d.id, domain.ApplicationCancelled, now.Add(2*time.Minute))
		d.finished = true
		return
	}
	switch st.Status {
	case domain.StatusRequested:
		s.step(d.id, domain.DocumentIssued, now)
	case domain.StatusIssued:
		if !d.con && !st.Flags.OrderCreated {
			s.step(d.id, domain.KaspiOrderCreated, now)
			return
		}
		s.step(d.id, domain.CollectedFromRags, now)
	case domain.StatusCollectedFromRags:
		s.step(d.id, domain.ReceivedAtAccumulation, now)
	case domain.StatusAtAccumulation:
		s.step(d.id, domain.RoutedForDelivery, now)
	case domain.StatusRouted:
		if d.con {
			reg := j.form(domain.RegistryRagsIssuance, s.c.GKAccumulation.Unit, s.c.GKIssuance.Unit, d.id)
			j.acceptAt(reg, demo.ActorOf(domain.RoleGKIssuance, s.c.GKIssuance), commands.Acceptance{Accepted: []uuid.UUID{d.id}})
			return
		}
		if j.chance(15) {
			s.step(d.id, domain.DeliveryDelayed, now)
		}
		s.step(d.id, domain.Packed, now)
	case domain.StatusPacked:
		d.reg = s.dispatch(now, now, d.id)
	case domain.StatusToKaspiIntake:
		a := commands.Acceptance{Accepted: []uuid.UUID{d.id}}
		switch d.fate {
		case 2:
			a = commands.Acceptance{Missing: []uuid.UUID{d.id}}
			d.fate = 1 // then it is reported lost
		case 3:
			a = commands.Acceptance{Damaged: []uuid.UUID{d.id}}
		}
		j.acceptAt(d.reg, demo.ActorOf(domain.RoleKaspiIntake, s.c.KaspiIntake), a)
	case domain.StatusAtKaspiIntake:
		s.step(d.id, domain.OutForPostomatDelivery, now)
	case domain.StatusOutForDelivery:
		s.step(d.id, domain.PlacedInCell, now)
	case domain.StatusInCell:
		if !d.unclaim {
			s.step(d.id, domain.CollectedByRecipient, now)
			d.finished = true
		} else if !now.Before(st.PlacedAt.Add(domain.CellStorage)) {
			s.step(d.id, domain.RemovedFromCell, now)
		}
	case domain.StatusRemovedFromCell:
		s.step(d.id, domain.ReturnedToKaspiIntake, now)
	case domain.StatusReturnedToIntake:
		reg := s.returnRegistry(now, d.id)
		s.collectReturns(reg, now, now, d.id)
	case domain.StatusAtIssuance:
		if j.chance(50) {
			s.step(d.id, domain.IssuedToRecipient, now)
			d.finished = true
		} else if !now.Before(domain.AddMonth(st.HolderSince)) {
			s.step(d.id, domain.TransferredForStorage, now)
			d.finished = true
		}
	default:
		d.finished = st.Status.Terminal() || st.Status == domain.StatusCancelled
	}
}

func (j *journeys) form(kind domain.RegistryKind, from, to string, docs ...uuid.UUID) uuid.UUID {
	res, err := j.s.svc.FormRegistry(j.s.ctx, j.s.acc(), commands.RegistryForm{EventID: uuid.New(), Kind: kind,
		FromUnit: from, ToUnit: to, DocumentIDs: docs, OccurredAt: j.now})
	require.NoError(j.s.t, err)
	return res.RegistryID
}

func (j *journeys) acceptAt(reg uuid.UUID, a domain.Actor, acc commands.Acceptance) {
	acc.EventID, acc.RegistryID, acc.OccurredAt = uuid.New(), reg, j.now
	_, err := j.s.svc.AcceptRegistry(j.s.ctx, a, acc)
	require.NoError(j.s.t, err)
}

// TestRebuildEqualsIncrementalRandomJourneys: random journeys applied at random moments in
// small batches give the same tables, byte for byte, as a rebuild from scratch.
func TestRebuildEqualsIncrementalRandomJourneys(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			backends(t, func(t *testing.T, mk func(testing.TB) backend) {
				rng := rand.New(rand.NewPCG(seed, 42))
				s := newScen(t, mk, projections.Options{BatchSize: 1 + rng.IntN(20)})
				j := &journeys{s: s, rng: rng, now: day(0, 8, 0)}
				j.run(300, 25)
				j.now = j.now.Add(40 * 24 * time.Hour) // let every clock run out, record the misses
				s.at(j.now)
				s.tick()
				s.sync()

				inc := dump(t, s.b.db, liveGen(t, s.b.db))
				st, err := s.p.Rebuild(s.ctx)
				require.NoError(t, err)
				reb := dump(t, s.b.db, st.Generation)
				for table := range inc {
					assert.Equal(t, inc[table], reb[table], "table %s", table)
				}
				assert.NotEmpty(t, inc["clocks"])
				assert.NotEmpty(t, inc["notifications"])
			})
		})
	}
}
