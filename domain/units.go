package domain

import (
	"fmt"
	"slices"
)

// UnitRule names a unit that may record a step on a document, beyond the role (issue 10 §3):
// an actor records a step only for a document its own unit holds now, or for the unit the
// regulation names for that step.
type UnitRule string

const (
	// UnitSide: the giving or the receiving side the event names (a hand-over's from and to, a
	// discrepancy's giver and receiver).
	UnitSide UnitRule = "side"
	// UnitHolder: the unit holding the document now.
	UnitHolder UnitRule = "holder"
	// UnitDue: the unit due to receive the document in a pending hand-over (the receiving unit
	// of the registry that lists it, until it has received it).
	UnitDue UnitRule = "due"
	// UnitIssuer: the RAGS office that issued the document (P.14, P.24).
	UnitIssuer UnitRule = "issuer"
	// UnitAccumulation: the accumulation sector that received the document (P.7); it routes,
	// packs, forms the return registry and registers the loss act (P.12–P.16, P.24, P.32).
	// When the document never reached a sector, none is named and any sector may.
	UnitAccumulation UnitRule = "accumulation"
	// UnitPlatform: the platform unit that requested the delivery (or first acted for the
	// document); the Kaspi platform acts for Kaspi's units only through it (P.9).
	UnitPlatform UnitRule = "platform"
	// UnitReporter: the unit that reported the loss (its act, P.22, P.23).
	UnitReporter UnitRule = "reporter"
	// UnitDuplicate: the ЦОН where the recipient asked for the duplicate (P.26).
	UnitDuplicate UnitRule = "duplicate"
	// UnitRecorder: a unit that has recorded an event on the document (corrections).
	UnitRecorder UnitRule = "recorder"
	// UnitAny: any unit of the role; the reason says why nothing narrower applies.
	UnitAny UnitRule = "any"
)

// unitSpec is the unit part of the state machine's table: which units may record a step.
type unitSpec struct {
	rules  []UnitRule
	reason string // the refusal's explanation
}

var (
	sides     = unitSpec{[]UnitRule{UnitSide}, "the actor's unit is neither the giving nor the receiving side of this hand-over"}
	byHolder  = unitSpec{[]UnitRule{UnitHolder}, "a unit records this step only for a document it holds"}
	byAccSect = unitSpec{[]UnitRule{UnitAccumulation}, "the accumulation sector that received the document records this step (P.7, P.24)"}
	byPlatfm  = unitSpec{[]UnitRule{UnitPlatform}, "the platform unit that requested the delivery acts for it (P.9)"}
)

// unitSpecs lists, for every document event type, the units that may record it. A test checks
// it covers every type in EventTypes.
var unitSpecs = map[EventType]unitSpec{
	DeliveryRequested:        {[]UnitRule{UnitAny}, "the request opens the document; its platform unit becomes the document's (P.3, P.9)"},
	DocumentIssued:           sides,
	KaspiOrderCreated:        byPlatfm,
	CollectedFromRags:        sides,
	ReceivedAtAccumulation:   sides,
	RoutedForDelivery:        byHolder,
	AddedToRegistry:          {[]UnitRule{UnitHolder, UnitIssuer, UnitAccumulation}, "a registry lists documents its unit holds, the RAGS office's own (P.14) or, for returns, those its accumulation sector took in (P.32)"},
	Packed:                   byHolder,
	HandedToCourier:          sides,
	AcceptedAtKaspiIntake:    sides,
	OutForPostomatDelivery:   sides,
	PlacedInCell:             sides,
	CollectedByRecipient:     sides,
	RemovedFromCell:          sides,
	ReturnedToKaspiIntake:    sides,
	CollectedFromKaspiIntake: sides,
	ReceivedAtIssuance:       sides,
	IssuedToRecipient:        sides,
	TransferredForStorage:    sides,
	DeliveryDelayed:          byPlatfm,
	IntakeDiscrepancy:        {[]UnitRule{UnitSide}, "a discrepancy is recorded by the giving or the receiving side it names (P.18)"},
	DocumentLost: {[]UnitRule{UnitHolder, UnitDue}, "a loss is reported by the holder (P.22, P.23) or the unit due to receive the document; " +
		"any other party takes its concern to the commission (P.36, POST /v1/disputes)"},
	LossActDrawnUp:                 {[]UnitRule{UnitReporter}, "the act is drawn up by the unit that reported the loss (P.22, P.23)"},
	LossActRegistered:              byAccSect,
	ApplicationCancelled:           {[]UnitRule{UnitIssuer}, "the RAGS office that issued the document cancels the application (P.24)"},
	DuplicateRequested:             {[]UnitRule{UnitAny}, "the recipient asks for the duplicate at the ЦОН of their choice (P.25, P.26)"},
	DuplicateIssued:                {[]UnitRule{UnitIssuer, UnitDuplicate}, "the duplicate is issued by the RAGS office that issued the document or the ЦОН it was asked at (P.26)"},
	DeadlineMissed:                 {[]UnitRule{UnitAny}, "the ledger's own watch acts for no unit"},
	StatusTransmissionAcknowledged: {[]UnitRule{UnitAny}, "ИИС ЦОН acknowledges as GK's information system, for no unit (P.9, P.20)"},
	EventCorrected:                 {[]UnitRule{UnitRecorder}, "a unit corrects only a document it has recorded on"},
}

// UnitRulesFor returns the units that may record event type t, and why.
func UnitRulesFor(t EventType) ([]UnitRule, string) {
	u := unitSpecs[t]
	return slices.Clone(u.rules), u.reason
}

// Units are the units the regulation names for a document, learnt from its events.
type Units struct {
	Platform     string  // the Kaspi platform unit acting for the document
	Issuer       *Holder // the RAGS office that issued it
	Accumulation *Holder // the accumulation sector that received it
	Due          *Holder // the receiving unit of the registry that lists it, until it receives it
	Reporter     *Holder // the unit that reported the loss
	Duplicate    *Holder // the unit the duplicate was asked at
	Recorders    []Holder
}

// next learns from an event Evolve applies. Slices are copied, never appended in place: a
// replay keeps the states before each event.
func (u Units) next(e Event) Units {
	a := Holder{Org: e.Actor.Org, Unit: e.Actor.Unit}
	if a.Unit != "" && !slices.Contains(u.Recorders, a) {
		u.Recorders = append(slices.Clip(u.Recorders), a)
	}
	if t, ok := TransferOf(e); ok && u.Due != nil && t.To.SamePlace(*u.Due) {
		u.Due = nil
	}
	switch p := e.Payload.(type) {
	case *DeliveryRequestedData, *KaspiOrderCreatedData:
		if u.Platform == "" && e.Actor.Role == RoleKaspiPlatform {
			u.Platform = e.Actor.Unit
		}
	case *DocumentIssuedData:
		to := Holder{Org: p.To.Org, Unit: p.To.Unit}
		u.Issuer = &to
	case *ReceivedAtAccumulationData:
		to := Holder{Org: p.To.Org, Unit: p.To.Unit}
		u.Accumulation = &to
	case *AddedToRegistryData:
		if p.To != nil {
			to := Holder{Org: p.To.Org, Unit: p.To.Unit}
			u.Due = &to
		}
	case *DocumentLostData:
		u.Reporter = &a
	case *DuplicateRequestedData:
		u.Duplicate = &a
	}
	return u
}

// checkUnit refuses an actor whose unit the table does not admit for e (API: 403).
func checkUnit(s State, a Actor, e Event) error {
	switch a.Role {
	case RoleSystem, RoleAdmin, RoleCommission:
		return nil // they act for no unit
	}
	u, ok := unitSpecs[e.Type]
	if !ok {
		return &ForbiddenError{Role: a.Role, Event: e.Type, Reason: "no unit may record this event"}
	}
	for _, r := range u.rules {
		if admits(r, s, a, e) {
			return nil
		}
	}
	return &ForbiddenError{Role: a.Role, Event: e.Type, Reason: fmt.Sprintf("unit %s: %s", a.Unit, u.reason)}
}

// actsFor reports whether a may act as unit h: its own unit, or any Kaspi unit for the
// document's platform unit (P.9).
func actsFor(s State, a Actor, h *Holder) bool {
	if h == nil {
		return false
	}
	if a.Role == RoleKaspiPlatform {
		return h.Org == OrgKaspi && platformAdmits(s, a)
	}
	return h.Org == a.Org && h.Unit == a.Unit
}

func platformAdmits(s State, a Actor) bool {
	return a.Role == RoleKaspiPlatform && (s.Units.Platform == "" || s.Units.Platform == a.Unit)
}

func admits(r UnitRule, s State, a Actor, e Event) bool {
	switch r {
	case UnitAny:
		return true
	case UnitSide:
		from, to, ok := sidesOf(e)
		return ok && (actsFor(s, a, &from) || actsFor(s, a, &to))
	case UnitHolder:
		return actsFor(s, a, s.Holder)
	case UnitDue:
		return actsFor(s, a, s.Units.Due)
	case UnitIssuer:
		return actsFor(s, a, s.Units.Issuer)
	case UnitAccumulation:
		if s.Units.Accumulation == nil {
			return true // the document never reached a sector: none is named
		}
		return actsFor(s, a, s.Units.Accumulation)
	case UnitPlatform:
		return platformAdmits(s, a)
	case UnitReporter:
		return actsFor(s, a, s.Units.Reporter)
	case UnitDuplicate:
		return actsFor(s, a, s.Units.Duplicate)
	case UnitRecorder:
		return slices.ContainsFunc(s.Units.Recorders, func(h Holder) bool { return actsFor(s, a, &h) })
	}
	return false
}

// sidesOf returns the two sides an event names: a hand-over's, or a discrepancy's.
func sidesOf(e Event) (from, to Holder, ok bool) {
	if t, ok := TransferOf(e); ok {
		return t.From, t.To, true
	}
	if p, ok := e.Payload.(*IntakeDiscrepancyData); ok {
		return p.Giver, p.Receiver, true
	}
	return Holder{}, Holder{}, false
}

// checkSides refuses an actor whose unit is neither side of hand-over t (application files,
// whose units the application's own rules name).
func checkSides(a Actor, et EventType, t Transfer) error {
	if actsFor(State{}, a, &t.From) || actsFor(State{}, a, &t.To) {
		return nil
	}
	return &ForbiddenError{Role: a.Role, Event: et, Reason: sides.reason}
}
