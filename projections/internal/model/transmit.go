package model

import (
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
)

// ChannelIISCON is ИИС ЦОН, GK's information system, to which Kaspi passes the application's
// data and the delivery, loss and return statuses (P.9, P.20, P.22(3), P.31). It is a delivery
// channel like the notifications: same outbox, same publisher, one message per status.
const ChannelIISCON = "iis_con"

// Transmission is the message ИИС ЦОН receives for one status. The dedup key is derived from
// the document and the status event, so a redelivery after a crash repeats the same key.
type Transmission struct {
	DedupKey      string           `json:"dedup_key"`
	DocumentID    uuid.UUID        `json:"document_id"`
	EventID       uuid.UUID        `json:"event_id"`
	Status        domain.EventType `json:"status"`
	OccurredAt    time.Time        `json:"occurred_at"`
	Source        string           `json:"source"`
	ApplicationNo string           `json:"application_no,omitempty"` // ID ЦОН (P.9)
	Waybill       string           `json:"waybill,omitempty"`        // the Kaspi waybill (P.9)
	State         domain.Status    `json:"state"`
}

// ack is ИИС ЦОН's acknowledgement of a transmitted status.
type ack struct {
	event              uuid.UUID
	at, receivedAtTime time.Time
}

// acknowledgements indexes the accepted StatusTransmissionAcknowledged events by the status
// they acknowledge.
func acknowledgements(events []Event, rp domain.Replay) map[uuid.UUID]ack {
	out := map[uuid.UUID]ack{}
	for i, e := range events {
		if p, ok := e.Payload.(*domain.StatusTransmissionAcknowledgedData); ok && rp.Fitted(i, e.Type) {
			if _, seen := out[p.Transmitted]; !seen {
				out[p.Transmitted] = ack{event: e.ID, at: e.OccurredAt, receivedAtTime: p.ReceivedAt}
			}
		}
	}
	return out
}

// transmission adds the row and the outbox message of one status passed to ИИС ЦОН; s is the
// document's state after the status event.
func transmission(res *Result, id uuid.UUID, e Event, s domain.State, source string, a ack) {
	key := DedupKey(id, e.ID, ChannelIISCON)
	ackEvent := ""
	if a.event != uuid.Nil {
		ackEvent = a.event.String()
	}
	res.Rows.Add(Transmissions, Row{key, id.String(), e.ID.String(), string(e.Type), source, int64(e.Position),
		Micros(e.OccurredAt), ackEvent, Micros(a.at), Micros(a.receivedAtTime)})
	res.Messages[key] = Message{DedupKey: key, DocumentID: id.String(), Channel: ChannelIISCON, Position: e.Position,
		CreatedAt: e.OccurredAt, body: &Transmission{DedupKey: key, DocumentID: id, EventID: e.ID, Status: e.Type,
			OccurredAt: e.OccurredAt.In(domain.Almaty), Source: source, ApplicationNo: s.ApplicationNo, Waybill: s.Waybill, State: s.Status}}
}
