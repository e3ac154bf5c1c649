package domain

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type step struct {
	t     EventType
	after time.Duration // since the previous step
}

func steps(d time.Duration, ts ...EventType) []step {
	out := make([]step, len(ts))
	for i, t := range ts {
		out[i] = step{t: t, after: d}
	}
	return out
}

var (
	postomatToCell = steps(time.Hour, DeliveryRequested, DocumentIssued, KaspiOrderCreated, CollectedFromRags,
		ReceivedAtAccumulation, RoutedForDelivery, AddedToRegistry, Packed, HandedToCourier, AcceptedAtKaspiIntake,
		OutForPostomatDelivery, PlacedInCell)
	conToIssuance = steps(time.Hour, DocumentIssued, CollectedFromRags, ReceivedAtAccumulation, RoutedForDelivery,
		AddedToRegistry, ReceivedAtIssuance)
)

func cat(parts ...[]step) []step { return slices.Concat(parts...) }

// journeys are whole routes of DOMAIN.md, each accepted step by step.
var journeys = []struct {
	name   string
	source string
	steps  []step
	final  Status
	holder Org
}{
	{"postomat collected", "P.3–P.29", cat(postomatToCell, steps(time.Hour, CollectedByRecipient)), StatusCollected, OrgRecipient},
	{"postomat unclaimed, returned, issued at CON", "P.30–P.35",
		cat(postomatToCell, []step{{RemovedFromCell, 73 * time.Hour}}, steps(time.Hour, ReturnedToKaspiIntake,
			AddedToRegistry, CollectedFromKaspiIntake, ReceivedAtIssuance, IssuedToRecipient)), StatusIssuedToRecipient, OrgRecipient},
	{"postomat unclaimed, stored after a month", "P.35",
		cat(postomatToCell, []step{{RemovedFromCell, 72 * time.Hour}}, steps(time.Hour, ReturnedToKaspiIntake,
			CollectedFromKaspiIntake, ReceivedAtIssuance), []step{{TransferredForStorage, 32 * 24 * time.Hour}}), StatusStored, OrgRAGS},
	{"con route", "P.14", cat(conToIssuance, steps(time.Hour, IssuedToRecipient)), StatusIssuedToRecipient, OrgRecipient},
	{"delay then delivery", "P.27", cat(postomatToCell[:6], steps(time.Hour, DeliveryDelayed, Packed, HandedToCourier,
		DeliveryDelayed, AcceptedAtKaspiIntake)), StatusAtKaspiIntake, OrgKaspi},
	{"loss at Kaspi, act, cancellation, duplicate", "P.22–P.26", cat(postomatToCell[:10], steps(time.Hour, DocumentLost,
		LossActRegistered, ApplicationCancelled, DeadlineMissed, DuplicateRequested, DuplicateIssued, EventCorrected)),
		StatusDuplicateIssued, OrgKaspi},
	{"discrepancy and missed deadline keep custody", "P.18", cat(postomatToCell[:9], steps(time.Hour, IntakeDiscrepancy,
		DeadlineMissed, AcceptedAtKaspiIntake)), StatusAtKaspiIntake, OrgKaspi},
	{"courier returns an undeliverable envelope", "P.30, P.31", cat(postomatToCell[:11], steps(time.Hour, ReturnedToKaspiIntake)),
		StatusReturnedToIntake, OrgKaspi},
	{"correction after the end", "DOMAIN.md corrections", cat(conToIssuance, steps(time.Hour, IssuedToRecipient, EventCorrected)),
		StatusIssuedToRecipient, OrgRecipient},
}

// run folds a journey, asserting each step is accepted; it returns the events and the states
// reached before each step.
func run(t *testing.T, doc uuid.UUID, ss []step) ([]Event, []State) {
	t.Helper()
	s := State{DocumentID: doc, Status: StatusNew}
	at := t0
	var (
		evs    []Event
		states []State
	)
	for i, st := range ss {
		at = at.Add(st.after)
		e, a := propose(s, st.t, at)
		require.NoError(t, Decide(s, a, e, at), "step %d %s in %s", i, st.t, s.Status)
		states = append(states, s)
		s = Evolve(s, e)
		evs = append(evs, e)
	}
	return evs, states
}

func TestJourneysAccepted(t *testing.T) {
	for _, j := range journeys {
		t.Run(j.source+" "+j.name, func(t *testing.T) {
			doc := uuid.New()
			evs, _ := run(t, doc, j.steps)
			s := Fold(doc, evs)
			assert.Equal(t, j.final, s.Status)
			require.NotNil(t, s.Holder)
			assert.Equal(t, j.holder, s.Holder.Org)
			assert.Equal(t, uint64(len(evs)), s.Version)
		})
	}
}

// Every state reached by the journeys, with every event type: the allowed ones are accepted
// from the roles listed (a proposal may still fail a payload rule, tested separately), the
// others are refused with the state and the list of accepted types; roles not listed are 403.
// reached returns a state of every status the test journeys reach, each with a moment at
// which every step its status allows may be recorded.
func reached(t *testing.T) (map[Status]State, map[Status]time.Time) {
	seen := map[Status]State{}
	for _, j := range journeys {
		doc := uuid.New()
		evs, states := run(t, doc, j.steps)
		for _, s := range states {
			if _, ok := seen[s.Status]; !ok {
				seen[s.Status] = s
			}
		}
		seen[Fold(doc, evs).Status] = Fold(doc, evs)
	}
	seen[StatusNew] = State{DocumentID: uuid.New(), Status: StatusNew}
	when := map[Status]time.Time{}
	for status, s := range seen {
		at := s.LastOccurred.Add(time.Hour)
		if s.LastOccurred.IsZero() {
			at = t0
		}
		if status == StatusInCell {
			at = s.PlacedAt.Add(CellStorage)
		}
		if status == StatusAtIssuance {
			at = AddMonth(s.HolderSince)
		}
		when[status] = at
	}
	return seen, when
}

func TestEveryTransitionPerRole(t *testing.T) {
	seen, when := reached(t)
	for status, s := range seen {
		at := when[status]
		for _, et := range EventTypes {
			e, a := propose(s, et, at)
			err := Decide(s, a, e, at)
			name := string(status) + "/" + string(et)
			if !slices.Contains(Allowed(status), et) {
				var te *TransitionError
				require.ErrorAs(t, err, &te, name)
				assert.Equal(t, status, te.State, name)
				// The refusal lists what this caller's role could record now, never the
				// ledger's own DeadlineMissed (issue 11, small).
				assert.Equal(t, AllowedFor(status, a.Role), te.Allowed, name)
				for _, al := range te.Allowed {
					assert.True(t, MayRecord(a.Role, al) && slices.Contains(Allowed(status), al), "%s lists %s", name, al)
				}
				if a.Role != RoleSystem {
					assert.NotContains(t, te.Allowed, DeadlineMissed, name)
				}
				continue
			}
			var te *TransitionError
			if errors.As(err, &te) {
				t.Logf("%s: payload rule: %v", name, te.Reason) // e.g. a duplicate already requested
			} else {
				require.NoError(t, err, name)
			}
			for _, r := range Roles {
				if MayRecord(r, et) {
					continue
				}
				other := Actor{Role: r, Org: OrgOf(r), Unit: a.Unit}
				var fe *ForbiddenError
				require.ErrorAs(t, Decide(s, other, e, at), &fe, "%s by %s", name, r)
			}
		}
	}
	assert.GreaterOrEqual(t, len(seen), 20, "journeys reach almost every status")
}

func TestDecideRules(t *testing.T) {
	doc := uuid.New()
	evsCell, _ := run(t, doc, postomatToCell)
	inCell := Fold(doc, evsCell)
	evsRouted, _ := run(t, doc, postomatToCell[:6])
	routed := Fold(doc, evsRouted)
	conDoc := uuid.New()
	evsCON, _ := run(t, conDoc, conToIssuance)
	atIss := Fold(conDoc, evsCON)

	type tc struct {
		name   string
		s      State
		t      EventType
		at     time.Time
		mutate func(*Event, *Actor)
		want   any // nil, *ValidationError, *ForbiddenError, *TransitionError
	}
	later := inCell.LastOccurred.Add(time.Hour)
	cases := []tc{
		{"P.21 removal before 3 days of storage refused", inCell, RemovedFromCell, inCell.PlacedAt.Add(71 * time.Hour), nil, &TransitionError{}},
		{"P.30 removal after 3 days accepted", inCell, RemovedFromCell, inCell.PlacedAt.Add(72 * time.Hour), nil, nil},
		{"P.29 recipient collects within storage", inCell, CollectedByRecipient, later, nil, nil},
		{"P.4 only the chosen postomat", evsState(t, doc, postomatToCell[:11]), PlacedInCell, later, func(e *Event, _ *Actor) {
			p := e.Payload.(*PlacedInCellData)
			p.PostomatID, p.To.Unit = "PM-ALA-0999", "PM-ALA-0999"
		}, &TransitionError{}},
		{"P.19 the receiving unit is the postomat", evsState(t, doc, postomatToCell[:11]), PlacedInCell, later, func(e *Event, _ *Actor) {
			e.Payload.(*PlacedInCellData).To.Unit = "PM-ALA-0001"
		}, &TransitionError{}},
		{"P.16 envelope label must be the waybill", routed, Packed, later, func(e *Event, _ *Actor) {
			e.Payload.(*PackedData).EnvelopeLabel = "KSP-999999"
		}, &TransitionError{}},
		{"P.12 routing follows the requested method", routed, RoutedForDelivery, later, nil, &TransitionError{}},
		{"P.14 CON route goes to issuance", evsState(t, conDoc, conToIssuance[:5]), ReceivedAtIssuance, atIss.LastOccurred, nil, nil},
		{"P.14 postomat route does not go to issuance", routed, ReceivedAtIssuance, later, func(e *Event, a *Actor) {
			e.Payload.(*ReceivedAtIssuanceData).From = hGKAcc
		}, &TransitionError{}},
		{"P.35 storage transfer only after a month", atIss, TransferredForStorage, atIss.HolderSince.Add(29 * 24 * time.Hour), nil, &TransitionError{}},
		{"P.8 order only for postomat delivery", evsState(t, conDoc, conToIssuance[:1]), KaspiOrderCreated, later, nil, &TransitionError{}},
		{"P.8 one order per document", routed, KaspiOrderCreated, later, nil, &TransitionError{}},
		{"P.27 delay needs a later new date", routed, DeliveryDelayed, later, func(e *Event, _ *Actor) {
			e.Payload.(*DeliveryDelayedData).NewDate = later.Add(-time.Minute)
		}, &TransitionError{}},
		{"P.18 hand-over from someone who does not hold it", evsState(t, doc, postomatToCell[:9]), AcceptedAtKaspiIntake, later,
			func(e *Event, _ *Actor) { e.Payload.(*AcceptedAtKaspiIntakeData).From = hGKAcc }, &TransitionError{}},
		{"P.17 the dispatch registry goes to a GK courier", evsState(t, doc, postomatToCell[:8]), HandedToCourier, later,
			func(e *Event, _ *Actor) { e.Payload.(*HandedToCourierData).To = hKIntake }, &TransitionError{}},
		{"P.18 a unit acting for another unit is forbidden", evsState(t, doc, postomatToCell[:9]), AcceptedAtKaspiIntake, later,
			func(_ *Event, a *Actor) { a.Unit = "KSP-ALA-IN9" }, &ForbiddenError{}},
		{"P.9 the platform acts for Kaspi's side", evsState(t, doc, postomatToCell[:9]), AcceptedAtKaspiIntake, later,
			func(_ *Event, a *Actor) { *a = platform() }, nil},
		{"P.9 the platform does not act for GK", evsState(t, doc, postomatToCell[:3]), CollectedFromRags, later,
			func(_ *Event, a *Actor) { *a = platform() }, &ForbiddenError{}},
		{"key organisation must match its role", routed, Packed, later, func(_ *Event, a *Actor) { a.Org = OrgKaspi }, &ForbiddenError{}},
		{"occurred_at may not go back", inCell, CollectedByRecipient, inCell.LastOccurred.Add(-time.Second), nil, &ValidationError{}},
		{"occurred_at within clock skew", inCell, CollectedByRecipient, later, func(e *Event, _ *Actor) {
			e.OccurredAt = later.Add(MaxClockSkew)
		}, nil},
		{"occurred_at beyond clock skew", inCell, CollectedByRecipient, later, func(e *Event, _ *Actor) {
			e.OccurredAt = later.Add(MaxClockSkew + time.Second)
		}, &ValidationError{}},
		{"event of another document", inCell, CollectedByRecipient, later, func(e *Event, _ *Actor) { e.DocumentID = uuid.New() }, &ValidationError{}},
		{"con stream must name its method", State{DocumentID: doc, Status: StatusNew}, DocumentIssued, later, func(e *Event, _ *Actor) {
			e.Payload.(*DocumentIssuedData).Method = ""
		}, &TransitionError{}},
		{"issued method must match the request", evsState(t, doc, postomatToCell[:1]), DocumentIssued, later, func(e *Event, _ *Actor) {
			e.Payload.(*DocumentIssuedData).Method = MethodCON
		}, &TransitionError{}},
		{"P.24 loss act then cancellation", evsState(t, doc, cat(postomatToCell[:4], steps(time.Hour, DocumentLost, LossActRegistered))),
			ApplicationCancelled, later.Add(24 * time.Hour), nil, nil},
		{"P.26 the issued duplicate is the requested one", evsState(t, doc, cat(postomatToCell[:4], steps(time.Hour, DocumentLost,
			LossActRegistered, ApplicationCancelled, DuplicateRequested))), DuplicateIssued, later.Add(24 * time.Hour),
			func(e *Event, _ *Actor) { e.Payload.(*DuplicateIssuedData).DuplicateDocumentID = uuid.New() }, &TransitionError{}},
		{"registry kind must fit the state", routed, AddedToRegistry, later, func(e *Event, _ *Actor) {
			e.Payload.(*AddedToRegistryData).Kind = RegistryReturnCollection
		}, &TransitionError{}},
		{"terminal accepts only corrections", evsState(t, doc, cat(postomatToCell, steps(time.Hour, CollectedByRecipient))),
			DocumentLost, later.Add(2 * time.Hour), func(_ *Event, a *Actor) { *a = actorOf(RoleKaspiIntake, hKIntake) }, &TransitionError{}},
		{"invalid payload", routed, Packed, later, func(e *Event, _ *Actor) { e.Payload.(*PackedData).SealNumber = "" }, &ValidationError{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, a := propose(c.s, c.t, c.at)
			if c.mutate != nil {
				c.mutate(&e, &a)
			}
			err := Decide(c.s, a, e, c.at)
			switch c.want.(type) {
			case nil:
				require.NoError(t, err)
			case *ValidationError:
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
			case *ForbiddenError:
				var fe *ForbiddenError
				require.ErrorAs(t, err, &fe)
			case *TransitionError:
				var te *TransitionError
				require.ErrorAs(t, err, &te)
				assert.Equal(t, c.s.Status, te.State)
				assert.NotEmpty(t, te.Error())
			}
		})
	}
}

func evsState(t *testing.T, doc uuid.UUID, ss []step) State {
	evs, _ := run(t, doc, ss)
	return Fold(doc, evs)
}

// Evolve is total: a refused event replayed anyway changes nothing but the version.
func TestEvolveIgnoresEventsThatDoNotFit(t *testing.T) {
	s := State{DocumentID: uuid.New(), Status: StatusNew}
	e, _ := propose(s, PlacedInCell, t0)
	s2 := Evolve(s, e)
	assert.Equal(t, StatusNew, s2.Status)
	assert.Nil(t, s2.Holder)
	assert.Equal(t, uint64(1), s2.Version)
}

func TestStateFlags(t *testing.T) {
	doc := uuid.New()
	s := evsState(t, doc, cat(postomatToCell[:9], steps(time.Hour, IntakeDiscrepancy, DeliveryDelayed, DeadlineMissed)))
	assert.True(t, s.Flags.Damaged, "P.18 damaged")
	assert.True(t, s.Flags.Delayed, "P.27 delayed")
	assert.Equal(t, []string{"intake_wait"}, s.Flags.DeadlineMissed)
	assert.True(t, s.Flags.OrderCreated)
	assert.Equal(t, testWaybill, s.Waybill)
	require.NotNil(t, s.Recipient)
	assert.Equal(t, "**********15", s.Recipient.Masked().IIN)
	assert.Equal(t, "+*********67", s.Recipient.Masked().Phone)
}

// A ЦОН-route document learns its city from DocumentIssued, so regional force majeure reaches it.
func TestCONDocumentHasACity(t *testing.T) {
	s := evsState(t, uuid.New(), conToIssuance[:1])
	assert.Equal(t, "Almaty", s.City)
}

func TestStatusTerminal(t *testing.T) {
	for _, s := range []Status{StatusCollected, StatusIssuedToRecipient, StatusStored, StatusDuplicateIssued} {
		assert.True(t, s.Terminal(), s)
		// and ИИС ЦОН's acknowledgement of a status passed before the end (P.20).
		assert.Equal(t, []EventType{StatusTransmissionAcknowledged, EventCorrected}, Allowed(s),
			"P.35/P.29 terminal %s accepts only corrections and acknowledgements", s)
	}
	assert.False(t, StatusInCell.Terminal())
}

func TestRolesAndOrgs(t *testing.T) {
	for _, r := range Roles {
		assert.True(t, ValidRole(r))
	}
	assert.False(t, ValidRole(RoleSystem), "no key carries the system role")
	assert.False(t, ValidRole("root"))
	assert.Equal(t, OrgGK, OrgOf(RoleIISCON))
	assert.Equal(t, Org(""), OrgOf(RoleAuditor))
	assert.Equal(t, []Role{RoleKaspiPlatform}, RolesFor(DeliveryRequested))
	assert.Equal(t, "P.17", SourceOf(HandedToCourier)[len(SourceOf(HandedToCourier))-4:])
}
