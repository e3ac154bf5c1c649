package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// SchemaVersion is the version of the JSON encoding written today. A stored event keeps its
// version forever; decoders for older versions stay here.
const SchemaVersion = 1

// ErrUnknownEvent is returned for an event type or schema version this code cannot decode.
var ErrUnknownEvent = errors.New("domain: unknown event type or schema version")

var payloadTypes = map[EventType]func() Payload{
	DeliveryRequested:              func() Payload { return &DeliveryRequestedData{} },
	DocumentIssued:                 func() Payload { return &DocumentIssuedData{} },
	KaspiOrderCreated:              func() Payload { return &KaspiOrderCreatedData{} },
	CollectedFromRags:              func() Payload { return &CollectedFromRagsData{} },
	ReceivedAtAccumulation:         func() Payload { return &ReceivedAtAccumulationData{} },
	RoutedForDelivery:              func() Payload { return &RoutedForDeliveryData{} },
	AddedToRegistry:                func() Payload { return &AddedToRegistryData{} },
	Packed:                         func() Payload { return &PackedData{} },
	HandedToCourier:                func() Payload { return &HandedToCourierData{} },
	AcceptedAtKaspiIntake:          func() Payload { return &AcceptedAtKaspiIntakeData{} },
	OutForPostomatDelivery:         func() Payload { return &OutForPostomatDeliveryData{} },
	PlacedInCell:                   func() Payload { return &PlacedInCellData{} },
	CollectedByRecipient:           func() Payload { return &CollectedByRecipientData{} },
	RemovedFromCell:                func() Payload { return &RemovedFromCellData{} },
	ReturnedToKaspiIntake:          func() Payload { return &ReturnedToKaspiIntakeData{} },
	CollectedFromKaspiIntake:       func() Payload { return &CollectedFromKaspiIntakeData{} },
	ReceivedAtIssuance:             func() Payload { return &ReceivedAtIssuanceData{} },
	IssuedToRecipient:              func() Payload { return &IssuedToRecipientData{} },
	TransferredForStorage:          func() Payload { return &TransferredForStorageData{} },
	DeliveryDelayed:                func() Payload { return &DeliveryDelayedData{} },
	IntakeDiscrepancy:              func() Payload { return &IntakeDiscrepancyData{} },
	DocumentLost:                   func() Payload { return &DocumentLostData{} },
	LossActDrawnUp:                 func() Payload { return &LossActDrawnUpData{} },
	LossActRegistered:              func() Payload { return &LossActRegisteredData{} },
	ApplicationCancelled:           func() Payload { return &ApplicationCancelledData{} },
	DuplicateRequested:             func() Payload { return &DuplicateRequestedData{} },
	DuplicateIssued:                func() Payload { return &DuplicateIssuedData{} },
	DeadlineMissed:                 func() Payload { return &DeadlineMissedData{} },
	StatusTransmissionAcknowledged: func() Payload { return &StatusTransmissionAcknowledgedData{} },
	EventCorrected:                 func() Payload { return &EventCorrectedData{} },
	RegistryFormed:                 func() Payload { return &RegistryFormedData{} },
	RegistryHandedOver:             func() Payload { return &RegistryHandedOverData{} },
	RegistryAccepted:               func() Payload { return &RegistryAcceptedData{} },
	ForceMajeureDeclared:           func() Payload { return &ForceMajeureDeclaredData{} },
	DisputeOpened:                  func() Payload { return &DisputeOpenedData{} },
	DisputeResolved:                func() Payload { return &DisputeResolvedData{} },
}

// EventTypes lists every document event type, in journey order.
var EventTypes = []EventType{DeliveryRequested, DocumentIssued, KaspiOrderCreated, CollectedFromRags,
	ReceivedAtAccumulation, RoutedForDelivery, AddedToRegistry, Packed, HandedToCourier,
	AcceptedAtKaspiIntake, OutForPostomatDelivery, PlacedInCell, CollectedByRecipient, RemovedFromCell,
	ReturnedToKaspiIntake, CollectedFromKaspiIntake, ReceivedAtIssuance, IssuedToRecipient,
	TransferredForStorage, DeliveryDelayed, IntakeDiscrepancy, DocumentLost, LossActDrawnUp, LossActRegistered,
	ApplicationCancelled, DuplicateRequested, DuplicateIssued, StatusTransmissionAcknowledged, DeadlineMissed, EventCorrected}

// StreamEventTypes lists the event types of registry, force-majeure and dispute streams.
var StreamEventTypes = []EventType{RegistryFormed, RegistryHandedOver, RegistryAccepted, ForceMajeureDeclared,
	DisputeOpened, DisputeResolved}

// KnownType reports whether t is an event type this code can decode.
func KnownType(t EventType) bool { _, ok := payloadTypes[t]; return ok }

// NewPayload returns an empty payload of type t, for decoding into.
func NewPayload(t EventType) (Payload, error) {
	f, ok := payloadTypes[t]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEvent, t)
	}
	return f(), nil
}

// envelope is the stored JSON form of an event. Field order is fixed by the struct, times are
// UTC, so the same event always encodes to the same bytes.
type envelope struct {
	Type          EventType       `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	EventID       uuid.UUID       `json:"event_id"`
	DocumentID    uuid.UUID       `json:"document_id"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Actor         Actor           `json:"actor"`
	Data          json.RawMessage `json:"data"`
}

// Encode returns the canonical stored bytes of e.
func Encode(e Event) ([]byte, error) {
	if e.Payload == nil {
		return nil, errors.New("domain: event without payload")
	}
	if e.Payload.EventType() != e.Type {
		return nil, fmt.Errorf("domain: payload of %s in an event of type %s", e.Payload.EventType(), e.Type)
	}
	data, err := json.Marshal(normalizeTimes(e.Payload))
	if err != nil {
		return nil, fmt.Errorf("domain: encode %s: %w", e.Type, err)
	}
	return json.Marshal(envelope{
		Type: e.Type, SchemaVersion: SchemaVersion, EventID: e.ID, DocumentID: e.DocumentID,
		OccurredAt: e.OccurredAt.UTC(), Actor: e.Actor, Data: data,
	})
}

// normalizeTimes puts the payload's own times in UTC so encoding does not depend on the
// offset a client sent. Only payloads that carry times need it.
func normalizeTimes(p Payload) Payload {
	switch v := p.(type) {
	case *DeliveryDelayedData:
		c := *v
		c.NewDate = c.NewDate.UTC()
		return &c
	case *DeadlineMissedData:
		c := *v
		c.Deadline = c.Deadline.UTC()
		return &c
	case *ForceMajeureDeclaredData:
		c := *v
		c.From, c.To = c.From.UTC(), c.To.UTC()
		return &c
	}
	if u, ok := p.(interface{ utc() Payload }); ok {
		return u.utc() // application payloads normalise their own times
	}
	return p
}

// Decode parses stored bytes. An unknown type or schema version is ErrUnknownEvent; bytes
// that are not a well-formed event are an error too. It never panics.
func Decode(b []byte) (Event, error) { return decodeWith(b, strictUnmarshal) }

// DecodeStored parses the bytes of a stored event, which were validated and encoded by
// Encode on the way in: unknown fields are ignored and, for Encode's own field order (type
// first), the event is decoded in one pass straight into its typed payload. Other bytes go
// the two-pass way. Input from clients goes through the strict decoders instead.
func DecodeStored(b []byte) (Event, error) {
	t, ok := leadingType(b)
	if !ok {
		return decodeLenient(b)
	}
	p, err := NewPayload(t)
	if err != nil {
		return Event{}, err
	}
	env := storedEnvelope{Data: p}
	if err := json.Unmarshal(b, &env); err != nil {
		return Event{}, fmt.Errorf("domain: decode event: %w", err)
	}
	if env.Type != t {
		return decodeLenient(b) // a second "type" member: let the general path judge
	}
	if env.SchemaVersion != SchemaVersion {
		return Event{}, fmt.Errorf("%w: %s version %d", ErrUnknownEvent, env.Type, env.SchemaVersion)
	}
	if !bytes.Contains(b, []byte(`"data":`)) { // a quote inside a string is escaped: only a member name matches
		return Event{}, fmt.Errorf("domain: decode %s: no data", env.Type)
	}
	return Event{ID: env.EventID, DocumentID: env.DocumentID, Type: env.Type,
		OccurredAt: env.OccurredAt, Actor: env.Actor, Payload: p}, nil
}

// storedEnvelope is envelope with the payload decoded in place: encoding/json fills the
// typed value the interface holds (the outer Data hides envelope's raw one).
type storedEnvelope struct {
	envelope
	Data Payload `json:"data"`
}

// leadingType reads the type Encode writes first: {"type":"…", without escapes.
func leadingType(b []byte) (EventType, bool) {
	const lead = `{"type":"`
	if !bytes.HasPrefix(b, []byte(lead)) {
		return "", false
	}
	rest := b[len(lead):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", false
	}
	return EventType(rest[:end]), true
}

// decodeLenient is Decode without the strictness: the envelope first, then its data.
func decodeLenient(b []byte) (Event, error) { return decodeWith(b, json.Unmarshal) }

// decodeWith parses an envelope, then its data into the payload of its type, with unmarshal.
func decodeWith(b []byte, unmarshal func([]byte, any) error) (Event, error) {
	var env envelope
	if err := unmarshal(b, &env); err != nil {
		return Event{}, fmt.Errorf("domain: decode event: %w", err)
	}
	if env.SchemaVersion != SchemaVersion {
		return Event{}, fmt.Errorf("%w: %s version %d", ErrUnknownEvent, env.Type, env.SchemaVersion)
	}
	p, err := NewPayload(env.Type)
	if err != nil {
		return Event{}, err
	}
	if len(env.Data) == 0 {
		return Event{}, fmt.Errorf("domain: decode %s: no data", env.Type)
	}
	if err := unmarshal(env.Data, p); err != nil {
		return Event{}, fmt.Errorf("domain: decode %s data: %w", env.Type, err)
	}
	return Event{ID: env.EventID, DocumentID: env.DocumentID, Type: env.Type,
		OccurredAt: env.OccurredAt, Actor: env.Actor, Payload: p}, nil
}

// DecodePayload parses a payload of type t strictly (unknown fields are an error), as sent by
// a client.
func DecodePayload(t EventType, data []byte) (Payload, error) {
	p, err := NewPayload(t)
	if err != nil {
		return nil, err
	}
	if err := strictUnmarshal(data, p); err != nil {
		return nil, fmt.Errorf("domain: %s data: %w", t, err)
	}
	return p, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}
