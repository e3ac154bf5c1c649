package commands

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
)

// ForceMajeureIDFor derives a force-majeure period's id from the event that declares it.
func ForceMajeureIDFor(eventID uuid.UUID) uuid.UUID { return uuid.NewSHA1(nsForceMajeure, eventID[:]) }

// DisputeIDFor derives a dispute's id from the event that opens it.
func DisputeIDFor(eventID uuid.UUID) uuid.UUID { return uuid.NewSHA1(nsDispute, eventID[:]) }

// DeclareForceMajeure records a force-majeure period notified by the actor's organisation
// (P.37, P.38) on its own stream. OccurredAt is the moment of notice: whether it came within
// 3 working days of onset (P.39) is judged from it by the deadline rules.
func (s *Service) DeclareForceMajeure(ctx context.Context, actor domain.Actor, eventID uuid.UUID, at time.Time,
	d domain.ForceMajeureDeclaredData) (Appended, error) {
	if !slices.Contains(fmRoles, actor.Role) {
		return Appended{}, &domain.ForbiddenError{Role: actor.Role, Event: domain.ForceMajeureDeclared,
			Reason: "force majeure is notified by an organisation's units or an administrator"}
	}
	if actor.Role != domain.RoleAdmin {
		d.NotifyingOrg = actor.Org // a party notifies for itself
	}
	if at.After(s.now().Add(domain.MaxClockSkew)) {
		return Appended{}, &domain.ValidationError{Field: "occurred_at", Reason: "lies in the future"}
	}
	id := ForceMajeureIDFor(eventID)
	e := domain.Event{ID: eventID, DocumentID: id, Type: domain.ForceMajeureDeclared, OccurredAt: at, Actor: actor, Payload: &d}
	if err := s.validate(e); err != nil {
		return Appended{}, err // a bad field is 400 before the scope's 403
	}
	d, err := domain.ScopeForceMajeure(actor, d)
	if err != nil {
		return Appended{}, err
	}
	return s.appendOnce(ctx, ForceMajeureStream(id), e, nil, func(stored []Stored) error {
		if len(stored) > 0 {
			return &domain.StepError{State: "declared", Allowed: []domain.EventType{}, Reason: "this force-majeure period is already declared"}
		}
		return nil
	})
}

var fmRoles = []domain.Role{domain.RoleRAGS, domain.RoleGKAccumulation, domain.RoleGKIssuance, domain.RoleGKCourier,
	domain.RoleKaspiIntake, domain.RoleKaspiCourier, domain.RoleKaspiPlatform, domain.RoleIISCON, domain.RoleAdmin}

// ForceMajeure returns a declared period.
func (s *Service) ForceMajeure(ctx context.Context, id uuid.UUID) (domain.Event, Stored, error) {
	stored, err := s.loadExisting(ctx, ForceMajeureStream(id))
	if err != nil {
		return domain.Event{}, Stored{}, err
	}
	return stored[0].Event, stored[0], nil
}

func commissionOnly(actor domain.Actor, t domain.EventType) error {
	if actor.Role != domain.RoleCommission {
		return &domain.ForbiddenError{Role: actor.Role, Event: t, Reason: "disputes are recorded by the commission (P.36)"}
	}
	return nil
}

// OpenDispute opens a dispute-<uuid> stream for the commission (P.36).
func (s *Service) OpenDispute(ctx context.Context, actor domain.Actor, eventID uuid.UUID, at time.Time,
	d domain.DisputeOpenedData) (Appended, error) {
	if err := commissionOnly(actor, domain.DisputeOpened); err != nil {
		return Appended{}, err
	}
	id := DisputeIDFor(eventID)
	e := domain.Event{ID: eventID, DocumentID: id, Type: domain.DisputeOpened, OccurredAt: at, Actor: actor, Payload: &d}
	return s.appendOnce(ctx, DisputeStream(id), e, nil, func(stored []Stored) error {
		if len(stored) > 0 {
			return &domain.StepError{State: "opened", Allowed: []domain.EventType{domain.DisputeResolved}, Reason: "this dispute is already open"}
		}
		return nil
	})
}

// ResolveDispute records the commission's decision and protocol number (P.36), once.
func (s *Service) ResolveDispute(ctx context.Context, actor domain.Actor, disputeID, eventID uuid.UUID, at time.Time,
	d domain.DisputeResolvedData) (Appended, error) {
	if err := commissionOnly(actor, domain.DisputeResolved); err != nil {
		return Appended{}, err
	}
	e := domain.Event{ID: eventID, DocumentID: disputeID, Type: domain.DisputeResolved, OccurredAt: at, Actor: actor, Payload: &d}
	missing := fmt.Errorf("dispute %s: %w", disputeID, ErrNotFound)
	return s.appendOnce(ctx, DisputeStream(disputeID), e, missing, func(stored []Stored) error {
		switch {
		case len(stored) > 1:
			return &domain.StepError{State: "resolved", Allowed: []domain.EventType{}, Reason: "the dispute is already resolved"}
		case at.Before(stored[0].Event.OccurredAt):
			return &domain.ValidationError{Field: "occurred_at", Reason: "before the dispute was opened"}
		}
		return nil
	})
}

// Dispute returns a dispute's stored events.
func (s *Service) Dispute(ctx context.Context, id uuid.UUID) ([]Stored, error) {
	return s.loadExisting(ctx, DisputeStream(id))
}
