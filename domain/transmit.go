package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// StatusTransmissionAcknowledged: ИИС ЦОН confirms it received a status Kaspi must pass to it
// (P.9, P.20, P.22(3), P.31).
const StatusTransmissionAcknowledged EventType = "StatusTransmissionAcknowledged"

// StatusTransmissionAcknowledgedData names the transmitted event (the status) and when ИИС
// ЦОН received it.
type StatusTransmissionAcknowledgedData struct {
	Transmitted uuid.UUID `json:"transmitted_event_id"`
	ReceivedAt  time.Time `json:"received_at"`
}

func (StatusTransmissionAcknowledgedData) EventType() EventType {
	return StatusTransmissionAcknowledged
}

func (d *StatusTransmissionAcknowledgedData) Validate() error {
	if d.Transmitted == uuid.Nil {
		return invalid("transmitted_event_id", "required: the status event ИИС ЦОН received")
	}
	if d.ReceivedAt.IsZero() {
		return invalid("received_at", "required")
	}
	return nil
}

// Transmitted tells whether event e, recorded on a document in state s (before it), is a
// status Kaspi must pass to ИИС ЦОН, and the point that says so: the application's data with
// the waybill (P.9), the delivery statuses (P.20), a loss on Kaspi's side (P.22(3)) and the
// return to the intake point (P.31). Only documents delivered through Kaspi pass statuses.
func Transmitted(s State, e Event) (string, bool) {
	if s.Method != MethodPostomat {
		return "", false
	}
	switch e.Type {
	case KaspiOrderCreated:
		return "P.9", true
	case AcceptedAtKaspiIntake, OutForPostomatDelivery, PlacedInCell, CollectedByRecipient, RemovedFromCell, DeliveryDelayed:
		return "P.20", true
	case ReturnedToKaspiIntake:
		return "P.31", true
	case DocumentLost:
		if s.Holder != nil && s.Holder.Org == OrgKaspi {
			return "P.22(3)", true
		}
	}
	return "", false
}

// everyStatus lists the statuses a document has once it exists: an acknowledgement may come
// after the journey ended.
func everyStatus() []Status {
	return plus(custodyStatuses, StatusRequested, StatusCollected, StatusIssuedToRecipient, StatusStored,
		StatusLost, StatusLossActRegistered, StatusCancelled, StatusDuplicateIssued)
}

// unacknowledged reports whether id is a transmitted status of the document not yet
// acknowledged.
func (s State) unacknowledged(id uuid.UUID) bool { return slices.Contains(s.Transmissions, id) }
