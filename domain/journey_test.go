package domain

import (
	"time"

	"github.com/google/uuid"
)

// Test fixtures: one unit per party, as in a real pilot city.
var (
	hRAGS     = Holder{Org: OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "r1"}
	hGKCour   = Holder{Org: OrgGK, Unit: "GK-ALA-CR1", EmployeeID: "c1"}
	hGKAcc    = Holder{Org: OrgGK, Unit: "GK-ALA-ACC", EmployeeID: "a1"}
	hGKIss    = Holder{Org: OrgGK, Unit: "GK-ALA-ISS", EmployeeID: "i1"}
	hKIntake  = Holder{Org: OrgKaspi, Unit: "KSP-ALA-IN1", EmployeeID: "k1"}
	hKCour    = Holder{Org: OrgKaspi, Unit: "KSP-ALA-CR1", EmployeeID: "k2"}
	hPostomat = Holder{Org: OrgKaspi, Unit: "PM-ALA-0042"}
	hRecip    = Holder{Org: OrgRecipient}
	registry  = uuid.MustParse("7f000000-0000-4000-8000-000000000001")
	dupDoc    = uuid.MustParse("7f000000-0000-4000-8000-000000000002")
	t0        = time.Date(2026, 3, 16, 9, 0, 0, 0, Almaty) // a Monday
)

const testWaybill = "KSP-000123456"

func actorOf(r Role, h Holder) Actor {
	return Actor{Role: r, Org: OrgOf(r), Unit: h.Unit, EmployeeID: h.EmployeeID}
}

// holderActor is the actor working at one of the test's units.
func holderActor(h Holder) Actor {
	role := map[string]Role{hRAGS.Unit: RoleRAGS, hGKCour.Unit: RoleGKCourier, hGKAcc.Unit: RoleGKAccumulation,
		hGKIss.Unit: RoleGKIssuance, hKIntake.Unit: RoleKaspiIntake, hKCour.Unit: RoleKaspiCourier, hPostomat.Unit: RolePostomat,
		platform().Unit: RoleKaspiPlatform}[h.Unit]
	if role == "" { // the recipient: no unit of a writer role
		return actorOf(RoleGKAccumulation, hGKAcc)
	}
	return actorOf(role, h)
}

func platform() Actor { return Actor{Role: RoleKaspiPlatform, Org: OrgKaspi, Unit: "KASPI-APP"} }

// propose builds a plausible event of type t for a document in state s at time at, and the
// actor who would record it. Decide still has the last word: the proposal may not fit.
func propose(s State, t EventType, at time.Time) (Event, Actor) {
	cur := hRAGS
	if s.Holder != nil {
		cur = *s.Holder
	}
	tr := func(to Holder) Transfer { return Transfer{From: cur, To: to} }
	var (
		p Payload
		a Actor
	)
	switch t {
	case DeliveryRequested:
		p, a = &DeliveryRequestedData{ApplicationNo: "CON-2026-000001", ServiceCode: "birth_registration.postomat",
			Method: MethodPostomat, City: "Almaty", PostomatID: hPostomat.Unit, PostomatCity: "Almaty",
			Recipient: RecipientContact{IIN: "950107400015", Phone: "+77011234567"}}, platform()
	case DocumentIssued:
		d := &DocumentIssuedData{Transfer: Transfer{To: hRAGS}, ApplicationNo: "CON-2026-000001",
			ServiceCode: "birth_registration.postomat", CertificateNumber: "0123456"}
		if s.Status == StatusNew {
			d.Method, d.City = MethodCON, "Almaty"
		}
		p, a = d, actorOf(RoleRAGS, hRAGS)
	case KaspiOrderCreated:
		p, a = &KaspiOrderCreatedData{Waybill: testWaybill}, platform()
	case CollectedFromRags:
		p, a = &CollectedFromRagsData{tr(hGKCour)}, actorOf(RoleGKCourier, hGKCour)
	case ReceivedAtAccumulation:
		p, a = &ReceivedAtAccumulationData{Transfer: tr(hGKAcc)}, actorOf(RoleGKAccumulation, hGKAcc)
	case RoutedForDelivery:
		m := s.Method
		if m == "" {
			m = MethodCON
		}
		p, a = &RoutedForDeliveryData{Method: m}, actorOf(RoleGKAccumulation, hGKAcc)
	case AddedToRegistry:
		kind := map[Status]RegistryKind{StatusRouted: RegistryDispatch, StatusPacked: RegistryDispatch,
			StatusAtKaspiIntake: RegistryIntakeAcceptance, StatusReturnedToIntake: RegistryReturnCollection}[s.Status]
		if s.Status == StatusRouted && s.Method == MethodCON {
			kind = RegistryRagsIssuance
		}
		if kind == "" {
			kind = RegistryDispatch
		}
		who := actorOf(RoleGKAccumulation, hGKAcc)
		if kind == RegistryIntakeAcceptance {
			who = actorOf(RoleKaspiIntake, hKIntake)
		}
		p, a = &AddedToRegistryData{RegistryID: registry, Kind: kind, Line: 1}, who
	case Packed:
		label := s.Waybill
		if label == "" {
			label = testWaybill
		}
		p, a = &PackedData{EnvelopeLabel: label, SealNumber: "SEAL-0001", RegistryID: &registry}, actorOf(RoleGKAccumulation, hGKAcc)
	case HandedToCourier:
		p, a = &HandedToCourierData{Transfer: tr(hGKCour), RegistryID: registry}, actorOf(RoleGKAccumulation, hGKAcc)
	case AcceptedAtKaspiIntake:
		p, a = &AcceptedAtKaspiIntakeData{Transfer: tr(hKIntake), RegistryID: &registry}, actorOf(RoleKaspiIntake, hKIntake)
	case OutForPostomatDelivery:
		p, a = &OutForPostomatDeliveryData{tr(hKCour)}, actorOf(RoleKaspiCourier, hKCour)
	case PlacedInCell:
		p, a = &PlacedInCellData{Transfer: tr(hPostomat), PostomatID: hPostomat.Unit, CellID: "B07"}, actorOf(RoleKaspiCourier, hKCour)
	case CollectedByRecipient:
		p, a = &CollectedByRecipientData{tr(hRecip)}, platform()
	case RemovedFromCell:
		p, a = &RemovedFromCellData{tr(hKCour)}, actorOf(RoleKaspiCourier, hKCour)
	case ReturnedToKaspiIntake:
		p, a = &ReturnedToKaspiIntakeData{tr(hKIntake)}, actorOf(RoleKaspiIntake, hKIntake)
	case CollectedFromKaspiIntake:
		p, a = &CollectedFromKaspiIntakeData{Transfer: tr(hGKCour), RegistryID: registry}, actorOf(RoleGKCourier, hGKCour)
	case ReceivedAtIssuance:
		p, a = &ReceivedAtIssuanceData{Transfer: tr(hGKIss), CONAddress: "Almaty, Abay 1"}, actorOf(RoleGKIssuance, hGKIss)
	case IssuedToRecipient:
		p, a = &IssuedToRecipientData{Transfer: tr(hRecip), Identity: &IdentityCheck{Method: IdentityInPerson,
			DocumentType: "id_card", DocumentNumber: "045123987"}}, actorOf(RoleGKIssuance, hGKIss)
	case TransferredForStorage:
		p, a = &TransferredForStorageData{tr(hRAGS)}, actorOf(RoleGKIssuance, hGKIss)
	case DeliveryDelayed:
		p, a = &DeliveryDelayedData{NewDate: at.Add(48 * time.Hour), Reason: "weather"}, platform()
	case IntakeDiscrepancy:
		p, a = &IntakeDiscrepancyData{RegistryID: registry, Kind: DiscrepancyDamaged, Giver: hGKCour, Receiver: hKIntake},
			actorOf(RoleKaspiIntake, hKIntake)
	case DocumentLost: // the holder reports it (P.22, P.23)
		p, a = &DocumentLostData{Cause: "envelope not found at shift change", LastSeen: cur, LossAct: LossAct{ActNumber: "LOSS-7",
			ActDate: at.In(Almaty).Format(time.DateOnly), Circumstances: "the envelope was not in the safe at the shift hand-over"}}, holderActor(cur)
	case LossActDrawnUp: // by the unit that reported the loss
		who := holderActor(cur)
		if s.Units.Reporter != nil {
			who = holderActor(*s.Units.Reporter)
		}
		p, a = &LossActDrawnUpData{LossAct{ActNumber: "LOSS-8", ActDate: at.In(Almaty).Format(time.DateOnly),
			Circumstances: "found missing at the shift hand-over"}}, who
	case LossActRegistered:
		p, a = &LossActRegisteredData{ActNumber: "ACT-7"}, actorOf(RoleGKAccumulation, hGKAcc)
	case ApplicationCancelled:
		p, a = &ApplicationCancelledData{ActNumber: "ACT-7"}, actorOf(RoleRAGS, hRAGS)
	case DuplicateRequested:
		p, a = &DuplicateRequestedData{DuplicateDocumentID: dupDoc}, actorOf(RoleGKIssuance, hGKIss)
	case DuplicateIssued:
		p, a = &DuplicateIssuedData{DuplicateDocumentID: dupDoc}, actorOf(RoleRAGS, hRAGS)
	case StatusTransmissionAcknowledged:
		var last uuid.UUID
		if n := len(s.Transmissions); n > 0 {
			last = s.Transmissions[n-1]
		} else {
			last = uuid.NewSHA1(uuid.NameSpaceOID, []byte("none"))
		}
		p, a = &StatusTransmissionAcknowledgedData{Transmitted: last, ReceivedAt: at}, Actor{Role: RoleIISCON, Org: OrgGK, Unit: "IIS-CON"}
	case DeadlineMissed:
		p, a = &DeadlineMissedData{Rule: "intake_wait", Deadline: at.Add(-time.Hour), Holder: cur,
			ChargedTo: []Org{OrgKaspi}, Source: "P.11"}, Actor{Role: RoleSystem, Org: OrgLedger}
	case EventCorrected:
		p, a = &EventCorrectedData{Corrects: uuid.NewSHA1(uuid.NameSpaceOID, []byte("x")), Reason: "wrong employee id"},
			Actor{Role: RoleAdmin, Unit: "ADM"}
	}
	id := uuid.NewSHA1(s.DocumentID, []byte(string(t)+at.String()))
	return Event{ID: id, DocumentID: s.DocumentID, Type: t, OccurredAt: at, Actor: a, Payload: p}, a
}
