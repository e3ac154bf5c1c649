package domain

import (
	"fmt"
	"slices"
	"time"
)

// spec says who may record an event type, in which statuses, and what it leads to.
type spec struct {
	roles  []Role
	from   []Status
	to     Status // "" leaves the status as it is
	giver  Org    // for custody transfers: the organisation handing over ("" = none)
	taker  Org    // for custody transfers: the organisation receiving
	source string
}

var custodyStatuses = []Status{StatusIssued, StatusCollectedFromRags, StatusAtAccumulation, StatusRouted,
	StatusPacked, StatusToKaspiIntake, StatusAtKaspiIntake, StatusOutForDelivery, StatusInCell,
	StatusRemovedFromCell, StatusReturnedToIntake, StatusReturnToCON, StatusAtIssuance}

var writerRoles = []Role{RoleRAGS, RoleGKCourier, RoleGKAccumulation, RoleGKIssuance, RoleKaspiIntake,
	RoleKaspiCourier, RolePostomat, RoleKaspiPlatform}

func plus(a []Status, b ...Status) []Status { return append(slices.Clone(a), b...) }

// specs is the custody state machine of DOMAIN.md (the units that may record each step are its
// other half, unitSpecs in units.go): the postomat journey (P.3–P.35), the ЦОН
// route (P.14), delays (P.27), discrepancies (P.18), loss (P.22–P.26) and the deadline watch.
var specs = map[EventType]spec{
	DeliveryRequested: {roles: []Role{RoleKaspiPlatform}, from: []Status{StatusNew}, to: StatusRequested, source: "P.3, P.4"},
	DocumentIssued: {roles: []Role{RoleRAGS}, from: []Status{StatusNew, StatusRequested}, to: StatusIssued,
		taker: OrgRAGS, source: "P.5, P.8"},
	KaspiOrderCreated: {roles: []Role{RoleKaspiPlatform},
		from: []Status{StatusIssued, StatusCollectedFromRags, StatusAtAccumulation, StatusRouted}, source: "P.8, P.9"},
	CollectedFromRags: {roles: []Role{RoleGKCourier}, from: []Status{StatusIssued}, to: StatusCollectedFromRags,
		giver: OrgRAGS, taker: OrgGK, source: "P.6"},
	ReceivedAtAccumulation: {roles: []Role{RoleGKAccumulation}, from: []Status{StatusCollectedFromRags},
		to: StatusAtAccumulation, giver: OrgGK, taker: OrgGK, source: "P.7"},
	RoutedForDelivery: {roles: []Role{RoleGKAccumulation}, from: []Status{StatusAtAccumulation}, to: StatusRouted,
		source: "P.12, P.13, P.14"},
	AddedToRegistry: {roles: []Role{RoleGKAccumulation, RoleRAGS, RoleKaspiIntake},
		from: []Status{StatusRouted, StatusPacked, StatusAtKaspiIntake, StatusReturnedToIntake}, source: "P.13, P.14, P.18, P.32"},
	Packed: {roles: []Role{RoleGKAccumulation}, from: []Status{StatusRouted}, to: StatusPacked, source: "P.15, P.16"},
	HandedToCourier: {roles: []Role{RoleGKAccumulation}, from: []Status{StatusPacked}, to: StatusToKaspiIntake,
		giver: OrgGK, taker: OrgGK, source: "P.13, P.17"},
	AcceptedAtKaspiIntake: {roles: []Role{RoleKaspiIntake, RoleKaspiPlatform}, from: []Status{StatusToKaspiIntake},
		to: StatusAtKaspiIntake, giver: OrgGK, taker: OrgKaspi, source: "P.18"},
	OutForPostomatDelivery: {roles: []Role{RoleKaspiCourier, RoleKaspiPlatform}, from: []Status{StatusAtKaspiIntake},
		to: StatusOutForDelivery, giver: OrgKaspi, taker: OrgKaspi, source: "P.19"},
	PlacedInCell: {roles: []Role{RoleKaspiCourier, RoleKaspiPlatform}, from: []Status{StatusOutForDelivery},
		to: StatusInCell, giver: OrgKaspi, taker: OrgKaspi, source: "P.19, P.21"},
	CollectedByRecipient: {roles: []Role{RoleKaspiPlatform, RolePostomat}, from: []Status{StatusInCell},
		to: StatusCollected, giver: OrgKaspi, taker: OrgRecipient, source: "P.29"},
	RemovedFromCell: {roles: []Role{RoleKaspiCourier, RoleKaspiPlatform}, from: []Status{StatusInCell},
		to: StatusRemovedFromCell, giver: OrgKaspi, taker: OrgKaspi, source: "P.30"},
	ReturnedToKaspiIntake: {roles: []Role{RoleKaspiIntake, RoleKaspiPlatform},
		from: []Status{StatusRemovedFromCell, StatusOutForDelivery}, to: StatusReturnedToIntake,
		giver: OrgKaspi, taker: OrgKaspi, source: "P.30, P.31"},
	CollectedFromKaspiIntake: {roles: []Role{RoleGKCourier}, from: []Status{StatusReturnedToIntake},
		to: StatusReturnToCON, giver: OrgKaspi, taker: OrgGK, source: "P.32, P.33"},
	ReceivedAtIssuance: {roles: []Role{RoleGKIssuance}, from: []Status{StatusReturnToCON, StatusRouted},
		to: StatusAtIssuance, giver: OrgGK, taker: OrgGK, source: "P.14, P.33, P.34"},
	IssuedToRecipient: {roles: []Role{RoleGKIssuance}, from: []Status{StatusAtIssuance}, to: StatusIssuedToRecipient,
		giver: OrgGK, taker: OrgRecipient, source: "P.35"},
	// P.35 says the ЦОН passes documents unclaimed for a month «услугополучателю», to the
	// recipient; read as the provider (RAGS), the only reading that fits storage: the
	// hand-over goes to RAGS.
	TransferredForStorage: {roles: []Role{RoleGKIssuance}, from: []Status{StatusAtIssuance}, to: StatusStored,
		giver: OrgGK, taker: OrgRAGS, source: "P.35"},
	DeliveryDelayed: {roles: []Role{RoleKaspiPlatform},
		from: []Status{StatusIssued, StatusCollectedFromRags, StatusAtAccumulation, StatusRouted, StatusPacked,
			StatusToKaspiIntake, StatusAtKaspiIntake, StatusOutForDelivery}, source: "P.27"},
	IntakeDiscrepancy: {roles: []Role{RoleKaspiIntake, RoleGKIssuance, RoleGKCourier, RoleGKAccumulation},
		from: custodyStatuses, source: "P.18"},
	DocumentLost:      {roles: writerRoles, from: custodyStatuses, to: StatusLost, source: "P.22, P.23"},
	LossActDrawnUp:    {roles: writerRoles, from: []Status{StatusLost}, source: "P.22, P.23"},
	LossActRegistered: {roles: []Role{RoleGKAccumulation}, from: []Status{StatusLost}, to: StatusLossActRegistered, source: "P.24"},
	ApplicationCancelled: {roles: []Role{RoleRAGS}, from: []Status{StatusLossActRegistered}, to: StatusCancelled,
		source: "P.24, P.25"},
	DuplicateRequested: {roles: []Role{RoleGKIssuance, RoleGKAccumulation, RoleRAGS}, from: []Status{StatusCancelled}, source: "P.26"},
	DuplicateIssued: {roles: []Role{RoleRAGS, RoleGKIssuance}, from: []Status{StatusCancelled}, to: StatusDuplicateIssued,
		source: "P.26"},
	StatusTransmissionAcknowledged: {roles: []Role{RoleIISCON}, from: everyStatus(), source: "P.9, P.20, P.22(3), P.31"},
	DeadlineMissed:                 {roles: []Role{RoleSystem}, from: plus(custodyStatuses, StatusCancelled), source: "DOMAIN.md Deadlines"},
	EventCorrected: {roles: append(slices.Clone(writerRoles), RoleAdmin, RoleCommission),
		from: plus(custodyStatuses, StatusRequested, StatusCollected, StatusIssuedToRecipient, StatusStored,
			StatusLost, StatusLossActRegistered, StatusCancelled, StatusDuplicateIssued), source: "DOMAIN.md: corrections"},
}

// SourceOf returns the regulation points an event type implements.
func SourceOf(t EventType) string { return specs[t].source }

// RolesFor returns the roles that may record event type t.
func RolesFor(t EventType) []Role { return slices.Clone(specs[t].roles) }

// MayRecord reports whether role r may ever record event type t (API: 403 otherwise).
func MayRecord(r Role, t EventType) bool { return slices.Contains(specs[t].roles, r) }

// Allowed returns the event types a document in status s accepts, in journey order.
func Allowed(s Status) []EventType {
	var out []EventType
	for _, t := range EventTypes {
		if slices.Contains(specs[t].from, s) {
			out = append(out, t)
		}
	}
	return out
}

// AllowedFor returns the event types a document in status s accepts from role r: what a
// refusal tells its caller it could record now (DeadlineMissed is the ledger's own).
func AllowedFor(s Status, r Role) []EventType {
	var out []EventType
	for _, t := range Allowed(s) {
		if MayRecord(r, t) {
			out = append(out, t)
		}
	}
	return out
}

// TransitionError refuses an event that does not fit the document's current state
// (API: 422 illegal_transition with state and allowed).
type TransitionError struct {
	State   Status
	Event   EventType
	Allowed []EventType
	Reason  string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s is not accepted in state %s: %s (accepted now: %v)", e.Event, e.State, e.Reason, e.Allowed)
}

// ForbiddenError refuses an actor who may not record this event (API: 403 forbidden).
type ForbiddenError struct {
	Role   Role
	Event  EventType
	Reason string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("role %s may not record %s: %s", e.Role, e.Event, e.Reason)
}

// Decide checks whether actor may record e on a document in state s at time now. It returns
// nil, a *ValidationError (bad fields or times), a *ForbiddenError (role or unit) or a
// *TransitionError (does not fit the state). It is deterministic: now is an argument.
func Decide(s State, actor Actor, e Event, now time.Time) error {
	if err := ValidateEvent(e); err != nil {
		return err
	}
	return DecideValid(s, actor, e, now)
}

// DecideValid is Decide for an event ValidateEvent already accepted: a command validates its
// event once and decides again on every retry.
func DecideValid(s State, actor Actor, e Event, now time.Time) error {
	if s.DocumentID != e.DocumentID && s.Status != StatusNew {
		return invalid("document_id", "event belongs to another document")
	}
	sp, ok := specs[e.Type]
	if !ok {
		return invalid("type", "unknown event type")
	}
	if !slices.Contains(sp.roles, actor.Role) {
		return &ForbiddenError{Role: actor.Role, Event: e.Type, Reason: fmt.Sprintf("recorded by %v", sp.roles)}
	}
	if actor.Org != OrgOf(actor.Role) {
		return &ForbiddenError{Role: actor.Role, Event: e.Type, Reason: "the key's organisation does not match its role"}
	}
	if e.OccurredAt.After(now.Add(MaxClockSkew)) {
		return invalid("occurred_at", "lies in the future")
	}
	if e.OccurredAt.Before(s.LastOccurred) {
		return invalid("occurred_at", "is before the stream's last event (%s); time may not go back",
			s.LastOccurred.In(Almaty).Format(time.RFC3339))
	}
	refuse := func(format string, args ...any) error {
		return &TransitionError{State: s.Status, Event: e.Type, Allowed: AllowedFor(s.Status, actor.Role), Reason: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(sp.from, s.Status) {
		if s.Status.Terminal() {
			return refuse("the document's journey has ended; only corrections are accepted")
		}
		return refuse("not a step that follows %s", s.Status)
	}
	if err := checkUnit(s, actor, e); err != nil {
		return err
	}
	if t, ok := TransferOf(e); ok {
		if err := checkTransfer(sp, s, t); err != nil {
			return refuse("%s", err)
		}
	}
	if reason := checkRule(s, e); reason != "" {
		return refuse("%s", reason)
	}
	if e.Type == LossActDrawnUp && actor.Org != s.LostBy {
		return &ForbiddenError{Role: actor.Role, Event: e.Type,
			Reason: fmt.Sprintf("the act is drawn up by the party that lost the document, %s (P.22, P.23)", s.LostBy)}
	}
	return nil
}

func checkTransfer(sp spec, s State, t Transfer) error {
	if sp.giver != "" {
		if s.Holder == nil || !t.From.SamePlace(*s.Holder) {
			return fmt.Errorf("the giving side %s/%s is not the current holder", t.From.Org, t.From.Unit)
		}
	}
	if t.From.Org != sp.giver {
		return fmt.Errorf("the giving side must be %q", sp.giver)
	}
	if t.To.Org != sp.taker {
		return fmt.Errorf("the receiving side must be %q", sp.taker)
	}
	return nil
}

// checkRule holds the per-event conditions of the regulation beyond the status.
func checkRule(s State, e Event) string {
	switch p := e.Payload.(type) {
	case *DocumentIssuedData:
		if s.Status == StatusNew && p.Method == "" {
			return "a stream that starts at DocumentIssued must name its delivery method"
		}
		if s.Method != "" && p.Method != "" && p.Method != s.Method {
			return fmt.Sprintf("method %s differs from the requested %s", p.Method, s.Method)
		}
	case *KaspiOrderCreatedData:
		if s.Method != MethodPostomat {
			return "a Kaspi order is created only for postomat delivery (P.8)"
		}
		if s.Flags.OrderCreated {
			return "the Kaspi order already exists"
		}
	case *RoutedForDeliveryData:
		if s.Method != "" && p.Method != s.Method {
			return fmt.Sprintf("the application asks for %s delivery (P.12)", s.Method)
		}
	case *AddedToRegistryData:
		want := map[RegistryKind]Status{RegistryDispatch: StatusPacked, RegistryRagsIssuance: StatusRouted,
			RegistryIntakeAcceptance: StatusAtKaspiIntake, RegistryReturnCollection: StatusReturnedToIntake}[p.Kind]
		if p.Kind == RegistryDispatch && s.Status == StatusRouted && s.Method == MethodPostomat {
			return "" // formed before packing is fine
		}
		if s.Status != want || (p.Kind == RegistryRagsIssuance && s.Method != MethodCON) {
			return fmt.Sprintf("a %s registry lists documents in state %s", p.Kind, want)
		}
	case *PackedData:
		if s.Method != MethodPostomat {
			return "only postomat deliveries are packed (P.15)"
		}
		if !s.Flags.OrderCreated {
			return "no Kaspi order yet: the envelope label is the waybill (P.16)"
		}
		if p.EnvelopeLabel != s.Waybill {
			return "the envelope label must be the waybill (P.16)"
		}
	case *PlacedInCellData:
		if p.To.Unit != p.PostomatID {
			return "the receiving unit must be the postomat"
		}
		if s.PostomatID != "" && p.PostomatID != s.PostomatID {
			return "not the postomat the recipient chose (P.4)"
		}
	case *RemovedFromCellData:
		if e.OccurredAt.Before(s.PlacedAt.Add(CellStorage)) {
			return "the 3-day storage period has not ended (P.21, P.29, P.30)"
		}
	case *ReceivedAtIssuanceData:
		if s.Status == StatusRouted && s.Method != MethodCON {
			return "only ЦОН deliveries go from the accumulation sector to issuance (P.14)"
		}
	case *TransferredForStorageData:
		if e.OccurredAt.Before(AddMonth(s.HolderSince)) {
			return "documents are kept at issuance for one month first (P.35)"
		}
	case *DeliveryDelayedData:
		if s.Method != MethodPostomat || !s.Flags.OrderCreated {
			return "a delay is notified for a Kaspi order (P.27)"
		}
		if !p.NewDate.After(e.OccurredAt) {
			return "the new delivery date must lie after the notice"
		}
	case *StatusTransmissionAcknowledgedData:
		if !s.unacknowledged(p.Transmitted) {
			return "transmitted_event_id names no status of this document awaiting ИИС ЦОН's acknowledgement (P.9, P.20)"
		}
	case *LossActDrawnUpData:
		if s.LossAct != nil {
			return "the losing party's act is already recorded (P.22, P.23)"
		}
	case *LossActRegisteredData:
		if s.LossAct == nil {
			return "the losing party has not drawn up its act (number, date, circumstances; P.22(2), P.23(2)): " +
				"record it with DocumentLost or LossActDrawnUp first"
		}
	case *ApplicationCancelledData:
		if p.ActNumber != s.SectorAct {
			return fmt.Sprintf("the cancellation names loss act %q; the sector's registered loss act is %q (P.24)", p.ActNumber, s.SectorAct)
		}
	case *DuplicateRequestedData:
		if s.Duplicate != nil {
			return "a duplicate is already requested"
		}
	case *DuplicateIssuedData:
		if s.Duplicate != nil && *s.Duplicate != p.DuplicateDocumentID {
			return "not the duplicate that was requested"
		}
	}
	return ""
}

// CellStorage is how long a document waits in a postomat cell (P.21, P.29).
const CellStorage = 72 * time.Hour
