// Package demo builds realistic custody data through the same commands integrators use:
// the `custody demo` data set, and journeys for tests of the packages above domain.
package demo

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
)

// City is one pilot city's units: a RAGS office, the ЦОН's sectors and couriers, a Kaspi intake
// point, a Kaspi courier and a postomat.
type City struct {
	Name                                                                             string
	RAGS, GKCourier, GKAccumulation, GKIssuance, KaspiIntake, KaspiCourier, Postomat domain.Holder
	CONAddress                                                                       string
}

// Almaty is the demo's city.
var Almaty = City{
	Name:           "Almaty",
	RAGS:           domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "r-017"},
	GKCourier:      domain.Holder{Org: domain.OrgGK, Unit: "GK-ALA-CR1", EmployeeID: "c-204"},
	GKAccumulation: domain.Holder{Org: domain.OrgGK, Unit: "GK-ALA-ACC", EmployeeID: "a-031"},
	GKIssuance:     domain.Holder{Org: domain.OrgGK, Unit: "GK-ALA-ISS", EmployeeID: "i-112"},
	KaspiIntake:    domain.Holder{Org: domain.OrgKaspi, Unit: "KSP-ALA-IN1", EmployeeID: "k-550"},
	KaspiCourier:   domain.Holder{Org: domain.OrgKaspi, Unit: "KSP-ALA-CR1", EmployeeID: "k-771"},
	Postomat:       domain.Holder{Org: domain.OrgKaspi, Unit: "PM-ALA-0042"},
	CONAddress:     "Almaty, Abay Ave 10, ЦОН of Almalinsky district",
}

// Platform is the Kaspi app acting for Kaspi (P.9).
var Platform = domain.Actor{Role: domain.RoleKaspiPlatform, Org: domain.OrgKaspi, Unit: "KASPI-APP"}

// ActorOf is the actor of role working at unit h.
func ActorOf(r domain.Role, h domain.Holder) domain.Actor {
	return domain.Actor{Role: r, Org: domain.OrgOf(r), Unit: h.Unit, EmployeeID: h.EmployeeID}
}

// Recipient returns a valid, made-up recipient contact for document n (IIN with a correct
// control digit, a Kazakh mobile number).
func Recipient(n int) domain.RecipientContact {
	for i := 0; ; i++ {
		iin := fmt.Sprintf("9%05d4%05d", (n*7+i)%100000, (n*13+i)%100000)
		iin = fixDate(iin)
		for d := 0; d < 10; d++ {
			cand := iin[:11] + string(rune('0'+d))
			if domain.ValidIIN(cand) {
				return domain.RecipientContact{IIN: cand, Phone: fmt.Sprintf("+7701%07d", n%10000000)}
			}
		}
	}
}

// fixDate makes digits 3–6 a valid month and day (YYMMDD).
func fixDate(s string) string {
	b := []byte(s)
	m := int(b[2]-'0')*10 + int(b[3]-'0')
	m = m%12 + 1
	d := int(b[4]-'0')*10 + int(b[5]-'0')
	d = d%28 + 1
	b[2], b[3], b[4], b[5] = byte('0'+m/10), byte('0'+m%10), byte('0'+d/10), byte('0'+d%10)
	return string(b)
}

// Waybill is document n's Kaspi waybill.
func Waybill(n int) string { return fmt.Sprintf("KSP-%09d", n) }

// Evidence is an authorised body's document attesting force majeure that began on day (P.38).
func Evidence(day time.Time) *domain.FMEvidence {
	return &domain.FMEvidence{Issuer: "Emergency commission of the akimat", Number: "EC-" + day.In(domain.Almaty).Format("0102"),
		Date: day.In(domain.Almaty).Format(time.DateOnly)}
}

// holderActor is the actor working at unit h of the city (the accumulation sector when h is
// none of them).
func (c City) holderActor(h domain.Holder) domain.Actor {
	for _, u := range []struct {
		r domain.Role
		h domain.Holder
	}{{domain.RoleRAGS, c.RAGS}, {domain.RoleGKCourier, c.GKCourier}, {domain.RoleGKIssuance, c.GKIssuance},
		{domain.RoleKaspiIntake, c.KaspiIntake}, {domain.RoleKaspiCourier, c.KaspiCourier}, {domain.RolePostomat, c.Postomat}} {
		if u.h.SamePlace(h) {
			return ActorOf(u.r, u.h)
		}
	}
	return ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
}

// NotifiedBy lists the parties an organisation notifies of its force majeure (P.38): the others.
func NotifiedBy(org domain.Org) []domain.Org {
	var out []domain.Org
	for _, o := range []domain.Org{domain.OrgRAGS, domain.OrgGK, domain.OrgKaspi} {
		if o != org {
			out = append(out, o)
		}
	}
	return out
}

// Identity is how document n's recipient proved who they are at the ЦОН (003 §9): every
// fifth through a representative with a notarised power of attorney.
func Identity(n int) *domain.IdentityCheck {
	id := &domain.IdentityCheck{Method: domain.IdentityInPerson, DocumentType: "id_card", DocumentNumber: fmt.Sprintf("0%08d", 40000000+n)}
	if n%5 == 0 {
		id.Method = domain.IdentityRepresentative
		id.PowerOfAttorney = &domain.PowerOfAttorney{Number: fmt.Sprintf("N-%06d", n), Date: "2026-01-15"}
	}
	return id
}

// DuplicateOf is the id of the repeat certificate's document for a lost document (P.26).
func DuplicateOf(lost uuid.UUID) uuid.UUID { return uuid.NewSHA1(lost, []byte("duplicate")) }

// Next builds the event of type t that moves a document in state s on, at time at, and the
// actor who records it, with the holders of city c. It mirrors what each party sends.
func Next(c City, s domain.State, n int, t domain.EventType, at time.Time) (domain.Event, domain.Actor) {
	cur := domain.Holder{}
	if s.Holder != nil {
		cur = *s.Holder
	}
	tr := func(to domain.Holder) domain.Transfer { return domain.Transfer{From: cur, To: to} }
	var (
		p domain.Payload
		a domain.Actor
	)
	switch t {
	case domain.DeliveryRequested:
		p, a = &domain.DeliveryRequestedData{ApplicationNo: fmt.Sprintf("CON-2026-%06d", n), ServiceCode: "birth_registration.postomat",
			Method: domain.MethodPostomat, City: c.Name, PostomatID: c.Postomat.Unit, PostomatCity: c.Name, Recipient: Recipient(n)}, Platform
	case domain.DocumentIssued:
		d := &domain.DocumentIssuedData{Transfer: domain.Transfer{To: c.RAGS}, ApplicationNo: fmt.Sprintf("CON-2026-%06d", n),
			ServiceCode: "birth_registration.postomat", CertificateSeries: "I-ЖС", CertificateNumber: fmt.Sprintf("%07d", n)}
		if s.Status == domain.StatusNew {
			d.Method, d.City = domain.MethodCON, c.Name
		}
		p, a = d, ActorOf(domain.RoleRAGS, c.RAGS)
	case domain.KaspiOrderCreated:
		p, a = &domain.KaspiOrderCreatedData{Waybill: Waybill(n)}, Platform
	case domain.CollectedFromRags:
		p, a = &domain.CollectedFromRagsData{Transfer: tr(c.GKCourier)}, ActorOf(domain.RoleGKCourier, c.GKCourier)
	case domain.ReceivedAtAccumulation:
		p, a = &domain.ReceivedAtAccumulationData{Transfer: tr(c.GKAccumulation)}, ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	case domain.RoutedForDelivery:
		p, a = &domain.RoutedForDeliveryData{Method: s.Method}, ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	case domain.Packed:
		p, a = &domain.PackedData{EnvelopeLabel: s.Waybill, SealNumber: fmt.Sprintf("SEAL-%06d", n)}, ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	case domain.OutForPostomatDelivery:
		p, a = &domain.OutForPostomatDeliveryData{Transfer: tr(c.KaspiCourier)}, ActorOf(domain.RoleKaspiCourier, c.KaspiCourier)
	case domain.PlacedInCell:
		p, a = &domain.PlacedInCellData{Transfer: tr(c.Postomat), PostomatID: c.Postomat.Unit, CellID: fmt.Sprintf("C%02d", n%40+1)},
			ActorOf(domain.RoleKaspiCourier, c.KaspiCourier)
	case domain.CollectedByRecipient:
		p, a = &domain.CollectedByRecipientData{Transfer: tr(domain.Holder{Org: domain.OrgRecipient})}, Platform
	case domain.RemovedFromCell:
		p, a = &domain.RemovedFromCellData{Transfer: tr(c.KaspiCourier)}, ActorOf(domain.RoleKaspiCourier, c.KaspiCourier)
	case domain.ReturnedToKaspiIntake:
		p, a = &domain.ReturnedToKaspiIntakeData{Transfer: tr(c.KaspiIntake)}, ActorOf(domain.RoleKaspiIntake, c.KaspiIntake)
	case domain.IssuedToRecipient:
		p, a = &domain.IssuedToRecipientData{Transfer: tr(domain.Holder{Org: domain.OrgRecipient}), Identity: Identity(n)},
			ActorOf(domain.RoleGKIssuance, c.GKIssuance)
	case domain.TransferredForStorage:
		p, a = &domain.TransferredForStorageData{Transfer: tr(c.RAGS)}, ActorOf(domain.RoleGKIssuance, c.GKIssuance)
	case domain.DeliveryDelayed:
		p, a = &domain.DeliveryDelayedData{NewDate: at.Add(48 * time.Hour), Reason: "courier route cancelled"}, Platform
	case domain.DocumentLost:
		who := c.holderActor(cur) // the holder reports it (P.22, P.23)
		p, a = &domain.DocumentLostData{Cause: "envelope not found at the shift hand-over", LastSeen: cur,
			LossAct: domain.LossAct{ActNumber: fmt.Sprintf("LOSS-%06d", n), ActDate: at.In(domain.Almaty).Format(time.DateOnly),
				Circumstances: "the envelope was not in the safe at the shift hand-over; the shift log and the CCTV were checked"}}, who
	case domain.LossActRegistered:
		p, a = &domain.LossActRegisteredData{ActNumber: fmt.Sprintf("ACT-%06d", n)}, ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	case domain.ApplicationCancelled:
		p, a = &domain.ApplicationCancelledData{ActNumber: fmt.Sprintf("ACT-%06d", n)}, ActorOf(domain.RoleRAGS, c.RAGS)
	case domain.DuplicateRequested: // P.26: the recipient applies through GK (P.25)
		p, a = &domain.DuplicateRequestedData{DuplicateDocumentID: DuplicateOf(s.DocumentID)}, ActorOf(domain.RoleGKIssuance, c.GKIssuance)
	default:
		panic(fmt.Sprintf("demo: no builder for %s", t)) // registry-driven steps go through registries
	}
	id := uuid.NewSHA1(s.DocumentID, fmt.Appendf(nil, "%s/%d", t, s.Version))
	return domain.Event{ID: id, DocumentID: s.DocumentID, Type: t, OccurredAt: at, Actor: a, Payload: p}, a
}
