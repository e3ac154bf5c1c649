package domain

import (
	"time"

	"github.com/google/uuid"
)

// EventType names an event. The names are stored and must never change.
type EventType string

// Document stream events (DOMAIN.md, "The postomat journey" and after).
const (
	DeliveryRequested        EventType = "DeliveryRequested"        // P.3, P.4
	DocumentIssued           EventType = "DocumentIssued"           // P.5, P.8
	KaspiOrderCreated        EventType = "KaspiOrderCreated"        // P.8, P.9
	CollectedFromRags        EventType = "CollectedFromRags"        // P.6
	ReceivedAtAccumulation   EventType = "ReceivedAtAccumulation"   // P.7
	RoutedForDelivery        EventType = "RoutedForDelivery"        // P.12–P.14
	AddedToRegistry          EventType = "AddedToRegistry"          // P.13, P.14, P.18, P.32
	Packed                   EventType = "Packed"                   // P.15, P.16
	HandedToCourier          EventType = "HandedToCourier"          // P.13, P.17
	AcceptedAtKaspiIntake    EventType = "AcceptedAtKaspiIntake"    // P.18
	OutForPostomatDelivery   EventType = "OutForPostomatDelivery"   // P.19
	PlacedInCell             EventType = "PlacedInCell"             // P.19, P.21
	CollectedByRecipient     EventType = "CollectedByRecipient"     // P.29
	RemovedFromCell          EventType = "RemovedFromCell"          // P.30
	ReturnedToKaspiIntake    EventType = "ReturnedToKaspiIntake"    // P.30, P.31
	CollectedFromKaspiIntake EventType = "CollectedFromKaspiIntake" // P.32, P.33
	ReceivedAtIssuance       EventType = "ReceivedAtIssuance"       // P.33, P.34
	IssuedToRecipient        EventType = "IssuedToRecipient"        // P.35
	TransferredForStorage    EventType = "TransferredForStorage"    // P.35
	DeliveryDelayed          EventType = "DeliveryDelayed"          // P.27
	IntakeDiscrepancy        EventType = "IntakeDiscrepancy"        // P.18
	DocumentLost             EventType = "DocumentLost"             // P.22, P.23
	LossActDrawnUp           EventType = "LossActDrawnUp"           // P.22(2), P.23(2)
	LossActRegistered        EventType = "LossActRegistered"        // P.24
	ApplicationCancelled     EventType = "ApplicationCancelled"     // P.24
	DuplicateRequested       EventType = "DuplicateRequested"       // P.26
	DuplicateIssued          EventType = "DuplicateIssued"          // P.26
	DeadlineMissed           EventType = "DeadlineMissed"           // the ledger's deadline watch
	EventCorrected           EventType = "EventCorrected"           // nothing is updated: corrections
)

// Event is one fact on a document's stream. OccurredAt is when it happened in the world;
// the store adds its own recorded time.
type Event struct {
	ID uuid.UUID
	// DocumentID is the document; on registry, force-majeure and dispute streams it is the id
	// of that stream (the stored field keeps its name, "document_id").
	DocumentID uuid.UUID
	Type       EventType
	OccurredAt time.Time
	Actor      Actor
	Payload    Payload
}

// Payload is the type-specific part of an event. Payloads are always pointers
// (*PlacedInCellData, ...), as Decode returns them.
type Payload interface {
	EventType() EventType
	// Validate checks the payload's own fields (formats, required values).
	Validate() error
}

// Transfer is carried by every event that moves custody: who gave and who received.
type Transfer struct {
	From Holder `json:"from"`
	To   Holder `json:"to"`
}

func (t Transfer) transfer() Transfer { return t }

// custodyPayload is implemented by payloads that move custody.
type custodyPayload interface {
	Payload
	transfer() Transfer
}

// TransferOf returns the hand-over an event records, if it moves custody.
func TransferOf(e Event) (Transfer, bool) {
	if c, ok := e.Payload.(custodyPayload); ok {
		return c.transfer(), true
	}
	return Transfer{}, false
}

// DeliveryMethod is how the recipient gets the document (P.3).
type DeliveryMethod string

const (
	MethodPostomat DeliveryMethod = "postomat"
	MethodCON      DeliveryMethod = "con"
)

// RegistryKind is the kind of a paper registry (DOMAIN.md, Registries).
type RegistryKind string

const (
	RegistryDispatch         RegistryKind = "dispatch"          // P.13
	RegistryRagsIssuance     RegistryKind = "rags_issuance"     // P.14
	RegistryIntakeAcceptance RegistryKind = "intake_acceptance" // P.18
	RegistryReturnCollection RegistryKind = "return_collection" // P.32
)

// DiscrepancyKind is what was wrong with a registry line at acceptance (P.18).
type DiscrepancyKind string

const (
	DiscrepancyMissing DiscrepancyKind = "missing"
	DiscrepancyDamaged DiscrepancyKind = "damaged"
	DiscrepancyExtra   DiscrepancyKind = "extra"
)

// RecipientContact is personal data: it is needed only to notify and never logged.
type RecipientContact struct {
	IIN   string `json:"iin"`
	Phone string `json:"phone"`
}

// Masked returns the contact with all but the last digits hidden, for readers without
// the right to see personal data.
func (c RecipientContact) Masked() RecipientContact {
	return RecipientContact{IIN: mask(c.IIN, 2), Phone: mask(c.Phone, 2)}
}

func mask(s string, keep int) string {
	if len(s) <= keep {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b)-keep; i++ {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = '*'
		}
	}
	return string(b)
}

// DeliveryRequestedData starts a postomat (or ЦОН) delivery request from the Kaspi app (P.3, P.4).
type DeliveryRequestedData struct {
	ApplicationNo string           `json:"application_no"` // ID ЦОН
	ServiceCode   string           `json:"service_code"`
	Method        DeliveryMethod   `json:"method"`
	City          string           `json:"city"`
	PostomatID    string           `json:"postomat_id,omitempty"`
	PostomatCity  string           `json:"postomat_city,omitempty"`
	Recipient     RecipientContact `json:"recipient"`
}

// DocumentIssuedData is the registering office's final status: the certificate exists (P.5, P.8).
type DocumentIssuedData struct {
	Transfer
	ApplicationNo     string         `json:"application_no"`
	ServiceCode       string         `json:"service_code"`
	Method            DeliveryMethod `json:"method,omitempty"` // required when the stream starts here (con)
	City              string         `json:"city,omitempty"`   // the recipient's city, when no DeliveryRequested said it
	CertificateSeries string         `json:"certificate_series,omitempty"`
	CertificateNumber string         `json:"certificate_number"`
	DuplicateOf       *uuid.UUID     `json:"duplicate_of,omitempty"` // P.26: a repeat certificate
}

// KaspiOrderCreatedData carries the delivery order's waybill (P.8, P.9).
type KaspiOrderCreatedData struct {
	Waybill string `json:"waybill"`
}

// CollectedFromRagsData: a GK courier takes the issued document from RAGS (P.6).
type CollectedFromRagsData struct{ Transfer }

// ReceivedAtAccumulationData: the accumulation sector registers the document in ИИС ЦОН (P.7).
type ReceivedAtAccumulationData struct {
	Transfer
	RegistryID *uuid.UUID `json:"registry_id,omitempty"`
}

// RoutedForDeliveryData: the accumulation sector sorts by delivery method (P.12–P.14).
type RoutedForDeliveryData struct {
	Method DeliveryMethod `json:"method"`
}

// AddedToRegistryData: the document is listed on a paper registry being formed.
type AddedToRegistryData struct {
	RegistryID uuid.UUID    `json:"registry_id"`
	Kind       RegistryKind `json:"kind"`
	Line       int          `json:"line"`
	// To is the unit the registry goes to: due to receive the document until it does.
	To *Holder `json:"to,omitempty"`
}

// PackedData: the envelope is labelled with the waybill and sealed (P.15, P.16).
type PackedData struct {
	EnvelopeLabel string     `json:"envelope_label"`
	SealNumber    string     `json:"seal_number"`
	RegistryID    *uuid.UUID `json:"registry_id,omitempty"`
}

// HandedToCourierData: the accumulation sector hands the dispatch registry to a GK courier (P.17).
type HandedToCourierData struct {
	Transfer
	RegistryID uuid.UUID `json:"registry_id"`
}

// AcceptedAtKaspiIntakeData: a Kaspi intake point accepts a registry line (P.18).
type AcceptedAtKaspiIntakeData struct {
	Transfer
	RegistryID *uuid.UUID `json:"registry_id,omitempty"`
	Damaged    bool       `json:"damaged,omitempty"`
}

// OutForPostomatDeliveryData: a Kaspi courier takes the envelope to the postomat (P.19).
type OutForPostomatDeliveryData struct{ Transfer }

// PlacedInCellData: the envelope is in a reserved cell (P.19, P.21).
type PlacedInCellData struct {
	Transfer
	PostomatID string `json:"postomat_id"`
	CellID     string `json:"cell_id"`
}

// CollectedByRecipientData: the recipient opened the cell (P.29).
type CollectedByRecipientData struct{ Transfer }

// RemovedFromCellData: unclaimed after storage, a Kaspi courier empties the cell (P.30).
type RemovedFromCellData struct{ Transfer }

// ReturnedToKaspiIntakeData: the unclaimed document is back at Kaspi intake (P.30, P.31).
type ReturnedToKaspiIntakeData struct{ Transfer }

// CollectedFromKaspiIntakeData: a GK courier collects returns by registry (P.32, P.33).
type CollectedFromKaspiIntakeData struct {
	Transfer
	RegistryID uuid.UUID `json:"registry_id"`
}

// ReceivedAtIssuanceData: the ЦОН issuance sector receives the document (P.14, P.33, P.34).
type ReceivedAtIssuanceData struct {
	Transfer
	RegistryID *uuid.UUID `json:"registry_id,omitempty"`
	CONAddress string     `json:"con_address,omitempty"` // told to the recipient after a return (P.34)
}

// IssuedToRecipientData: handed over at the ЦОН (P.14, P.35) against a checked identity: the
// recipient in person with an identity document, or a representative with a notarised power
// of attorney (003 §9). Identity is personal data: masked for readers, never logged.
type IssuedToRecipientData struct {
	Transfer
	Identity *IdentityCheck `json:"identity,omitempty"`
}

// MaskedPayload hides the identity documents' numbers.
func (d *IssuedToRecipientData) MaskedPayload() Payload {
	c := *d
	if c.Identity != nil {
		id := c.Identity.Masked()
		c.Identity = &id
	}
	return &c
}

// TransferredForStorageData: unclaimed for a month, handed over for storage (P.35).
type TransferredForStorageData struct{ Transfer }

// DeliveryDelayedData: Kaspi tells the recipient of a new delivery date (P.27).
type DeliveryDelayedData struct {
	NewDate time.Time `json:"new_date"`
	Reason  string    `json:"reason,omitempty"`
}

// IntakeDiscrepancyData: a registry line missing, damaged or extra at acceptance (P.18).
type IntakeDiscrepancyData struct {
	RegistryID uuid.UUID       `json:"registry_id"`
	Kind       DiscrepancyKind `json:"kind"`
	Giver      Holder          `json:"giver"`
	Receiver   Holder          `json:"receiver"`
	Note       string          `json:"note,omitempty"`
}

// DocumentLostData: a party reports the document lost (P.22, P.23). The losing party's act
// (number, date, circumstances) may come with the report or in a LossActDrawnUp after it.
type DocumentLostData struct {
	Cause    string `json:"cause"`
	LastSeen Holder `json:"last_seen"` // who the reporter says held it last
	LossAct
}

// LossAct is the act the losing party draws up with the circumstances of the loss (P.22(2),
// P.23(2)); ActDate is a calendar date, YYYY-MM-DD.
type LossAct struct {
	ActNumber     string `json:"act_number,omitempty"`
	ActDate       string `json:"act_date,omitempty"`
	Circumstances string `json:"circumstances,omitempty"`
}

// Complete reports whether the act names its number, date and circumstances.
func (a LossAct) Complete() bool {
	return a.ActNumber != "" && a.ActDate != "" && a.Circumstances != ""
}

// LossActDrawnUpData: the losing party's act, recorded after its DocumentLost (P.22, P.23).
type LossActDrawnUpData struct {
	LossAct
}

// LossActRegisteredData: the accumulation sector's loss act, one copy to RAGS (P.24).
type LossActRegisteredData struct {
	ActNumber string `json:"act_number"`
}

// ApplicationCancelledData: RAGS cancels the application on the loss act (P.24).
type ApplicationCancelledData struct {
	ActNumber string `json:"act_number"`
}

// DuplicateRequestedData links the new document stream of the repeat certificate (P.26).
type DuplicateRequestedData struct {
	DuplicateDocumentID uuid.UUID `json:"duplicate_document_id"`
}

// DuplicateIssuedData: the repeat certificate was issued, free of charge (P.26).
type DuplicateIssuedData struct {
	DuplicateDocumentID uuid.UUID `json:"duplicate_document_id"`
}

// DeadlineMissedData is appended by the ledger's deadline watch, once per rule and deadline.
type DeadlineMissedData struct {
	Rule      string    `json:"rule"`
	Deadline  time.Time `json:"deadline"`
	Holder    Holder    `json:"holder"`
	ChargedTo []Org     `json:"charged_to,omitempty"`
	Source    string    `json:"source"`
}

// EventCorrectedData answers a wrong record: nothing is updated or deleted.
type EventCorrectedData struct {
	Corrects uuid.UUID `json:"corrects"`
	Reason   string    `json:"reason"`
}

func (DeliveryRequestedData) EventType() EventType        { return DeliveryRequested }
func (DocumentIssuedData) EventType() EventType           { return DocumentIssued }
func (KaspiOrderCreatedData) EventType() EventType        { return KaspiOrderCreated }
func (CollectedFromRagsData) EventType() EventType        { return CollectedFromRags }
func (ReceivedAtAccumulationData) EventType() EventType   { return ReceivedAtAccumulation }
func (RoutedForDeliveryData) EventType() EventType        { return RoutedForDelivery }
func (AddedToRegistryData) EventType() EventType          { return AddedToRegistry }
func (PackedData) EventType() EventType                   { return Packed }
func (HandedToCourierData) EventType() EventType          { return HandedToCourier }
func (AcceptedAtKaspiIntakeData) EventType() EventType    { return AcceptedAtKaspiIntake }
func (OutForPostomatDeliveryData) EventType() EventType   { return OutForPostomatDelivery }
func (PlacedInCellData) EventType() EventType             { return PlacedInCell }
func (CollectedByRecipientData) EventType() EventType     { return CollectedByRecipient }
func (RemovedFromCellData) EventType() EventType          { return RemovedFromCell }
func (ReturnedToKaspiIntakeData) EventType() EventType    { return ReturnedToKaspiIntake }
func (CollectedFromKaspiIntakeData) EventType() EventType { return CollectedFromKaspiIntake }
func (ReceivedAtIssuanceData) EventType() EventType       { return ReceivedAtIssuance }
func (IssuedToRecipientData) EventType() EventType        { return IssuedToRecipient }
func (TransferredForStorageData) EventType() EventType    { return TransferredForStorage }
func (DeliveryDelayedData) EventType() EventType          { return DeliveryDelayed }
func (IntakeDiscrepancyData) EventType() EventType        { return IntakeDiscrepancy }
func (DocumentLostData) EventType() EventType             { return DocumentLost }
func (LossActDrawnUpData) EventType() EventType           { return LossActDrawnUp }
func (LossActRegisteredData) EventType() EventType        { return LossActRegistered }
func (ApplicationCancelledData) EventType() EventType     { return ApplicationCancelled }
func (DuplicateRequestedData) EventType() EventType       { return DuplicateRequested }
func (DuplicateIssuedData) EventType() EventType          { return DuplicateIssued }
func (DeadlineMissedData) EventType() EventType           { return DeadlineMissed }
func (EventCorrectedData) EventType() EventType           { return EventCorrected }
