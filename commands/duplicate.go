package commands

import (
	"context"
	"errors"

	"github.com/custody-ledger/custody/domain"
)

// checkDuplicateOf: a repeat certificate (DocumentIssued with duplicate_of) must name a
// document that was lost and cancelled (P.26); the check reads that other stream.
func (s *Service) checkDuplicateOf(ctx context.Context, e domain.Event) error {
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
