package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// missedOn sets the last event, a DeadlineMissed, to the given rule.
func missedOn(evs []Event, i int, rule, source string) {
	p := evs[i].Payload.(*DeadlineMissedData)
	p.Rule, p.Source, p.ChargedTo, p.Holder = rule, source, []Org{OrgGK}, hGKCour
}

func TestP10P17OneLateArrivalIsOneCharge(t *testing.T) {
	evs, _ := run(t, uuid.New(), cat(postomatToCell[:9], steps(time.Hour, DeadlineMissed, DeadlineMissed, AcceptedAtKaspiIntake)))
	missedOn(evs, 9, "intake_delivery", "P.17")
	missedOn(evs, 10, "order_to_intake", "P.10")
	charges := Liability(evs)
	require.Len(t, charges, 1, "P.10 and P.17 time one movement: one charge")
	c := charges[0]
	assert.Equal(t, OrgGK, c.Org)
	assert.Equal(t, ChargeDeadlineMissed, c.Kind)
	assert.Equal(t, "P.10, P.17", c.Source, "cites both points")
	assert.Equal(t, []uuid.UUID{evs[9].ID, evs[10].ID}, c.EventIDs)
	assert.Len(t, c.Reasons, 2)

	// A miss of another rule is still its own charge.
	evs, _ = run(t, uuid.New(), cat(postomatToCell[:10], steps(time.Hour, DeadlineMissed)))
	require.Len(t, Liability(evs), 1)
	assert.Equal(t, "P.11", Liability(evs)[0].Source)
}

// decideNext proposes et on s at its last time + 1h, lets mut adjust it, and decides it.
func decideNext(s State, et EventType, mut func(*Event, *Actor)) (State, error) {
	at := s.LastOccurred.Add(time.Hour)
	e, a := propose(s, et, at)
	if mut != nil {
		mut(&e, &a)
	}
	if err := Decide(s, a, e, at); err != nil {
		return s, err
	}
	return Evolve(s, e), nil
}

func TestP22P23LossNeedsTheLosingPartysAct(t *testing.T) {
	evs, _ := run(t, uuid.New(), postomatToCell[:10]) // at Kaspi intake
	s := Fold(evs[0].DocumentID, evs)
	noAct := func(e *Event, _ *Actor) { e.Payload.(*DocumentLostData).LossAct = LossAct{} }
	lost, err := decideNext(s, DocumentLost, noAct)
	require.NoError(t, err, "P.22 the loss may be reported before the act")

	_, err = decideNext(lost, LossActRegistered, nil)
	var tr *TransitionError
	require.ErrorAs(t, err, &tr, "P.24 cannot proceed without the losing party's act")
	assert.Contains(t, tr.Reason, "P.22(2)")

	_, err = decideNext(lost, LossActDrawnUp, func(_ *Event, a *Actor) { *a = actorOf(RoleGKAccumulation, hGKAcc) })
	var fe *ForbiddenError
	require.ErrorAs(t, err, &fe, "P.22 only the party that lost it draws up its act")

	_, err = decideNext(lost, LossActDrawnUp, func(e *Event, _ *Actor) { e.Payload.(*LossActDrawnUpData).ActDate = "" })
	var ve *ValidationError
	require.ErrorAs(t, err, &ve, "P.22(2) the act needs its date")
	assert.Equal(t, "data.act_date", ve.Field)

	withAct, err := decideNext(lost, LossActDrawnUp, nil)
	require.NoError(t, err, "P.22(2) Kaspi's act follows its report")
	require.NotNil(t, withAct.LossAct)
	assert.Equal(t, "LOSS-8", withAct.LossAct.ActNumber)
	_, err = decideNext(withAct, LossActDrawnUp, nil)
	require.ErrorAs(t, err, &tr, "one act per loss")
	_, err = decideNext(withAct, LossActRegistered, nil)
	require.NoError(t, err, "P.24 proceeds once the act is there")

	// P.23: GK's act recorded with the loss itself.
	evs, _ = run(t, uuid.New(), postomatToCell[:4]) // with the GK courier
	s = Fold(evs[0].DocumentID, evs)
	lost, err = decideNext(s, DocumentLost, nil)
	require.NoError(t, err)
	assert.Equal(t, OrgGK, lost.LostBy)
	require.NotNil(t, lost.LossAct, "P.23(2) the act came with the loss")
	_, err = decideNext(lost, LossActRegistered, nil)
	require.NoError(t, err)

	_, err = decideNext(s, DocumentLost, func(e *Event, _ *Actor) { e.Payload.(*DocumentLostData).Circumstances = "" })
	require.ErrorAs(t, err, &ve, "P.23(2) a partial act is refused")
	assert.Equal(t, "data.circumstances", ve.Field)
}

func TestP24CancellationNamesTheRegisteredLossAct(t *testing.T) {
	evs, _ := run(t, uuid.New(), cat(postomatToCell[:10], steps(time.Hour, DocumentLost, LossActRegistered)))
	s := Fold(evs[0].DocumentID, evs)
	assert.Equal(t, "ACT-7", s.SectorAct)
	_, err := decideNext(s, ApplicationCancelled, func(e *Event, _ *Actor) { e.Payload.(*ApplicationCancelledData).ActNumber = "ACT-8" })
	var tr *TransitionError
	require.ErrorAs(t, err, &tr, "P.24 another act number is refused")
	assert.Contains(t, tr.Reason, "ACT-7")
	_, err = decideNext(s, ApplicationCancelled, nil)
	require.NoError(t, err, "P.24 the registered act's number")
}

func fmDeclared(orgs ...Org) ForceMajeureDeclaredData {
	return ForceMajeureDeclaredData{From: t0, To: t0.Add(6 * time.Hour), Orgs: orgs, NotifyingOrg: OrgGK, Description: "flood",
		Evidence: &FMEvidence{Issuer: "Emergency commission of the akimat", Number: "EC-0316", Date: "2026-03-16"},
		Notified: []Org{OrgKaspi, OrgRAGS}}
}

func TestP37P39ForceMajeureCoversTheDeclaringOrganisationOnly(t *testing.T) {
	gk := actorOf(RoleGKAccumulation, hGKAcc)
	d, err := ScopeForceMajeure(gk, fmDeclared())
	require.NoError(t, err)
	assert.Equal(t, []Org{OrgGK}, d.Orgs, "P.37 an empty list is the declaring organisation, no longer every one")
	d, err = ScopeForceMajeure(gk, fmDeclared(OrgGK, OrgGK))
	require.NoError(t, err)
	assert.Equal(t, []Org{OrgGK}, d.Orgs)
	for _, orgs := range [][]Org{{OrgKaspi}, {OrgGK, OrgRAGS}} {
		_, err = ScopeForceMajeure(gk, fmDeclared(orgs...))
		var fe *ForbiddenError
		require.ErrorAs(t, err, &fe, "P.37 %v needs its own declaration", orgs)
		assert.Contains(t, fe.Reason, "P.37")
	}
}

func TestP38ForceMajeureCarriesTheAuthorisedBodysDocument(t *testing.T) {
	good := fmDeclared()
	require.NoError(t, good.Validate())
	for field, mut := range map[string]func(*ForceMajeureDeclaredData){
		"evidence":        func(d *ForceMajeureDeclaredData) { d.Evidence = nil },
		"evidence.issuer": func(d *ForceMajeureDeclaredData) { d.Evidence.Issuer = " " },
		"evidence.number": func(d *ForceMajeureDeclaredData) { d.Evidence.Number = "" },
		"evidence.date":   func(d *ForceMajeureDeclaredData) { d.Evidence.Date = "16.03.2026" },
		"notified":        func(d *ForceMajeureDeclaredData) { d.Notified = nil },
	} {
		d := fmDeclared()
		ev := *d.Evidence
		d.Evidence = &ev
		mut(&d)
		var ve *ValidationError
		require.ErrorAs(t, d.Validate(), &ve, "P.38 %s", field)
		assert.Equal(t, field, ve.Field)
	}
	d := fmDeclared()
	d.Notified = []Org{"bank"}
	require.Error(t, d.Validate(), "P.38 the parties notified are organisations of the pilot")
}

// TestCollectReceivePack covers P.6 (the GK courier collects from RAGS), P.7 (the
// accumulation sector receives and registers) and P.15 (only postomat deliveries are packed).
func TestCollectReceivePack(t *testing.T) {
	evs, _ := run(t, uuid.New(), conToIssuance[:1]) // a ЦОН-route document issued at RAGS
	issued := Fold(evs[0].DocumentID, evs)

	collected, err := decideNext(issued, CollectedFromRags, nil)
	require.NoError(t, err, "P.6 the GK courier collects the issued document from RAGS")
	require.NotNil(t, collected.Holder)
	assert.Equal(t, OrgGK, collected.Holder.Org)
	_, err = decideNext(issued, CollectedFromRags, func(_ *Event, a *Actor) { *a = actorOf(RoleGKAccumulation, hGKAcc) })
	var fe *ForbiddenError
	require.ErrorAs(t, err, &fe, "P.6 only the GK courier collects")
	_, err = decideNext(issued, ReceivedAtAccumulation, nil)
	var tr *TransitionError
	require.ErrorAs(t, err, &tr, "P.7 nothing to receive before the courier collected it")

	received, err := decideNext(collected, ReceivedAtAccumulation, nil)
	require.NoError(t, err, "P.7 the accumulation sector receives from the courier")
	assert.Equal(t, StatusAtAccumulation, received.Status)
	_, err = decideNext(collected, ReceivedAtAccumulation, func(e *Event, _ *Actor) {
		e.Payload.(*ReceivedAtAccumulationData).From = hRAGS
	})
	require.ErrorAs(t, err, &tr, "P.7 the giving side is the courier who holds it")

	routed, err := decideNext(received, RoutedForDelivery, nil)
	require.NoError(t, err)
	require.Equal(t, MethodCON, routed.Method)
	_, err = decideNext(routed, Packed, nil)
	require.ErrorAs(t, err, &tr, "P.15 a ЦОН-route document is not packed for a postomat")
	assert.Contains(t, tr.Reason, "P.15")
}
