package commands

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/services"
)

var nsApplication = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0006")

// ApplicationIDFor derives a new application's id from the event that opens it.
func ApplicationIDFor(eventID uuid.UUID) uuid.UUID { return uuid.NewSHA1(nsApplication, eventID[:]) }

// WithCatalogue sets the service catalogue applications are decided against (an operator's
// file added to the embedded data); default catalogue.Default().
func WithCatalogue(c *catalogue.Catalogue) Option { return func(s *Service) { s.catalogue = c } }

// WithOfficeHours sets the units' office hours in which minute and hour terms count (an
// operator's file); default Monday–Friday 09:00–18:00.
func WithOfficeHours(h services.OfficeHours) Option { return func(s *Service) { s.hours = h } }

// OfficeHours returns the office hours application clocks count in.
func (s *Service) OfficeHours() services.OfficeHours {
	if s.hours.Default == (services.Hours{}) {
		return services.DefaultHours
	}
	return s.hours
}

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
// against the catalogue (DOMAIN.md, Other services); ApplicationAccepted,
// ApplicationRefusedAtIntake and ApplicationRegistered may open the stream. Idempotent by
// event id; ifMatch, when given, must be the stream's version.
func (s *Service) AppendApplicationEvent(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64) (Appended, error) {
	return s.appendApplication(ctx, actor, e, ifMatch, false)
}

// AppendToApplication is AppendApplicationEvent on an application that must exist: an empty
// stream is ErrNotFound.
func (s *Service) AppendToApplication(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64) (Appended, error) {
	return s.appendApplication(ctx, actor, e, ifMatch, true)
}

func (s *Service) appendApplication(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64, mustExist bool) (Appended, error) {
	if err := s.validate(e); err != nil {
		return Appended{}, err
	}
	lookup := s.Catalogue().ApplicationLookup()
	c := command{stream: domain.ApplicationStream(e.DocumentID), head: e, ifMatch: ifMatch,
		decide: func(_ context.Context, prior []Stored, _ bool) (step, error) {
			return step{}, domain.DecideApplicationValid(domain.FoldApplication(e.DocumentID, events(prior)), actor, e, s.now(), lookup)
		}}
	if mustExist {
		c.missing = fmt.Errorf("application %s: %w", e.DocumentID, ErrNotFound)
	}
	out, err := s.execute(ctx, c)
	return appendedOf(e.DocumentID, out.head), err
}
