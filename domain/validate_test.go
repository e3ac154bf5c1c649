package domain

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidIIN(t *testing.T) {
	cases := []struct {
		iin  string
		want bool
		why  string
	}{
		{"950107400015", true, "control digit with weights 1..11"},
		{"881215300122", true, "control digit with weights 1..11"},
		{"900101500009", true, "first sum is 10: control digit with weights 3..11,1,2"},
		{"950107400016", false, "wrong control digit"},
		{"900101500060", false, "both sums are 10: never issued"},
		{"95010740001", false, "11 digits"},
		{"9501074000150", false, "13 digits"},
		{"95010740001a", false, "a letter"},
		{"951307400015", false, "month 13"},
		{"950100400015", false, "day 00"},
		{"950107700015", false, "century digit 7"},
		{"", false, "empty"},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) { assert.Equal(t, c.want, ValidIIN(c.iin), c.iin) })
	}
}

func TestValidPhone(t *testing.T) {
	assert.True(t, ValidPhone("+77011234567"))
	for _, p := range []string{"87011234567", "+7701123456", "+79011234567", "+7 701 123 45 67", ""} {
		assert.False(t, ValidPhone(p), p)
	}
}

// Each payload refuses its missing or malformed fields, naming the field, never the value.
func TestPayloadValidation(t *testing.T) {
	s := State{DocumentID: uuid.New(), Status: StatusAtKaspiIntake, Holder: &hKIntake, Waybill: testWaybill}
	type mut struct {
		name  string
		t     EventType
		field string
		f     func(Payload)
	}
	muts := []mut{
		{"P.3 application number", DeliveryRequested, "application_no", func(p Payload) { p.(*DeliveryRequestedData).ApplicationNo = "" }},
		{"P.3 bad application number", DeliveryRequested, "application_no", func(p Payload) { p.(*DeliveryRequestedData).ApplicationNo = "a b" }},
		{"service code", DeliveryRequested, "service_code", func(p Payload) { p.(*DeliveryRequestedData).ServiceCode = "" }},
		{"P.3 method", DeliveryRequested, "method", func(p Payload) { p.(*DeliveryRequestedData).Method = "drone" }},
		{"P.3 no method", DeliveryRequested, "method", func(p Payload) { p.(*DeliveryRequestedData).Method = "" }},
		{"city", DeliveryRequested, "city", func(p Payload) { p.(*DeliveryRequestedData).City = " " }},
		{"long city", DeliveryRequested, "city", func(p Payload) { p.(*DeliveryRequestedData).City = strings.Repeat("a", 101) }},
		{"P.4 postomat id", DeliveryRequested, "postomat_id", func(p Payload) { p.(*DeliveryRequestedData).PostomatID = "x" }},
		{"P.4 postomat in the recipient's city", DeliveryRequested, "postomat_city", func(p Payload) { p.(*DeliveryRequestedData).PostomatCity = "Astana" }},
		{"IIN", DeliveryRequested, "recipient.iin", func(p Payload) { p.(*DeliveryRequestedData).Recipient.IIN = "950107400016" }},
		{"phone", DeliveryRequested, "recipient.phone", func(p Payload) { p.(*DeliveryRequestedData).Recipient.Phone = "12345" }},
		{"P.5 issued to RAGS", DocumentIssued, "to.org", func(p Payload) { p.(*DocumentIssuedData).To.Org = OrgGK }},
		{"issued to nobody", DocumentIssued, "to.org", func(p Payload) { p.(*DocumentIssuedData).To = Holder{} }},
		{"issued from nobody", DocumentIssued, "from", func(p Payload) { p.(*DocumentIssuedData).From = hGKAcc }},
		{"certificate number", DocumentIssued, "certificate_number", func(p Payload) { p.(*DocumentIssuedData).CertificateNumber = "12" }},
		{"certificate series", DocumentIssued, "certificate_series", func(p Payload) { p.(*DocumentIssuedData).CertificateSeries = strings.Repeat("I", 17) }},
		{"issued city", DocumentIssued, "city", func(p Payload) { p.(*DocumentIssuedData).City = strings.Repeat("c", 101) }},
		{"issued method", DocumentIssued, "method", func(p Payload) { p.(*DocumentIssuedData).Method = "mail" }},
		{"issued application", DocumentIssued, "application_no", func(p Payload) { p.(*DocumentIssuedData).ApplicationNo = "" }},
		{"issued service", DocumentIssued, "service_code", func(p Payload) { p.(*DocumentIssuedData).ServiceCode = "" }},
		{"P.9 waybill", KaspiOrderCreated, "waybill", func(p Payload) { p.(*KaspiOrderCreatedData).Waybill = "abc" }},
		{"giver org", CollectedFromRags, "from.org", func(p Payload) { p.(*CollectedFromRagsData).From.Org = "" }},
		{"unknown org", CollectedFromRags, "from.org", func(p Payload) { p.(*CollectedFromRagsData).From.Org = "bank" }},
		{"giver unit", CollectedFromRags, "from.unit", func(p Payload) { p.(*CollectedFromRagsData).From.Unit = "" }},
		{"employee id", CollectedFromRags, "to.employee_id", func(p Payload) { p.(*CollectedFromRagsData).To.EmployeeID = "a b" }},
		{"recipient has no unit", CollectedByRecipient, "to", func(p Payload) { p.(*CollectedByRecipientData).To.Unit = "X" }},
		{"P.12 route method", RoutedForDelivery, "method", func(p Payload) { p.(*RoutedForDeliveryData).Method = "" }},
		{"registry id", AddedToRegistry, "registry_id", func(p Payload) { p.(*AddedToRegistryData).RegistryID = uuid.Nil }},
		{"registry line", AddedToRegistry, "line", func(p Payload) { p.(*AddedToRegistryData).Line = 0 }},
		{"registry kind", AddedToRegistry, "kind", func(p Payload) { p.(*AddedToRegistryData).Kind = "misc" }},
		{"P.16 envelope label", Packed, "envelope_label", func(p Payload) { p.(*PackedData).EnvelopeLabel = "" }},
		{"seal", Packed, "seal_number", func(p Payload) { p.(*PackedData).SealNumber = "s" }},
		{"P.17 dispatch registry", HandedToCourier, "registry_id", func(p Payload) { p.(*HandedToCourierData).RegistryID = uuid.Nil }},
		{"P.17 transfer", HandedToCourier, "to.unit", func(p Payload) { p.(*HandedToCourierData).To.Unit = "" }},
		{"P.33 return registry", CollectedFromKaspiIntake, "registry_id", func(p Payload) { p.(*CollectedFromKaspiIntakeData).RegistryID = uuid.Nil }},
		{"P.33 transfer", CollectedFromKaspiIntake, "to.org", func(p Payload) { p.(*CollectedFromKaspiIntakeData).To.Org = "" }},
		{"P.34 ЦОН address", ReceivedAtIssuance, "con_address", func(p Payload) { p.(*ReceivedAtIssuanceData).CONAddress = strings.Repeat("a", 501) }},
		{"P.19 postomat", PlacedInCell, "postomat_id", func(p Payload) { p.(*PlacedInCellData).PostomatID = "" }},
		{"P.19 cell", PlacedInCell, "cell_id", func(p Payload) { p.(*PlacedInCellData).CellID = "b-7" }},
		{"P.19 transfer", PlacedInCell, "from.org", func(p Payload) { p.(*PlacedInCellData).From.Org = "" }},
		{"P.27 new date", DeliveryDelayed, "new_date", func(p Payload) { p.(*DeliveryDelayedData).NewDate = time.Time{} }},
		{"P.27 reason", DeliveryDelayed, "reason", func(p Payload) { p.(*DeliveryDelayedData).Reason = strings.Repeat("r", 501) }},
		{"P.18 registry", IntakeDiscrepancy, "registry_id", func(p Payload) { p.(*IntakeDiscrepancyData).RegistryID = uuid.Nil }},
		{"P.18 kind", IntakeDiscrepancy, "kind", func(p Payload) { p.(*IntakeDiscrepancyData).Kind = "late" }},
		{"P.18 giver", IntakeDiscrepancy, "giver.org", func(p Payload) { p.(*IntakeDiscrepancyData).Giver = Holder{} }},
		{"P.18 receiver", IntakeDiscrepancy, "receiver.org", func(p Payload) { p.(*IntakeDiscrepancyData).Receiver = Holder{} }},
		{"P.18 note", IntakeDiscrepancy, "note", func(p Payload) { p.(*IntakeDiscrepancyData).Note = strings.Repeat("n", 501) }},
		{"P.22 cause", DocumentLost, "cause", func(p Payload) { p.(*DocumentLostData).Cause = "" }},
		{"P.22 last seen", DocumentLost, "last_seen.org", func(p Payload) { p.(*DocumentLostData).LastSeen.Org = "x" }},
		{"P.24 act", LossActRegistered, "act_number", func(p Payload) { p.(*LossActRegisteredData).ActNumber = "" }},
		{"P.24 cancel act", ApplicationCancelled, "act_number", func(p Payload) { p.(*ApplicationCancelledData).ActNumber = "" }},
		{"P.26 duplicate id", DuplicateRequested, "duplicate_document_id", func(p Payload) { p.(*DuplicateRequestedData).DuplicateDocumentID = uuid.Nil }},
		{"P.26 issued id", DuplicateIssued, "duplicate_document_id", func(p Payload) { p.(*DuplicateIssuedData).DuplicateDocumentID = uuid.Nil }},
		{"rule", DeadlineMissed, "rule", func(p Payload) { p.(*DeadlineMissedData).Rule = "" }},
		{"deadline", DeadlineMissed, "deadline", func(p Payload) { p.(*DeadlineMissedData).Deadline = time.Time{} }},
		{"source", DeadlineMissed, "source", func(p Payload) { p.(*DeadlineMissedData).Source = "" }},
		{"corrects", EventCorrected, "corrects", func(p Payload) { p.(*EventCorrectedData).Corrects = uuid.Nil }},
		{"reason", EventCorrected, "reason", func(p Payload) { p.(*EventCorrectedData).Reason = "" }},
	}
	for _, m := range muts {
		t.Run(m.name, func(t *testing.T) {
			e, _ := propose(s, m.t, t0)
			require.NoError(t, ValidateEvent(e))
			m.f(e.Payload)
			err := ValidateEvent(e)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "data."+m.field, ve.Field)
			assert.NotContains(t, err.Error(), "950107400016", "no personal data in errors")
		})
	}
}

func TestEnvelopeValidation(t *testing.T) {
	s := State{DocumentID: uuid.New(), Status: StatusAtKaspiIntake, Holder: &hKIntake}
	base, _ := propose(s, OutForPostomatDelivery, t0)
	cases := map[string]func(*Event){
		"event_id":    func(e *Event) { e.ID = uuid.Nil },
		"document_id": func(e *Event) { e.DocumentID = uuid.Nil },
		"occurred_at": func(e *Event) { e.OccurredAt = time.Time{} },
		"data":        func(e *Event) { e.Payload = nil },
		"type":        func(e *Event) { e.Type = Packed },
	}
	for field, f := range cases {
		e := base
		f(&e)
		var ve *ValidationError
		require.ErrorAs(t, ValidateEvent(e), &ve, field)
		assert.Equal(t, field, ve.Field)
	}
	e := base
	e.Type = "Nope"
	e.Payload = nil
	assert.Error(t, Decide(s, Actor{}, e, t0))
}

func TestAddMonth(t *testing.T) {
	cases := []struct{ in, want time.Time }{
		{time.Date(2026, 1, 31, 15, 0, 0, 0, Almaty), time.Date(2026, 3, 1, 0, 0, 0, 0, Almaty)}, // Feb 28, 24:00
		{time.Date(2026, 3, 15, 9, 0, 0, 0, Almaty), time.Date(2026, 4, 16, 0, 0, 0, 0, Almaty)}, // Apr 15, 24:00
		{time.Date(2026, 12, 31, 9, 0, 0, 0, Almaty), time.Date(2027, 2, 1, 0, 0, 0, 0, Almaty)}, // Jan 31, 24:00
		{time.Date(2026, 3, 15, 23, 30, 0, 0, time.UTC), time.Date(2026, 4, 17, 0, 0, 0, 0, Almaty)},
	}
	for _, c := range cases {
		assert.True(t, c.want.Equal(AddMonth(c.in)), "P.35 one month from %s: %s", c.in, AddMonth(c.in))
	}
}
