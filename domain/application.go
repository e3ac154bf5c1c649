package domain

import (
	"slices"
	"time"
)

// Application stream events (DOMAIN.md, "Other services"; seed 003, A1–A3 §5, §8, §9). An
// application-<uuid> stream carries them; Event.DocumentID is the application's id.
const (
	ApplicationAccepted        EventType = "ApplicationAccepted"        // A1–A3 §9: receipt at a ЦОН
	ApplicationRefusedAtIntake EventType = "ApplicationRefusedAtIntake" // A1–A3 §9: incomplete set
	ApplicationForwarded       EventType = "ApplicationForwarded"       // A1–A3 §9: GK → provider, 1 working day
	ApplicationRegistered      EventType = "ApplicationRegistered"      // §5.1
	ResolutionImposed          EventType = "ResolutionImposed"          // §5.2
	ReviewCompleted            EventType = "ReviewCompleted"            // §5.3
	ReviewExtended             EventType = "ReviewExtended"             // §5: at most 30 calendar days
	ExtensionNotified          EventType = "ExtensionNotified"          // §5: within 3 calendar days
	RecordFormed               EventType = "RecordFormed"               // §5.4
	ResultSigned               EventType = "ResultSigned"               // §5.5
	ResultDispatched           EventType = "ResultDispatched"           // §5.6
	ResultReceivedAtGK         EventType = "ResultReceivedAtGK"         // §9
	ResultIssued               EventType = "ResultIssued"               // §9
)

// ApplicationEventTypes lists the application events in procedure order; an application
// stream also takes DeadlineMissed (the watch) and EventCorrected.
var ApplicationEventTypes = []EventType{ApplicationAccepted, ApplicationRefusedAtIntake, ApplicationForwarded,
	ApplicationRegistered, ResolutionImposed, ReviewExtended, ExtensionNotified, ReviewCompleted, RecordFormed,
	ResultSigned, ResultDispatched, ResultReceivedAtGK, ResultIssued, DeadlineMissed, EventCorrected}

// ApplicationStartTypes are the events that open an application stream: at a ЦОН, or
// registration at the provider's office or from the portal.
var ApplicationStartTypes = []EventType{ApplicationAccepted, ApplicationRefusedAtIntake, ApplicationRegistered}

// Channel is how an application reached the provider.
type Channel string

const (
	ChannelGK     Channel = "gk"     // filed at a ЦОН (A1–A3 §9)
	ChannelOffice Channel = "office" // filed at the provider's office
	ChannelPortal Channel = "portal" // filed on the e-government portal
)

// Decision is the outcome of a review (§5.3).
type Decision string

const (
	DecisionApprove Decision = "approve"
	DecisionRefuse  Decision = "refuse"
)

// ResultKind is what the service produced (A1–A3 §3): not forced into a certificate number.
type ResultKind string

const (
	ResultCertificate ResultKind = "certificate" // свидетельство
	ResultSpravka     ResultKind = "spravka"     // справка (e.g. a death notice)
	ResultAnswer      ResultKind = "answer"      // the provider's answer (A3)
	ResultRefusal     ResultKind = "refusal"     // a reasoned refusal
)

// Result is the paper result of an application.
type Result struct {
	Kind   ResultKind `json:"kind"`
	Series string     `json:"series,omitempty"`
	Number string     `json:"number"`
}

// Destination is where a signed result goes (§5.6).
type Destination string

const (
	ToRecipient Destination = "recipient" // issued at the provider's office
	ToGK        Destination = "gk"        // sent to the ЦОН the application came from
	ToPortal    Destination = "portal"    // sent to the portal (an electronic copy)
)

// IdentityCheck is how the person who took the result proved who they are (§9): in person
// with an identity document, or a representative with a notarised power of attorney. The
// document numbers are personal data.
type IdentityCheck struct {
	Method         string `json:"method"`        // in_person or representative
	DocumentType   string `json:"document_type"` // id_card, passport, ...
	DocumentNumber string `json:"document_number"`
	// PowerOfAttorney is required for a representative.
	PowerOfAttorney *PowerOfAttorney `json:"power_of_attorney,omitempty"`
}

// PowerOfAttorney is a representative's notarised power of attorney.
type PowerOfAttorney struct {
	Number string `json:"number"`
	Date   string `json:"date"` // YYYY-MM-DD
}

const (
	IdentityInPerson       = "in_person"
	IdentityRepresentative = "representative"
)

// Masked hides all but the last two digits of the document numbers.
func (c IdentityCheck) Masked() IdentityCheck {
	c.DocumentNumber = mask(c.DocumentNumber, 2)
	if c.PowerOfAttorney != nil {
		p := *c.PowerOfAttorney
		p.Number = mask(p.Number, 2)
		c.PowerOfAttorney = &p
	}
	return c
}

// Maskable payloads carry personal data: MaskedPayload returns a copy for readers without
// the right to see it.
type Maskable interface {
	MaskedPayload() Payload
}

// ApplicationAcceptedData: a ЦОН operator accepted a complete set and gave the receipt; the
// paper file is now in GK's custody (A1–A3 §9).
type ApplicationAcceptedData struct {
	Transfer
	ReceiptNo   string           `json:"receipt_no"`
	ServiceCode string           `json:"service_code"`
	Applicant   RecipientContact `json:"applicant"`
	// SubmittedAt is when the applicant handed in the documents; the 15-minute receipt term
	// runs from it to this event. Omitted: the receipt was immediate.
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	// City is the ЦОН's city: the application's region, which a regional force-majeure period
	// covers (P.37). Omitted: only periods without a region reach its clocks.
	City string `json:"city,omitempty"`
}

// ApplicationRefusedAtIntakeData: the set was incomplete, the applicant got a refusal receipt
// and kept the documents (A1–A3 §9). Terminal.
type ApplicationRefusedAtIntakeData struct {
	ReceiptNo   string           `json:"receipt_no"`
	ServiceCode string           `json:"service_code"`
	Missing     []string         `json:"missing"`
	Applicant   RecipientContact `json:"applicant"`
	SubmittedAt *time.Time       `json:"submitted_at,omitempty"`
	City        string           `json:"city,omitempty"` // the ЦОН's city
}

// ApplicationForwardedData: GK hands the paper file to the provider (A1–A3 §9).
type ApplicationForwardedData struct{ Transfer }

// ApplicationRegisteredData: the provider's office registers the application (§5.1). It opens
// the stream for the office and portal channels, and then names the service, the channel,
// the applicant and the office that holds the file (to).
type ApplicationRegisteredData struct {
	RegistrationNo string            `json:"registration_no"`
	ServiceCode    string            `json:"service_code,omitempty"`
	Channel        Channel           `json:"channel,omitempty"`
	Applicant      *RecipientContact `json:"applicant,omitempty"`
	To             *Holder           `json:"to,omitempty"`
	// SubmittedAt, on an opening registration, is when the application arrived; the
	// registration term (§5.1) runs from it.
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	// City is the office's city: the application's region (P.37), on an opening registration
	// or on one of an application filed at a ЦОН that named none.
	City string `json:"city,omitempty"`
}

// ResolutionImposedData: the head names the executor and the due date (§5.2).
type ResolutionImposedData struct {
	Executor string    `json:"executor"` // the executor's employee id
	Due      time.Time `json:"due"`
}

// ReviewCompletedData: the executor's review (§5.3): approve, or refuse with reasons.
type ReviewCompletedData struct {
	Decision Decision `json:"decision"`
	Reasons  []string `json:"reasons,omitempty"`
}

// ReviewExtendedData: the head extends the review by Days calendar days, for a reason (§5).
type ReviewExtendedData struct {
	Days   int    `json:"days"`
	Reason string `json:"reason"`
}

// ExtensionNotifiedData: the applicant was told of the extension (§5); it also sends the
// applicant a notification.
type ExtensionNotifiedData struct {
	Extension string `json:"extension_event_id,omitempty"` // informative: the ReviewExtended told
}

// RecordFormedData: the executor formed the civil-status record and prepared the result (§5.4).
type RecordFormedData struct {
	RecordNo string `json:"record_no"`
}

// ResultSignedData: the head signed the result (§5.5).
type ResultSignedData struct {
	Result Result `json:"result"`
}

// ResultDispatchedData: the signed result leaves the provider (§5.6): to the recipient at the
// office (with the identity check), to GK, or to the portal.
type ResultDispatchedData struct {
	Transfer
	Destination Destination    `json:"destination"`
	Identity    *IdentityCheck `json:"identity,omitempty"`
}

// ResultReceivedAtGKData: the ЦОН's issuance sector receives the result (§9).
type ResultReceivedAtGKData struct{ Transfer }

// ResultIssuedData: the ЦОН hands the result over against the receipt and an identity check (§9).
type ResultIssuedData struct {
	Transfer
	ReceiptNo string        `json:"receipt_no"`
	Identity  IdentityCheck `json:"identity"`
}

func (ApplicationAcceptedData) EventType() EventType        { return ApplicationAccepted }
func (ApplicationRefusedAtIntakeData) EventType() EventType { return ApplicationRefusedAtIntake }
func (ApplicationForwardedData) EventType() EventType       { return ApplicationForwarded }
func (ApplicationRegisteredData) EventType() EventType      { return ApplicationRegistered }
func (ResolutionImposedData) EventType() EventType          { return ResolutionImposed }
func (ReviewCompletedData) EventType() EventType            { return ReviewCompleted }
func (ReviewExtendedData) EventType() EventType             { return ReviewExtended }
func (ExtensionNotifiedData) EventType() EventType          { return ExtensionNotified }
func (RecordFormedData) EventType() EventType               { return RecordFormed }
func (ResultSignedData) EventType() EventType               { return ResultSigned }
func (ResultDispatchedData) EventType() EventType           { return ResultDispatched }
func (ResultReceivedAtGKData) EventType() EventType         { return ResultReceivedAtGK }
func (ResultIssuedData) EventType() EventType               { return ResultIssued }

func (d *ApplicationAcceptedData) MaskedPayload() Payload {
	c := *d
	c.Applicant = c.Applicant.Masked()
	return &c
}

func (d *ApplicationRefusedAtIntakeData) MaskedPayload() Payload {
	c := *d
	c.Applicant = c.Applicant.Masked()
	return &c
}

func (d *ApplicationRegisteredData) MaskedPayload() Payload {
	c := *d
	if c.Applicant != nil {
		a := c.Applicant.Masked()
		c.Applicant = &a
	}
	return &c
}

func (d *ResultDispatchedData) MaskedPayload() Payload {
	c := *d
	if c.Identity != nil {
		id := c.Identity.Masked()
		c.Identity = &id
	}
	return &c
}

func (d *ResultIssuedData) MaskedPayload() Payload {
	c := *d
	c.Identity = c.Identity.Masked()
	return &c
}

// utc puts a payload's own times in UTC (stable encoding, see normalizeTimes).
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (d *ApplicationAcceptedData) utc() Payload {
	c := *d
	c.SubmittedAt = utcPtr(c.SubmittedAt)
	return &c
}

func (d *ApplicationRefusedAtIntakeData) utc() Payload {
	c := *d
	c.SubmittedAt = utcPtr(c.SubmittedAt)
	return &c
}

func (d *ApplicationRegisteredData) utc() Payload {
	c := *d
	c.SubmittedAt = utcPtr(c.SubmittedAt)
	return &c
}

func (d *ResolutionImposedData) utc() Payload {
	c := *d
	c.Due = c.Due.UTC()
	return &c
}

func init() {
	for t, f := range map[EventType]func() Payload{
		ApplicationAccepted:        func() Payload { return &ApplicationAcceptedData{} },
		ApplicationRefusedAtIntake: func() Payload { return &ApplicationRefusedAtIntakeData{} },
		ApplicationForwarded:       func() Payload { return &ApplicationForwardedData{} },
		ApplicationRegistered:      func() Payload { return &ApplicationRegisteredData{} },
		ResolutionImposed:          func() Payload { return &ResolutionImposedData{} },
		ReviewCompleted:            func() Payload { return &ReviewCompletedData{} },
		ReviewExtended:             func() Payload { return &ReviewExtendedData{} },
		ExtensionNotified:          func() Payload { return &ExtensionNotifiedData{} },
		RecordFormed:               func() Payload { return &RecordFormedData{} },
		ResultSigned:               func() Payload { return &ResultSignedData{} },
		ResultDispatched:           func() Payload { return &ResultDispatchedData{} },
		ResultReceivedAtGK:         func() Payload { return &ResultReceivedAtGKData{} },
		ResultIssued:               func() Payload { return &ResultIssuedData{} },
	} {
		payloadTypes[t] = f
	}
}

// IsApplicationEvent reports whether t is recorded on application streams.
func IsApplicationEvent(t EventType) bool { return slices.Contains(ApplicationEventTypes, t) }
