package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/projections/query"
)

// The routes of the civil-registration services of seed 003 (DOMAIN.md, Other services):
// applications through their steps, and each service's compliance with its terms.
func (s *Server) applicationRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/applications", Handler: s.startApplication},
		{Method: http.MethodPost, Path: "/v1/applications/{id}/events", Handler: s.appendApplicationEvent},
		{Method: http.MethodGet, Path: "/v1/applications/{id}", Handler: s.getApplication},
		{Method: http.MethodGet, Path: "/v1/applications/{id}/events", Handler: s.getApplicationEvents},
		{Method: http.MethodGet, Path: "/v1/applications/{id}/custody", Handler: s.getCustody},
		{Method: http.MethodGet, Path: "/v1/services/{code}/compliance", Handler: s.getCompliance},
	}
}

// startApplicationIn is the body of POST /v1/applications.
type startApplicationIn struct {
	headIn
	ApplicationID string          `json:"application_id"`
	Type          string          `json:"type"`
	Data          json.RawMessage `json:"data"`
}

// buildApplicationEvent checks an application event body: the type, the role's right to
// record it at all, the actor (the key's own organisation and unit), the id, time and payload.
func buildApplicationEvent(r *http.Request, appID uuid.UUID, head headIn, typ string, data json.RawMessage) (domain.Event, error) {
	t := domain.EventType(typ)
	switch {
	case typ == "":
		return domain.Event{}, malformed("type", "type is required")
	case !domain.IsApplicationEvent(t) || t == domain.DeadlineMissed:
		return domain.Event{}, malformed("type", "type is not an application event type")
	case !domain.MayRecordApplication(key(r).Role, t):
		return domain.Event{}, forbidden("role " + string(key(r).Role) + " may not record " + typ +
			" (" + domain.ApplicationSourceOf(t) + ")")
	}
	a, id, at, err := head.resolve(r, headRules{actorRequired: true})
	if err != nil {
		return domain.Event{}, err
	}
	if appID == uuid.Nil {
		appID = commands.ApplicationIDFor(id)
	}
	p, err := decodePayload(t, data)
	if err != nil {
		return domain.Event{}, err
	}
	return domain.Event{ID: id, DocumentID: appID, Type: t, OccurredAt: at, Actor: a, Payload: p}, nil
}

// startApplication: POST /v1/applications opens an application with ApplicationAccepted or
// ApplicationRefusedAtIntake (at a ЦОН) or ApplicationRegistered (office, portal). The append
// demands an empty stream, so opening an existing application is a version conflict unless it
// is the same request again.
func (s *Server) startApplication(w http.ResponseWriter, r *http.Request) error {
	var in startApplicationIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Type != "" && !slices.Contains(domain.ApplicationStartTypes, domain.EventType(in.Type)) {
		return malformed("type", "an application opens with ApplicationAccepted or ApplicationRefusedAtIntake at a ЦОН, "+
			"or ApplicationRegistered at the office or portal")
	}
	var appID uuid.UUID
	if in.ApplicationID != "" {
		id, err := parseID("application_id", in.ApplicationID)
		if err != nil {
			return err
		}
		appID = id
	}
	e, err := buildApplicationEvent(r, appID, in.headIn, in.Type, in.Data)
	if err != nil {
		return err
	}
	zero := uint64(0)
	res, err := s.svc.AppendApplicationEvent(r.Context(), e.Actor, e, &zero)
	if err != nil {
		return err
	}
	return s.created(w, "application", "/v1/applications/"+res.DocumentID.String(), res)
}

// appendApplicationEvent: POST /v1/applications/{id}/events. An application that does not
// exist is 404: its stream opens only through POST /v1/applications.
func (s *Server) appendApplicationEvent(w http.ResponseWriter, r *http.Request) error {
	appID, err := pathID(r, "application")
	if err != nil {
		return err
	}
	var in eventIn
	if err := decode(r, &in); err != nil {
		return err
	}
	e, err := buildApplicationEvent(r, appID, in.headIn, in.Type, in.Data)
	if err != nil {
		return err
	}
	expected, err := ifMatch(r, in.ExpectedVersion)
	if err != nil {
		return err
	}
	res, err := s.svc.AppendToApplication(r.Context(), e.Actor, e, expected)
	if err != nil {
		return err
	}
	return s.created(w, "application", "", res)
}

// applicationOut is GET /v1/applications/{id}: the folded application, its holder and the
// clocks running now (from the read models, like a document's).
type applicationOut struct {
	domain.Application
	ServiceName     string                   `json:"service_name,omitempty"`
	Applicant       *domain.RecipientContact `json:"applicant,omitempty"`
	ActiveDeadlines []deadlineOut            `json:"active_deadlines"`
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "application")
	if err != nil {
		return err
	}
	a, _, err := s.svc.Application(r.Context(), id)
	if err != nil {
		return err
	}
	out := applicationOut{Application: a}
	out.HolderSince, out.LastOccurred, out.ResolutionDue = almaty(a.HolderSince), almaty(a.LastOccurred), almaty(a.ResolutionDue)
	if svc, ok := s.svc.Catalogue().Lookup(a.ServiceCode); ok {
		out.ServiceName = svc.NameRU
	}
	if a.Applicant != nil {
		c := *a.Applicant
		if !seesPII(key(r).Role) {
			c = c.Masked()
		}
		out.Applicant = &c
	}
	if out.ActiveDeadlines, err = s.activeDeadlines(r.Context(), id, s.svc.Now()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getApplicationEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "application")
	if err != nil {
		return err
	}
	return s.streamEvents(w, r, domain.ApplicationStream(id), "no application "+id.String())
}

// getCompliance: GET /v1/services/{code}/compliance?from=&to=, per step: count, median and
// 95th percentile against the term, breaches.
func (s *Server) getCompliance(w http.ResponseWriter, r *http.Request) error {
	m, err := s.models()
	if err != nil {
		return err
	}
	code, err := s.serviceParam(r.PathValue("code"))
	if err != nil {
		return err
	}
	f := query.ComplianceFilter{Service: code}
	q := r.URL.Query()
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if *dst, err = parseTimeOrDate(name, q.Get(name)); err != nil {
			return err
		}
	}
	res, err := m.Compliance(r.Context(), f)
	return answer(w, res, err)
}

// serviceParam resolves a service code or alias (A1, A2.death, ...) to its catalogue code; an
// unknown one is 404 (empty: no filter).
func (s *Server) serviceParam(code string) (string, error) {
	if code == "" {
		return "", nil
	}
	svc, ok := s.svc.Catalogue().Lookup(code)
	if !ok {
		return "", notFound("no service " + strconv.Quote(code) + " in the catalogue")
	}
	return svc.Code, nil
}

// checkRule accepts a rule of the deadline table or an application's step.
func checkRule(rule string) error {
	if rule == "" {
		return nil
	}
	if _, known := deadline.RuleByID(deadline.RuleID(rule)); known || services.IsRule(deadline.RuleID(rule)) {
		return nil
	}
	return malformed("rule", "unknown rule "+strconv.Quote(rule))
}
