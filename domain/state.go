package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Status is where a document is in its journey.
type Status string

const (
	StatusNew               Status = "new"                 // no event yet
	StatusRequested         Status = "requested"           // DeliveryRequested (P.3)
	StatusIssued            Status = "issued"              // at RAGS (P.5)
	StatusCollectedFromRags Status = "collected_from_rags" // GK courier (P.6)
	StatusAtAccumulation    Status = "at_accumulation"     // P.7
	StatusRouted            Status = "routed"              // P.12–P.14
	StatusPacked            Status = "packed"              // P.15, P.16
	StatusToKaspiIntake     Status = "to_kaspi_intake"     // GK courier with the dispatch registry (P.17)
	StatusAtKaspiIntake     Status = "at_kaspi_intake"     // P.18
	StatusOutForDelivery    Status = "out_for_delivery"    // Kaspi courier (P.19)
	StatusInCell            Status = "in_cell"             // P.21
	StatusCollected         Status = "collected"           // terminal (P.29)
	StatusRemovedFromCell   Status = "removed_from_cell"   // P.30
	StatusReturnedToIntake  Status = "returned_to_intake"  // P.30, P.31
	StatusReturnToCON       Status = "return_to_con"       // GK courier with returns (P.33)
	StatusAtIssuance        Status = "at_issuance"         // P.14, P.34
	StatusIssuedToRecipient Status = "issued_to_recipient" // terminal (P.35)
	StatusStored            Status = "stored"              // terminal (P.35)
	StatusLost              Status = "lost"                // P.22, P.23
	StatusLossActRegistered Status = "loss_act_registered" // P.24
	StatusCancelled         Status = "cancelled"           // P.24, awaiting the duplicate (P.26)
	StatusDuplicateIssued   Status = "duplicate_issued"    // terminal (P.26)
)

// Terminal reports whether a status accepts nothing but corrections.
func (s Status) Terminal() bool {
	switch s {
	case StatusCollected, StatusIssuedToRecipient, StatusStored, StatusDuplicateIssued:
		return true
	}
	return false
}

// State is a document folded from its events.
type State struct {
	DocumentID    uuid.UUID      `json:"document_id"`
	Status        Status         `json:"state"`
	Version       uint64         `json:"version"` // number of events folded
	Method        DeliveryMethod `json:"method,omitempty"`
	ApplicationNo string         `json:"application_no,omitempty"`
	ServiceCode   string         `json:"service_code,omitempty"`
	City          string         `json:"city,omitempty"`
	PostomatID    string         `json:"postomat_id,omitempty"`
	CellID        string         `json:"cell_id,omitempty"`
	Waybill       string         `json:"waybill,omitempty"`
	Certificate   string         `json:"certificate,omitempty"`
	Holder        *Holder        `json:"holder,omitempty"` // nil until issued
	Units         Units          `json:"-"`                // the units the regulation names for it (units.go)
	HolderSince   time.Time      `json:"holder_since,omitzero"`
	LastOccurred  time.Time      `json:"last_occurred_at,omitzero"`
	PlacedAt      time.Time      `json:"placed_at,omitzero"`
	// Recipient is personal data: it is kept for notifications and shown masked.
	Recipient *RecipientContact `json:"-"`
	Flags     Flags             `json:"flags"`
	// LostFrom is the status a loss interrupted (where the document was when lost).
	LostFrom Status `json:"lost_from,omitempty"`
	// LostBy is the organisation that reported the loss; LossAct its act (P.22, P.23), once
	// complete; SectorAct the accumulation sector's loss act number (P.24).
	LostBy Org `json:"lost_by,omitempty"`
	// Transmissions are the statuses passed to ИИС ЦОН and not yet acknowledged (P.9, P.20).
	Transmissions []uuid.UUID `json:"-"`
	LossAct       *LossAct    `json:"loss_act,omitempty"`
	SectorAct     string      `json:"sector_act,omitempty"`
	Duplicate     *uuid.UUID  `json:"duplicate_document_id,omitempty"`
	DuplicateOf   *uuid.UUID  `json:"duplicate_of,omitempty"`
}

// Flags are facts about a document that do not change where it is.
type Flags struct {
	OrderCreated   bool      `json:"order_created,omitempty"`
	Delayed        bool      `json:"delayed,omitempty"`
	NewDate        time.Time `json:"new_delivery_date,omitzero"`
	Missing        bool      `json:"missing,omitempty"` // a registry line was missing at acceptance
	Damaged        bool      `json:"damaged,omitempty"`
	Extra          bool      `json:"extra,omitempty"`
	Returned       bool      `json:"returned,omitempty"` // went back unclaimed from the postomat
	DeadlineMissed []string  `json:"deadlines_missed,omitempty"`
	Corrections    int       `json:"corrections,omitempty"`
	// Disputed marks a loss reported by one party about custody held by another (P.36).
	Disputed bool `json:"disputed,omitempty"`
}

// Fold applies events in order to an empty state.
func Fold(id uuid.UUID, events []Event) State {
	s := State{DocumentID: id, Status: StatusNew}
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

// Evolve applies one event that Decide accepted. It is total: an event that does not fit
// (which Decide would have refused) still advances the version and changes nothing else,
// so replaying a stream never panics.
func Evolve(s State, e Event) State {
	s.Version++
	if e.OccurredAt.After(s.LastOccurred) {
		s.LastOccurred = e.OccurredAt
	}
	if s.DocumentID == uuid.Nil {
		s.DocumentID = e.DocumentID
	}
	sp, ok := specs[e.Type]
	if !ok || !slices.Contains(sp.from, s.Status) {
		return s // Decide refuses such an event; replay stays total
	}
	before := s.Status
	if _, ok := Transmitted(s, e); ok {
		s.Transmissions = append(slices.Clip(s.Transmissions), e.ID)
	}
	if sp.to != "" {
		s.Status = sp.to
	}
	if t, ok := TransferOf(e); ok {
		h := t.To
		s.Holder, s.HolderSince = &h, e.OccurredAt
	}
	s.Units = s.Units.next(e)
	switch p := e.Payload.(type) {
	case *DeliveryRequestedData:
		s.ApplicationNo, s.ServiceCode, s.Method, s.City, s.PostomatID = p.ApplicationNo, p.ServiceCode, p.Method, p.City, p.PostomatID
		r := p.Recipient
		s.Recipient = &r
	case *DocumentIssuedData:
		if s.ApplicationNo == "" {
			s.ApplicationNo, s.ServiceCode = p.ApplicationNo, p.ServiceCode
		}
		if p.Method != "" {
			s.Method = p.Method
		}
		if s.City == "" {
			s.City = p.City // ЦОН-route documents learn their city here (regional force majeure)
		}
		s.Certificate = p.CertificateSeries + p.CertificateNumber
		s.DuplicateOf = p.DuplicateOf
	case *KaspiOrderCreatedData:
		s.Flags.OrderCreated, s.Waybill = true, p.Waybill
	case *RoutedForDeliveryData:
		s.Method = p.Method
	case *AcceptedAtKaspiIntakeData:
		s.Flags.Damaged = s.Flags.Damaged || p.Damaged
		s.Flags.Missing = false
	case *PlacedInCellData:
		s.PostomatID, s.CellID, s.PlacedAt = p.PostomatID, p.CellID, e.OccurredAt
		s.Flags.Delayed = false
	case *RemovedFromCellData:
		s.CellID = ""
		s.Flags.Returned = true
	case *CollectedByRecipientData:
		s.CellID = ""
	case *DeliveryDelayedData:
		s.Flags.Delayed, s.Flags.NewDate = true, p.NewDate
	case *IntakeDiscrepancyData:
		switch p.Kind {
		case DiscrepancyMissing:
			s.Flags.Missing = true
		case DiscrepancyDamaged:
			s.Flags.Damaged = true
		case DiscrepancyExtra:
			s.Flags.Extra = true
		}
	case *DocumentLostData:
		if s.Holder != nil && !p.LastSeen.IsZero() && !p.LastSeen.SamePlace(*s.Holder) {
			s.Flags.Disputed = true
		}
		if s.Holder != nil && e.Actor.Org != s.Holder.Org && e.Actor.Role != RoleSystem {
			s.Flags.Disputed = true
		}
		s.LostFrom, s.LostBy = before, e.Actor.Org
		if p.LossAct.Complete() {
			a := p.LossAct
			s.LossAct = &a
		}
	case *LossActDrawnUpData:
		a := p.LossAct
		s.LossAct = &a
	case *LossActRegisteredData:
		s.SectorAct = p.ActNumber
	case *StatusTransmissionAcknowledgedData:
		s.Transmissions = slices.DeleteFunc(slices.Clone(s.Transmissions), func(id uuid.UUID) bool { return id == p.Transmitted })
	case *DuplicateRequestedData:
		d := p.DuplicateDocumentID
		s.Duplicate = &d
	case *DuplicateIssuedData:
		d := p.DuplicateDocumentID
		s.Duplicate = &d
	case *DeadlineMissedData:
		s.Flags.DeadlineMissed = append(s.Flags.DeadlineMissed, p.Rule)
	case *EventCorrectedData:
		s.Flags.Corrections++
	}
	return s
}
