package catalogue

import (
	"slices"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// stepEvents are the application events a catalogue step may end with, in procedure order.
var stepEvents = []domain.EventType{domain.ApplicationRegistered, domain.ResolutionImposed, domain.ReviewCompleted,
	domain.RecordFormed, domain.ResultSigned, domain.ResultDispatched}

// actorRoles maps a step's actor to the position that records it.
var actorRoles = map[string]domain.Role{"provider_office": domain.RoleRAGSOffice, "provider_head": domain.RoleRAGSHead,
	"executor": domain.RoleRAGSExecutor}

// Runnable reports whether applications of the service can run through the ledger: its steps
// name their events (the pilot's service runs as documents instead).
func (s Service) Runnable() bool {
	return slices.ContainsFunc(s.Steps, func(st Step) bool { return st.Event != "" })
}

// StepFor returns the step that ends with event t.
func (s Service) StepFor(t domain.EventType) (Step, bool) {
	for _, st := range s.Steps {
		if st.Event == string(t) {
			return st, true
		}
	}
	return Step{}, false
}

// Application is what deciding an application needs from the service: the extension limit,
// the position that dispatches the result and whether a record step follows the review.
func (s Service) Application() domain.ApplicationService {
	out := domain.ApplicationService{Code: s.Code, DispatchRole: domain.RoleRAGSOffice}
	if x := s.Extension; x != nil && x.Max.Unit == calendar.CalendarDays {
		out.ExtensionMaxDays, out.ExtensionSource = x.Max.N, x.Max.Source
	}
	if st, ok := s.StepFor(domain.ResultDispatched); ok {
		if r, ok := actorRoles[st.Actor]; ok {
			out.DispatchRole = r
		}
	}
	_, out.RecordStep = s.StepFor(domain.RecordFormed)
	return out
}

// ApplicationLookup finds runnable services by code or alias, for domain.DecideApplication.
// The answer names the service by its catalogue code, whatever alias was asked.
func (c *Catalogue) ApplicationLookup() domain.ServiceLookup {
	return func(code string) (domain.ApplicationService, bool) {
		s, ok := c.Lookup(code)
		if !ok || !s.Runnable() {
			return domain.ApplicationService{}, false
		}
		return s.Application(), true
	}
}
