package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryLifecycle(t *testing.T) {
	id := uuid.New()
	d1, d2, d3, d4 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	formed := &RegistryFormedData{Kind: RegistryDispatch, From: hGKAcc, To: hKIntake, Documents: []uuid.UUID{d1, d2, d3}}
	require.NoError(t, formed.Validate())
	ev := func(p Payload, at time.Time) Event {
		return Event{ID: uuid.New(), DocumentID: id, Type: p.EventType(), OccurredAt: at, Payload: p}
	}
	r := EvolveRegistry(Registry{}, ev(formed, t0))
	assert.Equal(t, RegistryStatusFormed, r.Status)
	acc := &RegistryAcceptedData{Accepted: []uuid.UUID{d1}, Missing: []uuid.UUID{d2}, Damaged: []uuid.UUID{d3}, Extra: []uuid.UUID{d4}, By: hKIntake}

	var re *StepError
	require.ErrorAs(t, DecideAcceptance(r, acc), &re, "P.17 a dispatch registry travels with a courier first")
	r = EvolveRegistry(r, ev(&RegistryHandedOverData{Courier: hGKCour}, t0.Add(time.Hour)))
	assert.Equal(t, RegistryStatusHandedOver, r.Status)
	assert.Equal(t, hGKCour, *r.Courier)

	require.NoError(t, DecideAcceptance(r, acc), "P.18 every line accounted for")
	cases := map[string]*RegistryAcceptedData{
		"a line unaccounted":   {Accepted: []uuid.UUID{d1}, Missing: []uuid.UUID{d2}, By: hKIntake},
		"an unknown line":      {Accepted: []uuid.UUID{d1, d2, d3, d4}, By: hKIntake},
		"a listed line extra":  {Accepted: []uuid.UUID{d1, d2, d3}, Extra: []uuid.UUID{d1}, By: hKIntake},
		"a line in two places": {Accepted: []uuid.UUID{d1, d2, d3}, Missing: []uuid.UUID{d1}, By: hKIntake},
		"no signer":            {Accepted: []uuid.UUID{d1, d2, d3}},
	}
	for name, a := range cases {
		assert.Error(t, DecideAcceptance(r, a), "P.18 %s", name)
	}
	r = EvolveRegistry(r, ev(acc, t0.Add(20*time.Hour)))
	assert.Equal(t, RegistryStatusAccepted, r.Status)
	require.ErrorAs(t, DecideAcceptance(r, acc), &re)
	assert.Contains(t, re.Error(), "already accepted")
	assert.Error(t, DecideAcceptance(Registry{}, acc))

	// P.14: a RAGS issuance registry is accepted at the ЦОН without a courier step.
	rr := EvolveRegistry(Registry{}, ev(&RegistryFormedData{Kind: RegistryRagsIssuance, From: hGKAcc, To: hGKIss, Documents: []uuid.UUID{d1}}, t0))
	assert.False(t, NeedsHandover(RegistryRagsIssuance))
	require.NoError(t, DecideAcceptance(rr, &RegistryAcceptedData{Accepted: []uuid.UUID{d1}, By: hGKIss}))
}

func TestStreamPayloadValidation(t *testing.T) {
	d := uuid.New()
	good := []Payload{
		&RegistryFormedData{Kind: RegistryReturnCollection, From: hKIntake, To: hGKIss, Documents: []uuid.UUID{d}},
		&RegistryHandedOverData{Courier: hGKCour},
		&ForceMajeureDeclaredData{From: t0, To: t0.Add(24 * time.Hour), Orgs: []Org{OrgKaspi}, NotifyingOrg: OrgKaspi, Description: "P.37 blizzard",
			Evidence: &FMEvidence{Issuer: "akimat", Number: "EC-1", Date: "2026-03-16"}, Notified: []Org{OrgGK, OrgRAGS}},
		&DisputeOpenedData{DocumentIDs: []uuid.UUID{d}, Parties: []Org{OrgGK, OrgKaspi}, Subject: "who lost it"},
		&DisputeResolvedData{ProtocolNumber: "PR-1", Decision: "GK answers", ChargedTo: []Org{OrgGK}},
	}
	for _, p := range good {
		require.NoError(t, p.Validate(), p.EventType())
		e := Event{ID: uuid.New(), DocumentID: d, Type: p.EventType(), OccurredAt: t0, Payload: p}
		b, err := Encode(e)
		require.NoError(t, err)
		got, err := Decode(b)
		require.NoError(t, err)
		assert.Equal(t, p.EventType(), got.Type)
	}
	bad := map[string]Payload{
		"registry kind":     &RegistryFormedData{Kind: "x", From: hKIntake, To: hGKIss, Documents: []uuid.UUID{d}},
		"registry from":     &RegistryFormedData{Kind: RegistryDispatch, To: hGKIss, Documents: []uuid.UUID{d}},
		"registry to":       &RegistryFormedData{Kind: RegistryDispatch, From: hGKIss, Documents: []uuid.UUID{d}},
		"registry empty":    &RegistryFormedData{Kind: RegistryDispatch, From: hGKAcc, To: hKIntake},
		"registry twice":    &RegistryFormedData{Kind: RegistryDispatch, From: hGKAcc, To: hKIntake, Documents: []uuid.UUID{d, d}},
		"registry nil id":   &RegistryFormedData{Kind: RegistryDispatch, From: hGKAcc, To: hKIntake, Documents: []uuid.UUID{uuid.Nil}},
		"courier":           &RegistryHandedOverData{},
		"fm period":         &ForceMajeureDeclaredData{From: t0, NotifyingOrg: OrgKaspi, Description: "x"},
		"fm reversed":       &ForceMajeureDeclaredData{From: t0, To: t0.Add(-time.Hour), NotifyingOrg: OrgKaspi, Description: "x"},
		"fm org":            &ForceMajeureDeclaredData{From: t0, To: t0.Add(time.Hour), Orgs: []Org{"bank"}, NotifyingOrg: OrgKaspi, Description: "x"},
		"fm notifier":       &ForceMajeureDeclaredData{From: t0, To: t0.Add(time.Hour), Description: "x"},
		"fm region":         &ForceMajeureDeclaredData{From: t0, To: t0.Add(time.Hour), NotifyingOrg: OrgGK, Region: string(make([]byte, 101)), Description: "x"},
		"fm description":    &ForceMajeureDeclaredData{From: t0, To: t0.Add(time.Hour), NotifyingOrg: OrgGK},
		"dispute documents": &DisputeOpenedData{Subject: "x"},
		"dispute parties":   &DisputeOpenedData{DocumentIDs: []uuid.UUID{d}, Parties: []Org{"x"}, Subject: "x"},
		"dispute subject":   &DisputeOpenedData{DocumentIDs: []uuid.UUID{d}},
		"protocol":          &DisputeResolvedData{Decision: "x"},
		"charged":           &DisputeResolvedData{ProtocolNumber: "P1", Decision: "x", ChargedTo: []Org{"y"}},
		"decision":          &DisputeResolvedData{ProtocolNumber: "P1"},
	}
	for name, p := range bad {
		var ve *ValidationError
		assert.ErrorAs(t, p.Validate(), &ve, name)
	}
	many := make([]uuid.UUID, MaxRegistryLines+1)
	for i := range many {
		many[i] = uuid.New()
	}
	assert.Error(t, (&RegistryFormedData{Kind: RegistryDispatch, From: hGKAcc, To: hKIntake, Documents: many}).Validate())
}

func TestRegistryAllowed(t *testing.T) {
	d := uuid.New()
	ev := func(p Payload) Event {
		return Event{ID: uuid.New(), DocumentID: d, Type: p.EventType(), OccurredAt: t0, Payload: p}
	}
	assert.Equal(t, []EventType{RegistryFormed}, RegistryAllowed(Registry{}))
	disp := EvolveRegistry(Registry{}, ev(&RegistryFormedData{Kind: RegistryDispatch, From: hGKAcc, To: hKIntake, Documents: []uuid.UUID{d}}))
	assert.Equal(t, []EventType{RegistryHandedOver}, RegistryAllowed(disp), "P.17 a dispatch registry goes with a courier")
	rags := EvolveRegistry(Registry{}, ev(&RegistryFormedData{Kind: RegistryRagsIssuance, From: hGKAcc, To: hGKIss, Documents: []uuid.UUID{d}}))
	assert.Equal(t, []EventType{RegistryAccepted}, RegistryAllowed(rags), "P.14 accepted at the ЦОН")
	intake := EvolveRegistry(Registry{}, ev(&RegistryFormedData{Kind: RegistryIntakeAcceptance, From: hGKCour, To: hKIntake, Documents: []uuid.UUID{d}}))
	assert.Empty(t, RegistryAllowed(intake), "P.18 the intake registry is itself the acceptance")
	e := RefuseRegistryStep(Registry{}, "not formed")
	assert.Equal(t, "new", e.State)
	assert.Contains(t, e.Error(), "not formed")
}
