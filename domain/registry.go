package domain

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Events of registry streams (`registry-<uuid>`). Like the force-majeure and dispute streams'
// events they share the document events' envelope; their Event.DocumentID carries the id of
// their own stream.
const (
	RegistryFormed     EventType = "RegistryFormed"     // P.13, P.14, P.18, P.32
	RegistryHandedOver EventType = "RegistryHandedOver" // P.17, P.33
	RegistryAccepted   EventType = "RegistryAccepted"   // P.18, P.33, P.34
)

// RegistryFormedData lists the documents of a paper registry.
type RegistryFormedData struct {
	Kind      RegistryKind `json:"kind"`
	From      Holder       `json:"from"` // the unit that hands the documents over
	To        Holder       `json:"to"`   // the unit that receives them
	Documents []uuid.UUID  `json:"document_ids"`
}

// RegistryHandedOverData: the registry and its envelopes left the giving unit with a courier.
type RegistryHandedOverData struct {
	Courier Holder `json:"courier"`
}

// RegistryAcceptedData: the receiving unit signed the registry, line by line.
type RegistryAcceptedData struct {
	Accepted []uuid.UUID `json:"accepted"`
	Missing  []uuid.UUID `json:"missing"`
	Damaged  []uuid.UUID `json:"damaged"`
	Extra    []uuid.UUID `json:"extra"`
	By       Holder      `json:"by"`
}

func (RegistryFormedData) EventType() EventType     { return RegistryFormed }
func (RegistryHandedOverData) EventType() EventType { return RegistryHandedOver }
func (RegistryAcceptedData) EventType() EventType   { return RegistryAccepted }

// MaxRegistryLines bounds a registry so one hand-over stays one reasonable transaction.
const MaxRegistryLines = 500

func validIDs(field string, ids []uuid.UUID, need bool) error {
	if need && len(ids) == 0 {
		return invalid(field, "required")
	}
	if len(ids) > MaxRegistryLines {
		return invalid(field, "more than %d lines", MaxRegistryLines)
	}
	seen := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		if id == uuid.Nil {
			return invalid(field, "a nil id")
		}
		if seen[id] {
			return invalid(field, "document %s listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

func (d *RegistryFormedData) Validate() error {
	if err := validKind(d.Kind); err != nil {
		return err
	}
	if err := d.From.validate("from", true); err != nil {
		return err
	}
	if err := d.To.validate("to", true); err != nil {
		return err
	}
	return validIDs("document_ids", d.Documents, true)
}

func (d *RegistryHandedOverData) Validate() error { return d.Courier.validate("courier", true) }

func (d *RegistryAcceptedData) Validate() error {
	for f, ids := range map[string][]uuid.UUID{"accepted": d.Accepted, "missing": d.Missing, "damaged": d.Damaged, "extra": d.Extra} {
		if err := validIDs(f, ids, false); err != nil {
			return err
		}
	}
	if err := validIDs("lines", slices.Concat(d.Accepted, d.Missing, d.Damaged, d.Extra), false); err != nil {
		return err
	}
	return d.By.validate("by", true)
}

// RegistryStatus is where a registry is.
type RegistryStatus string

const (
	RegistryStatusNew        RegistryStatus = ""
	RegistryStatusFormed     RegistryStatus = "formed"
	RegistryStatusHandedOver RegistryStatus = "handed_over"
	RegistryStatusAccepted   RegistryStatus = "accepted"
)

// Registry is a registry stream folded.
type Registry struct {
	ID         uuid.UUID             `json:"registry_id"`
	Status     RegistryStatus        `json:"status"`
	Version    uint64                `json:"version"`
	Formed     *RegistryFormedData   `json:"formed,omitempty"`
	FormedAt   time.Time             `json:"formed_at,omitzero"`
	Courier    *Holder               `json:"courier,omitempty"`
	HandedAt   time.Time             `json:"handed_over_at,omitzero"`
	Acceptance *RegistryAcceptedData `json:"acceptance,omitempty"`
	AcceptedAt time.Time             `json:"accepted_at,omitzero"`
}

// EvolveRegistry applies one registry event.
func EvolveRegistry(r Registry, e Event) Registry {
	r.Version++
	switch p := e.Payload.(type) {
	case *RegistryFormedData:
		if r.Status == RegistryStatusNew {
			r.ID, r.Status, r.Formed, r.FormedAt = e.DocumentID, RegistryStatusFormed, p, e.OccurredAt
		}
	case *RegistryHandedOverData:
		if r.Status == RegistryStatusFormed {
			c := p.Courier
			r.Status, r.Courier, r.HandedAt = RegistryStatusHandedOver, &c, e.OccurredAt
		}
	case *RegistryAcceptedData:
		if r.Status == RegistryStatusHandedOver || (r.Status == RegistryStatusFormed && !needsHandover(r.Formed.Kind)) {
			r.Status, r.Acceptance, r.AcceptedAt = RegistryStatusAccepted, p, e.OccurredAt
		}
	}
	return r
}

// needsHandover says whether a registry kind travels with a courier before acceptance:
// dispatch (P.17) and return collection (P.33) do; a RAGS issuance registry is accepted at the
// ЦОН directly (P.14) and an intake acceptance registry is itself the record of acceptance (P.18).
func needsHandover(k RegistryKind) bool {
	return k == RegistryDispatch || k == RegistryReturnCollection
}

// NeedsHandover is needsHandover for callers outside the package.
func NeedsHandover(k RegistryKind) bool { return needsHandover(k) }

// RegistryAllowed lists the steps a registry accepts now.
func RegistryAllowed(r Registry) []EventType {
	switch {
	case r.Status == RegistryStatusNew:
		return []EventType{RegistryFormed}
	case r.Status == RegistryStatusFormed && needsHandover(r.Formed.Kind):
		return []EventType{RegistryHandedOver}
	case r.Status == RegistryStatusFormed && r.Formed.Kind == RegistryRagsIssuance,
		r.Status == RegistryStatusHandedOver:
		return []EventType{RegistryAccepted}
	}
	return []EventType{}
}

// RefuseRegistryStep refuses a step on registry r for reason.
func RefuseRegistryStep(r Registry, reason string) *StepError {
	state := string(r.Status)
	if state == "" {
		state = "new"
	}
	return &StepError{State: state, Allowed: RegistryAllowed(r), Reason: reason}
}

// DecideAcceptance checks that an acceptance accounts for every line of the registry exactly
// once (accepted, missing or damaged) and that extra lines are not on it (P.18).
func DecideAcceptance(r Registry, a *RegistryAcceptedData) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if r.Formed == nil {
		return RefuseRegistryStep(r, "not formed")
	}
	if r.Status == RegistryStatusAccepted {
		return RefuseRegistryStep(r, "already accepted")
	}
	if needsHandover(r.Formed.Kind) && r.Status != RegistryStatusHandedOver {
		return RefuseRegistryStep(r, "not handed over yet")
	}
	lines := map[uuid.UUID]bool{}
	for _, id := range r.Formed.Documents {
		lines[id] = false
	}
	for _, id := range slices.Concat(a.Accepted, a.Missing, a.Damaged) {
		if _, ok := lines[id]; !ok {
			return RefuseRegistryStep(r, fmt.Sprintf("document %s is not on the registry; list it as extra", id))
		}
		lines[id] = true
	}
	for _, id := range a.Extra {
		if _, ok := lines[id]; ok {
			return RefuseRegistryStep(r, fmt.Sprintf("document %s is on the registry, so it is not extra", id))
		}
	}
	for id, seen := range lines {
		if !seen {
			return RefuseRegistryStep(r, fmt.Sprintf("line %s is not accounted for (accepted, missing or damaged)", id))
		}
	}
	return nil
}
