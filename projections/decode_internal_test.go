package projections

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
)

// TestDecodeStoredMatchesDecode: the one-pass decoding of stored events gives domain.Decode's
// event for what domain.Encode wrote, and domain.Decode's error for what it refuses.
func TestDecodeStoredMatchesDecode(t *testing.T) {
	e := domain.Event{ID: uuid.New(), DocumentID: uuid.New(), Type: domain.PlacedInCell,
		OccurredAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		Actor:      domain.Actor{Role: domain.RoleKaspiPlatform, Org: domain.OrgKaspi, Unit: "u"},
		Payload:    &domain.PlacedInCellData{PostomatID: "p-1", CellID: "c-7"}}
	good, err := domain.Encode(e)
	require.NoError(t, err)
	got, err := decodeStored(good)
	require.NoError(t, err)
	want, err := domain.Decode(good)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	for name, b := range map[string]string{
		"not JSON":          "\x00not json{",
		"wrong shape":       `{"type":"PlacedInCell","schema_version":1,"event_id":"` + e.ID.String() + `","document_id":"` + e.DocumentID.String() + `","occurred_at":"2026-03-02T10:00:00Z","actor":{"role":"kaspi_platform","org":"kaspi"},"data":{"cell_id":42}}`,
		"no data":           `{"type":"PlacedInCell","schema_version":1,"event_id":"` + e.ID.String() + `","document_id":"` + e.DocumentID.String() + `","occurred_at":"2026-03-02T10:00:00Z","actor":{"role":"kaspi_platform","org":"kaspi"}}`,
		"unknown type":      `{"type":"Teleported","schema_version":1,"data":{}}`,
		"other version":     `{"type":"PlacedInCell","schema_version":99,"data":{}}`,
		"trailing data":     string(good) + `{}`,
		"type named twice":  `{"type":"PlacedInCell","schema_version":1,"type":"Packed","data":{}}`,
		"a string, no data": `{"type":"PlacedInCell","schema_version":1,"actor":{"unit":",\"data\":"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, werr := domain.Decode([]byte(b))
			_, gerr := decodeStored([]byte(b))
			if werr == nil {
				assert.NoError(t, gerr)
				return
			}
			require.Error(t, gerr)
			assert.Equal(t, werr.Error(), gerr.Error())
		})
	}
}

// BenchmarkDecodeStored compares the one-pass decoding of a stored event with domain.Decode.
func BenchmarkDecodeStored(b *testing.B) {
	e := domain.Event{ID: uuid.New(), DocumentID: uuid.New(), Type: domain.PlacedInCell,
		OccurredAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		Actor:      domain.Actor{Role: domain.RoleKaspiPlatform, Org: domain.OrgKaspi, Unit: "u"},
		Payload:    &domain.PlacedInCellData{PostomatID: "p-1", CellID: "c-7"}}
	data, err := domain.Encode(e)
	require.NoError(b, err)
	for name, decode := range map[string]func([]byte) (domain.Event, error){"strict": domain.Decode, "onepass": decodeStored} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
