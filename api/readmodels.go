package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/internal/cursor"
	"github.com/custody-ledger/custody/projections/notify"
	"github.com/custody-ledger/custody/projections/query"
)

// ReadModels is the read side the API serves (API.md, Reading): implemented by the
// projections' queries (*query.Queries). The API parses and checks the request, calls one
// method and writes its answer; errors go through the one problem writer.
type ReadModels interface {
	Registries(ctx context.Context, f query.RegistryFilter) (query.RegistryList, error)
	Registry(ctx context.Context, id uuid.UUID) (query.RegistryDetail, error)
	Overdue(ctx context.Context, f query.OverdueFilter) (query.OverdueList, error)
	Custody(ctx context.Context, id uuid.UUID) (query.Custody, error)
	Liability(ctx context.Context, f query.LiabilityFilter) (query.LiabilityReport, error)
	Notifications(ctx context.Context, f query.NotificationFilter) (query.NotificationList, error)
	// Compliance reports a service's per-step compliance (DOMAIN.md, Other services).
	Compliance(ctx context.Context, f query.ComplianceFilter) (query.ComplianceReport, error)
	// ActiveDeadlines lists the clocks running on a document at a moment.
	ActiveDeadlines(ctx context.Context, id uuid.UUID, at time.Time) ([]query.ActiveDeadline, error)
	// Transmissions lists the statuses a document passed to ИИС ЦОН (P.9, P.20, P.22(3), P.31).
	Transmissions(ctx context.Context, id uuid.UUID) (query.TransmissionList, error)
}

var _ ReadModels = (*query.Queries)(nil)

func (s *Server) readModelRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/v1/registries", Handler: s.getRegistries},
		{Method: http.MethodGet, Path: "/v1/registries/{id}", Handler: s.getRegistry},
		{Method: http.MethodGet, Path: "/v1/overdue", Handler: s.getOverdue},
		{Method: http.MethodGet, Path: "/v1/documents/{id}/custody", Handler: s.getCustody},
		{Method: http.MethodGet, Path: "/v1/documents/{id}/transmissions", Handler: s.getTransmissions},
		{Method: http.MethodGet, Path: "/v1/liability", Handler: s.getLiability},
		{Method: http.MethodGet, Path: "/v1/notifications", Handler: s.getNotifications},
	}
}

// models returns the read models, or 503 when this server has none.
func (s *Server) models() (ReadModels, error) {
	if s.readModels == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 5,
			Detail: "this server does not serve the read models"}
	}
	return s.readModels, nil
}

// readError maps a query's error: not found, malformed and unavailable are the client's
// answers; anything else is the read models failing, told as 503 without its detail (it may
// name tables).
func readError(err error) error {
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, query.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, cursor.ErrMalformed):
		return malformed("cursor", err.Error())
	case errors.Is(err, query.ErrMalformed):
		return malformed("", err.Error())
	case errors.Is(err, query.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 5, Detail: err.Error(), Err: err}
	}
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 5,
		Detail: "the read models could not be read", Err: err}
}

// answer writes a read model's result, or its error.
func answer[T any](w http.ResponseWriter, v T, err error) error {
	if err != nil {
		return readError(err)
	}
	return writeJSON(w, http.StatusOK, v)
}

// readPage reads cursor and limit (one rule for every list: 1–1000, default 100, else 400).
func readPage(r *http.Request) (query.Page, error) {
	q := r.URL.Query()
	n, err := cursor.Limit(q.Get("limit"))
	if err != nil {
		return query.Page{}, malformed("limit", err.Error())
	}
	return query.Page{Cursor: q.Get("cursor"), Limit: n}, nil
}

// readID parses a read model's path id: not a UUID is 400 here (the read API's rule).
func readID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, malformed("id", "the id in the path must be a UUID")
	}
	return id, nil
}

// listRequest is what every read-model list starts from: the read models, the page (one limit
// rule) and the query, its org checked.
func (s *Server) listRequest(r *http.Request) (ReadModels, query.Page, url.Values, error) {
	m, err := s.models()
	if err != nil {
		return nil, query.Page{}, nil, err
	}
	p, err := readPage(r)
	if err != nil {
		return nil, query.Page{}, nil, err
	}
	q := r.URL.Query()
	return m, p, q, checkOrg(q.Get("org"))
}

// oneRequest is what a read model of one thing starts from: the read models and the path's id.
func (s *Server) oneRequest(r *http.Request) (ReadModels, uuid.UUID, error) {
	m, err := s.models()
	if err != nil {
		return nil, uuid.Nil, err
	}
	id, err := readID(r)
	return m, id, err
}

var readOrgs = []string{string(domain.OrgRAGS), string(domain.OrgGK), string(domain.OrgKaspi)}

func checkOrg(org string) error {
	if org != "" && !slices.Contains(readOrgs, org) {
		return malformed("org", "org must be one of rags, gk, kaspi")
	}
	return nil
}

func (s *Server) getRegistries(w http.ResponseWriter, r *http.Request) error {
	m, p, q, err := s.listRequest(r)
	if err != nil {
		return err
	}
	switch domain.RegistryKind(q.Get("kind")) {
	case "", domain.RegistryDispatch, domain.RegistryRagsIssuance, domain.RegistryIntakeAcceptance, domain.RegistryReturnCollection:
	default:
		return malformed("kind", "kind must be dispatch, rags_issuance, intake_acceptance or return_collection")
	}
	res, err := m.Registries(r.Context(), query.RegistryFilter{Kind: q.Get("kind"), Unit: q.Get("unit"), Org: q.Get("org"),
		Date: q.Get("date"), Page: p})
	return answer(w, res, err)
}

func (s *Server) getRegistry(w http.ResponseWriter, r *http.Request) error {
	m, id, err := s.oneRequest(r)
	if err != nil {
		return err
	}
	res, err := m.Registry(r.Context(), id)
	if err == nil {
		err = mayReadRegistry(key(r), res)
	}
	return answer(w, res, err)
}

func (s *Server) getOverdue(w http.ResponseWriter, r *http.Request) error {
	m, p, q, err := s.listRequest(r)
	if err != nil {
		return err
	}
	if err := checkRule(q.Get("rule")); err != nil {
		return err
	}
	service, err := s.serviceParam(q.Get("service"))
	if err != nil {
		return err
	}
	res, err := m.Overdue(r.Context(), query.OverdueFilter{Org: q.Get("org"), Rule: q.Get("rule"), Unit: q.Get("unit"),
		Service: service, Page: p})
	return answer(w, res, err)
}

func (s *Server) getCustody(w http.ResponseWriter, r *http.Request) error {
	m, id, err := s.oneRequest(r)
	if err != nil {
		return err
	}
	res, err := m.Custody(r.Context(), id)
	return answer(w, res, err)
}

// getTransmissions: GET /v1/documents/{id}/transmissions, what the document passed to ИИС ЦОН
// and how far each status got (delivered, acknowledged).
func (s *Server) getTransmissions(w http.ResponseWriter, r *http.Request) error {
	m, err := s.models()
	if err != nil {
		return err
	}
	id, err := readID(r)
	if err != nil {
		return err
	}
	res, err := m.Transmissions(r.Context(), id)
	return answer(w, res, err)
}

func (s *Server) getLiability(w http.ResponseWriter, r *http.Request) error {
	m, p, q, err := s.listRequest(r)
	if err != nil {
		return err
	}
	if err := checkRule(q.Get("rule")); err != nil {
		return err
	}
	service, err := s.serviceParam(q.Get("service"))
	if err != nil {
		return err
	}
	f := query.LiabilityFilter{Org: q.Get("org"), Rule: q.Get("rule"), Service: service, Page: p}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if *dst, err = parseTimeOrDate(name, q.Get(name)); err != nil {
			return err
		}
	}
	res, err := m.Liability(r.Context(), f)
	return answer(w, res, err)
}

// parseTimeOrDate reads an RFC 3339 time or a date (midnight in Almaty); "" is zero. A "+"
// left unescaped in a query arrives as a space: it is read as the offset's sign.
func parseTimeOrDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, domain.Almaty); err == nil {
		return t, nil
	}
	if t, err := parseTime(field, strings.ReplaceAll(s, " ", "+"), false); err == nil {
		return t, nil
	}
	return time.Time{}, malformed(field, field+" must be an RFC 3339 time or a date YYYY-MM-DD")
}

var statuses = []string{notify.StatusPending, notify.StatusDelivered, notify.StatusPoison, notify.StatusUndeliverable, notify.StatusExpired}

func (s *Server) getNotifications(w http.ResponseWriter, r *http.Request) error {
	m, p, q, err := s.listRequest(r)
	if err != nil {
		return err
	}
	f := query.NotificationFilter{Status: q.Get("status"), Page: p}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		return malformed("status", "status must be one of pending, delivered, poison, undeliverable, expired")
	}
	if v := q.Get("document_id"); v != "" {
		if f.DocumentID, err = uuid.Parse(v); err != nil {
			return malformed("document_id", "document_id must be a UUID")
		}
	}
	res, err := m.Notifications(r.Context(), f)
	return answer(w, res, err)
}
