package query

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// RuleTransmission names overdue items that are a status not yet delivered to ИИС ЦОН.
const RuleTransmission = "iis_con_transmission"

// Transmission is a status Kaspi passes to ИИС ЦОН (P.9, P.20, P.22(3), P.31), its delivery
// state in the outbox and ИИС ЦОН's acknowledgement.
type Transmission struct {
	DedupKey       string     `json:"dedup_key"`
	DocumentID     uuid.UUID  `json:"document_id"`
	EventID        uuid.UUID  `json:"event_id"`
	Status         string     `json:"status"` // the status event's type
	Source         string     `json:"source"`
	OccurredAt     time.Time  `json:"occurred_at"`
	Delivery       string     `json:"delivery"` // pending, delivered, poison, expired
	Attempts       int64      `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	AckEventID     *uuid.UUID `json:"ack_event_id,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"` // when ИИС ЦОН said it received it
}

// TransmissionList is a document's transmissions, in log order.
type TransmissionList struct {
	DocumentID uuid.UUID      `json:"document_id"`
	Items      []Transmission `json:"items"`
}

// Transmissions lists what a document passed to ИИС ЦОН and how far each got.
func (q *Queries) Transmissions(ctx context.Context, doc uuid.UUID) (TransmissionList, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return TransmissionList{}, err
	}
	out := TransmissionList{DocumentID: doc, Items: []Transmission{}}
	query := fmt.Sprintf(`SELECT t.dedup_key, t.trigger_event, t.status, t.source, t.created_at, COALESCE(o.status, 'pending'),
		COALESCE(o.attempts, 0), COALESCE(o.last_error, ''), COALESCE(o.delivered_at, 0), t.ack_event, t.received_at
		FROM %s t LEFT JOIN projections_outbox o ON o.dedup_key = t.dedup_key WHERE t.document_id = $1
		ORDER BY t.position, t.dedup_key`, model.Transmissions.Name(gen))
	if err := q.each(ctx, query, []any{doc.String()}, func(s rowScanner) error {
		var (
			t                              Transmission
			ev, ackEv                      string
			created, delivered, receivedAt int64
		)
		if err := s.Scan(&t.DedupKey, &ev, &t.Status, &t.Source, &created, &t.Delivery, &t.Attempts, &t.LastError, &delivered,
			&ackEv, &receivedAt); err != nil {
			return err
		}
		t.DocumentID = doc
		t.EventID, _ = uuid.Parse(ev)
		t.OccurredAt, t.DeliveredAt = at(created), atPtr(delivered)
		if id, err := uuid.Parse(ackEv); err == nil {
			t.AckEventID, t.AcknowledgedAt = &id, atPtr(receivedAt)
		}
		out.Items = append(out.Items, t)
		return nil
	}); err != nil {
		return TransmissionList{}, fmt.Errorf("query: transmissions: %w", err)
	}
	return out, nil
}
