package projections

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
)

// storedEnvelope is domain's stored form of an event with the payload decoded in the same pass
// (Data holds a pointer to the payload of the type the bytes name).
type storedEnvelope struct {
	Type          domain.EventType `json:"type"`
	SchemaVersion int              `json:"schema_version"`
	EventID       uuid.UUID        `json:"event_id"`
	DocumentID    uuid.UUID        `json:"document_id"`
	OccurredAt    time.Time        `json:"occurred_at"`
	Actor         domain.Actor     `json:"actor"`
	Data          domain.Payload   `json:"data"`
}

var (
	typePrefix = []byte(`{"type":"`)
	dataKey    = []byte(`,"data":`) // an absent "data" would leave the payload zero, not fail
)

// decodeStored decodes a stored event in one pass, leniently: the write side validated it,
// so unknown fields are not looked for. It relies on domain.Encode writing the type first;
// bytes of any other shape, and any that do not decode, go through domain.Decode, whose
// answer (and error, for the quarantine) stands. Live batches and rebuilds decode alike, so
// both skip the same events.
func decodeStored(b []byte) (domain.Event, error) {
	if rest, ok := bytes.CutPrefix(b, typePrefix); ok && bytes.Contains(b, dataKey) {
		if end := bytes.IndexByte(rest, '"'); end > 0 {
			if p, err := domain.NewPayload(domain.EventType(rest[:end])); err == nil {
				env := storedEnvelope{Data: p}
				if json.Unmarshal(b, &env) == nil && env.SchemaVersion == domain.SchemaVersion &&
					env.Data == p && p.EventType() == env.Type {
					return domain.Event{ID: env.EventID, DocumentID: env.DocumentID, Type: env.Type,
						OccurredAt: env.OccurredAt, Actor: env.Actor, Payload: p}, nil
				}
			}
		}
	}
	return domain.Decode(b)
}
