package commands

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/eventstore"
)

var nsApplication = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0006")

// ApplicationIDFor derives a new application's id from the event that opens it.
func ApplicationIDFor(eventID uuid.UUID) uuid.UUID { return uuid.NewSHA1(nsApplication, eventID[:]) }

// WithCatalogue sets the service catalogue applications are decided against (an operator's
// file added to the embedded data); default catalogue.Default().
func WithCatalogue(c *catalogue.Catalogue) Option { return func(s *Service) { s.catalogue = c } }

// Catalogue returns the service catalogue the service decides applications with.
func (s *Service) Catalogue() *catalogue.Catalogue {
	if s.catalogue == nil {
		return catalogue.Default()
	}
	return s.catalogue
}

// Application returns an application's current state and its stored events.
func (s *Service) Application(ctx context.Context, id uuid.UUID) (domain.Application, []Stored, error) {
	stored, err := s.load(ctx, domain.ApplicationStream(id))
	if err != nil {
		return domain.Application{}, nil, err
	}
	if len(stored) == 0 {
		return domain.Application{}, nil, fmt.Errorf("application %s: %w", id, ErrNotFound)
	}
	return domain.FoldApplication(id, events(stored)), stored, nil
}

// AppendApplicationEvent records one event on an application's stream for actor, decided
// against the catalogue (DOMAIN.md, Other services). Idempotent by event id; ifMatch, when
// given, must be the stream's version.
func (s *Service) AppendApplicationEvent(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64) (Appended, error) {
	lookup := s.Catalogue().ApplicationLookup()
	return s.appendOnce(ctx, domain.ApplicationStream(e.DocumentID), e, func(stored []Stored) error {
		a := domain.FoldApplication(e.DocumentID, events(stored))
		if ifMatch != nil && *ifMatch != a.Version {
			return &eventstore.VersionConflictError{StreamID: domain.ApplicationStream(e.DocumentID),
				Expected: eventstore.Exact(*ifMatch), Actual: a.Version}
		}
		return domain.DecideApplication(a, actor, e, s.now(), lookup)
	})
}
