package domain

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 10 §3: every step checks the unit that records it. Every event type, accepted from its
// right-role key in every status the journeys reach, is tried by the same role at another unit:
// 403, unless the table says no unit is named for it (and why).
func TestEveryTransitionPerUnit(t *testing.T) {
	seen, when := reached(t)
	states := make([]State, 0, len(seen)+1)
	for _, s := range seen {
		states = append(states, s)
	}
	// A loss reported without its act, so the act (LossActDrawnUp) is tried too.
	doc := uuid.New()
	evs, _ := run(t, doc, postomatToCell[:10])
	s := Fold(doc, evs)
	e, a := propose(s, DocumentLost, s.LastOccurred.Add(time.Hour))
	e.Payload.(*DocumentLostData).LossAct = LossAct{}
	require.NoError(t, Decide(s, a, e, e.OccurredAt))
	states = append(states, Evolve(s, e))
	when[StatusLost] = e.OccurredAt.Add(time.Hour)

	tried := map[EventType]bool{}
	for _, s := range states {
		status := s.Status
		at := when[status]
		for _, et := range Allowed(status) {
			e, a := propose(s, et, at)
			if et == EventCorrected && len(s.Units.Recorders) > 0 {
				a = holderActor(s.Units.Recorders[len(s.Units.Recorders)-1]) // a unit that recorded on it
				e.Actor = a
			}
			name := string(status) + "/" + string(et)
			if err := Decide(s, a, e, at); err != nil {
				var te *TransitionError
				require.ErrorAs(t, err, &te, name) // a payload rule of this state, e.g. the order exists
				continue
			}
			wrong := a
			wrong.Unit += "-OTHER"
			e.Actor = wrong
			err := Decide(s, wrong, e, at)
			rules, _ := UnitRulesFor(et)
			if slices.Equal(rules, []UnitRule{UnitAny}) || a.Role == RoleSystem || a.Role == RoleAdmin {
				assert.NoError(t, err, "%s: no unit is named", name)
				continue
			}
			var fe *ForbiddenError
			require.ErrorAs(t, err, &fe, "%s by %s@%s", name, wrong.Role, wrong.Unit)
			tried[et] = true
		}
	}
	for _, et := range EventTypes {
		rules, reason := UnitRulesFor(et)
		require.NotEmpty(t, rules, "%s has a row in the unit table", et)
		assert.NotEmpty(t, reason, et)
		if !slices.Equal(rules, []UnitRule{UnitAny}) {
			assert.True(t, tried[et], "%s was tried by a wrong unit", et)
		}
	}
}

// The cases the issue found (issue 10 §3, §4), against a document held by GK-ALA-ACC or lost.
func TestUnitRules(t *testing.T) {
	doc := uuid.New()
	evs, _ := run(t, doc, postomatToCell[:5]) // at the accumulation sector
	atAcc := Fold(doc, evs)
	at := atAcc.LastOccurred.Add(time.Hour)
	other := func(a Actor, unit string) Actor { a.Unit = unit; return a }
	accAst := Holder{Org: OrgGK, Unit: "GK-AST-ACC"}
	lostDoc := uuid.New()
	lostEvs, _ := run(t, lostDoc, cat(postomatToCell[:10], steps(time.Hour, DocumentLost, LossActRegistered)))
	registered := Fold(lostDoc, lostEvs)
	lost := Fold(lostDoc, lostEvs[:len(lostEvs)-1])
	transit := uuid.New()
	transitEvs, _ := run(t, transit, postomatToCell[:8]) // packed, listed on the dispatch registry, with the GK courier
	inTransit := Fold(transit, transitEvs)
	inTransit.Units.Due = &hKIntake // the dispatch registry goes to the Kaspi intake point

	cases := []struct {
		name  string
		s     State
		t     EventType
		actor func(Actor) Actor
		ok    bool
	}{
		{"P.12 routing by another sector", atAcc, RoutedForDelivery, func(a Actor) Actor { return other(a, accAst.Unit) }, false},
		{"P.12 routing by the sector that holds it", atAcc, RoutedForDelivery, nil, true},
		{"P.24 the loss act registered by another sector", lost, LossActRegistered, func(a Actor) Actor { return other(a, accAst.Unit) }, false},
		{"P.24 the loss act registered by the sector that took it in", lost, LossActRegistered, nil, true},
		{"P.24 the issuing RAGS office cancels", registered, ApplicationCancelled, nil, true},
		{"P.24 another RAGS office may not cancel", registered, ApplicationCancelled, func(a Actor) Actor { return other(a, "RAGS-AST-02") }, false},
		{"P.9 a second platform unit may not create the order", Fold(doc, evs[:2]), KaspiOrderCreated,
			func(a Actor) Actor { return other(a, "KASPI-APP-2") }, false},
		{"P.9 the requesting platform unit creates the order", Fold(doc, evs[:2]), KaspiOrderCreated, nil, true},
		{"P.22/P.23 the holder reports a loss", inTransit, DocumentLost, nil, true},
		{"P.22/P.23 the unit due to receive it reports a loss", inTransit, DocumentLost,
			func(Actor) Actor { return actorOf(RoleKaspiIntake, hKIntake) }, true},
		{"P.36 a postomat may not report a loss it neither holds nor awaits", inTransit, DocumentLost,
			func(Actor) Actor { return actorOf(RolePostomat, hPostomat) }, false},
		{"P.36 another sector may not report a loss", inTransit, DocumentLost,
			func(Actor) Actor { return actorOf(RoleGKAccumulation, accAst) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			when := at
			if c.s.DocumentID != doc {
				when = c.s.LastOccurred.Add(time.Hour)
			}
			e, a := propose(c.s, c.t, when)
			if c.actor != nil {
				a = c.actor(a)
				e.Actor = a
			}
			err := Decide(c.s, a, e, when)
			if c.ok {
				assert.NoError(t, err)
				return
			}
			var fe *ForbiddenError
			require.ErrorAs(t, err, &fe)
			if c.t == DocumentLost {
				assert.Contains(t, fe.Reason, "P.36", "the refusal points to the commission")
				assert.Contains(t, fe.Reason, "POST /v1/disputes")
			}
		})
	}
}
