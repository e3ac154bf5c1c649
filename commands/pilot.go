package commands

import (
	"context"
	"errors"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/catalogue"
)

// WithPilot replaces the pilot's scope (order p.6) taken from the embedded catalogue, e.g.
// with one extended by an operator's catalogue file (--catalogue).
func WithPilot(p domain.Pilot) Option { return func(s *Service) { s.pilot = &p } }

// pilotScope is the scope new deliveries are checked against.
func (s *Service) pilotScope() domain.Pilot {
	if s.pilot != nil {
		return *s.pilot
	}
	return catalogue.Default().Pilot()
}

// pilotChecks are the pilot's rules that look beyond the document's own stream: a new
// delivery must fall within the pilot's period and services (order p.6), and a repeat
// certificate must name a document that was lost and cancelled (P.26).
func (s *Service) pilotChecks(ctx context.Context, e domain.Event) error {
	if err := s.pilotScope().AdmitDelivery(e); err != nil {
		return err
	}
	p, ok := e.Payload.(*domain.DocumentIssuedData)
	if !ok || p.DuplicateOf == nil {
		return nil
	}
	orig, _, err := s.Document(ctx, *p.DuplicateOf)
	if errors.Is(err, ErrNotFound) {
		orig, err = domain.State{DocumentID: *p.DuplicateOf, Status: domain.StatusNew}, nil
	}
	if err != nil {
		return err
	}
	return domain.CheckDuplicateOf(orig, e.DocumentID)
}
