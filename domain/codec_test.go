package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every event type encodes to bytes that decode to the same event and re-encode identically,
// whatever offset the times were given in.
func TestCodecRoundTripEveryType(t *testing.T) {
	s := State{DocumentID: uuid.New(), Status: StatusAtKaspiIntake, Holder: &hKIntake, Waybill: testWaybill}
	at := time.Date(2026, 5, 4, 15, 30, 0, 123456789, time.FixedZone("x", 3*3600))
	for _, et := range EventTypes {
		t.Run(string(et), func(t *testing.T) {
			e, _ := propose(s, et, at)
			require.NoError(t, ValidateEvent(e))
			b, err := Encode(e)
			require.NoError(t, err)
			got, err := Decode(b)
			require.NoError(t, err)
			assert.Equal(t, e.ID, got.ID)
			assert.Equal(t, e.Type, got.Type)
			assert.True(t, e.OccurredAt.Equal(got.OccurredAt))
			assert.Equal(t, e.Actor, got.Actor)
			b2, err := Encode(got)
			require.NoError(t, err)
			assert.Equal(t, string(b), string(b2), "stable encoding")
			assert.Contains(t, string(b), `"schema_version":1`)
			assert.Contains(t, string(b), `"type":"`+string(et)+`"`)
		})
	}
}

// A stored event decodes the same in ten years: this is the exact text of version 1.
func TestDecodeGoldenV1(t *testing.T) {
	const golden = `{"type":"PlacedInCell","schema_version":1,"event_id":"5a1e3d3c-1f59-4c8e-9a77-3f1c2b7a0d11",` +
		`"document_id":"0b6a9b8e-58c4-4f06-8a55-3d0f0b5e8c21","occurred_at":"2026-03-26T05:10:00Z",` +
		`"actor":{"role":"kaspi_courier","org":"kaspi","unit":"KSP-ALA-CR1","employee_id":"k2"},` +
		`"data":{"from":{"org":"kaspi","unit":"KSP-ALA-CR1","employee_id":"k2"},"to":{"org":"kaspi","unit":"PM-ALA-0042"},` +
		`"postomat_id":"PM-ALA-0042","cell_id":"B07"}}`
	e, err := Decode([]byte(golden))
	require.NoError(t, err)
	p := e.Payload.(*PlacedInCellData)
	assert.Equal(t, "B07", p.CellID)
	assert.Equal(t, hPostomat, p.To)
	assert.Equal(t, time.Date(2026, 3, 26, 10, 10, 0, 0, Almaty).Unix(), e.OccurredAt.Unix())
	b, err := Encode(e)
	require.NoError(t, err)
	assert.JSONEq(t, golden, string(b))
	assert.Equal(t, golden, string(b))
}

func TestDecodeErrors(t *testing.T) {
	valid := `{"type":"KaspiOrderCreated","schema_version":1,"event_id":"5a1e3d3c-1f59-4c8e-9a77-3f1c2b7a0d11",` +
		`"document_id":"0b6a9b8e-58c4-4f06-8a55-3d0f0b5e8c21","occurred_at":"2026-03-26T05:10:00Z","actor":{"role":"kaspi_platform","org":"kaspi"},"data":{"waybill":"KSP-000123456"}}`
	_, err := Decode([]byte(valid))
	require.NoError(t, err)
	cases := map[string]string{
		"unknown type":      strings.Replace(valid, "KaspiOrderCreated", "Teleported", 1),
		"unknown version":   strings.Replace(valid, `"schema_version":1`, `"schema_version":2`, 1),
		"unknown field":     strings.Replace(valid, `"waybill"`, `"waybill_no"`, 1),
		"unknown top field": strings.Replace(valid, `"type"`, `"extra":1,"type"`, 1),
		"no data":           strings.Replace(valid, `,"data":{"waybill":"KSP-000123456"}`, "", 1),
		"not json":          "not json",
		"trailing":          valid + "{}",
		"empty":             "",
		"array":             "[]",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(in))
			assert.Error(t, err)
		})
	}
	_, err = Decode([]byte(cases["unknown version"]))
	assert.ErrorIs(t, err, ErrUnknownEvent)
	_, err = Decode([]byte(cases["unknown type"]))
	assert.ErrorIs(t, err, ErrUnknownEvent)
}

func TestEncodeErrors(t *testing.T) {
	_, err := Encode(Event{Type: Packed})
	assert.Error(t, err)
	_, err = Encode(Event{Type: Packed, Payload: &KaspiOrderCreatedData{}})
	assert.Error(t, err)
}

func TestDecodePayloadStrict(t *testing.T) {
	p, err := DecodePayload(KaspiOrderCreated, []byte(`{"waybill":"KSP-000123456"}`))
	require.NoError(t, err)
	assert.Equal(t, "KSP-000123456", p.(*KaspiOrderCreatedData).Waybill)
	_, err = DecodePayload(KaspiOrderCreated, []byte(`{"waybill":"KSP-000123456","x":1}`))
	assert.Error(t, err)
	_, err = DecodePayload("Nope", []byte(`{}`))
	assert.ErrorIs(t, err, ErrUnknownEvent)
	assert.True(t, KnownType(Packed))
	assert.False(t, KnownType("Nope"))
}

// FuzzDecode: any byte string gives an event or an error, never a panic; whatever decodes
// re-encodes and decodes again to the same bytes.
func FuzzDecode(f *testing.F) {
	s := State{DocumentID: uuid.New(), Status: StatusAtKaspiIntake, Holder: &hKIntake}
	for _, et := range EventTypes {
		e, _ := propose(s, et, t0)
		b, err := Encode(e)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"DeadlineMissed","schema_version":1,"data":null}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		_ = ValidateEvent(e)
		_ = Evolve(State{}, e)
		out, err := Encode(e)
		if err != nil {
			return // e.g. a null payload: decodable but not a complete event
		}
		e2, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		out2, err := Encode(e2)
		if err != nil || string(out) != string(out2) {
			t.Fatalf("unstable encoding: %s vs %s", out, out2)
		}
		var v map[string]any
		if json.Unmarshal(out, &v) != nil {
			t.Fatal("encoding is not JSON")
		}
	})
}

// Stored events decode leniently and in one pass to what the strict decoder gives; what is
// no event is still an error.
func TestDecodeStored(t *testing.T) {
	s := State{DocumentID: uuid.New(), Status: StatusAtKaspiIntake, Holder: &hKIntake, Waybill: testWaybill}
	for _, et := range EventTypes {
		e, _ := propose(s, et, t0)
		b, err := Encode(e)
		require.NoError(t, err, et)
		want, err := Decode(b)
		require.NoError(t, err, et)
		got, err := DecodeStored(b)
		require.NoError(t, err, et)
		assert.Equal(t, want, got, et)
	}

	valid := `{"type":"KaspiOrderCreated","schema_version":1,"event_id":"5a1e3d3c-1f59-4c8e-9a77-3f1c2b7a0d11",` +
		`"document_id":"0b6a9b8e-58c4-4f06-8a55-3d0f0b5e8c21","occurred_at":"2026-03-26T05:10:00Z","actor":{"role":"kaspi_platform","org":"kaspi"},"data":{"waybill":"KSP-000123456"}}`
	lenient := map[string]string{
		"unknown field":     strings.Replace(valid, `"waybill"`, `"extra":1,"waybill"`, 1),
		"unknown top field": strings.Replace(valid, `"data"`, `"extra":1,"data"`, 1),
		"other field order": strings.Replace(strings.Replace(valid, `"type":"KaspiOrderCreated",`, ``, 1), `"data"`, `"type":"KaspiOrderCreated","data"`, 1),
	}
	for name, in := range lenient {
		t.Run(name, func(t *testing.T) {
			e, err := DecodeStored([]byte(in))
			require.NoError(t, err)
			assert.Equal(t, KaspiOrderCreated, e.Type)
			assert.Equal(t, "KSP-000123456", e.Payload.(*KaspiOrderCreatedData).Waybill)
		})
	}
	bad := map[string]string{
		"unknown type":    strings.Replace(valid, "KaspiOrderCreated", "Teleported", 1),
		"unknown version": strings.Replace(valid, `"schema_version":1`, `"schema_version":2`, 1),
		"no data":         strings.Replace(valid, `,"data":{"waybill":"KSP-000123456"}`, "", 1),
		"wrong data type": strings.Replace(valid, `"KSP-000123456"`, `123`, 1),
		"not json":        "not json",
		"trailing":        valid + "{}",
		"empty":           "",
		"array":           "[]",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeStored([]byte(in))
			assert.Error(t, err)
		})
	}
	e, err := DecodeStored([]byte(strings.Replace(valid, `"data"`, `"type":"Packed","data"`, 1)))
	require.NoError(t, err, "a second type member: the last one wins, as for the strict decoder")
	assert.Equal(t, Packed, e.Type)
	_, err = DecodeStored([]byte(bad["unknown type"]))
	assert.ErrorIs(t, err, ErrUnknownEvent)
	_, err = DecodeStored([]byte(bad["unknown version"]))
	assert.ErrorIs(t, err, ErrUnknownEvent)
}

func BenchmarkDecode(b *testing.B) {
	s := State{DocumentID: uuid.New(), Status: StatusAtKaspiIntake, Holder: &hKIntake, Waybill: testWaybill}
	e, _ := propose(s, OutForPostomatDelivery, t0)
	data, err := Encode(e)
	require.NoError(b, err)
	for _, c := range []struct {
		name   string
		decode func([]byte) (Event, error)
	}{{"strict", Decode}, {"stored", DecodeStored}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
