// Package readapi serves the projections' read models over HTTP (API.md, Reading):
//
//	GET /v1/registries?kind=&unit=&date=&cursor=&limit=
//	GET /v1/registries/{id}
//	GET /v1/overdue?org=&rule=&unit=&cursor=&limit=
//	GET /v1/documents/{id}/custody
//	GET /v1/liability?org=&from=&to=&cursor=&limit=
//	GET /v1/notifications?document_id=&status=&cursor=&limit=
//
// JSON out, times in +05:00, errors as RFC 9457 problem details with codes malformed,
// not_found and unavailable. It does no authentication: the api package mounts it behind its
// own, with the caller in the request context. Recipient contacts are always masked.
package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/projections/notify"
	"github.com/custody-ledger/custody/projections/query"
)

// Reader is the read side the handler serves (implemented by *query.Queries).
type Reader interface {
	Registries(ctx context.Context, f query.RegistryFilter) (query.RegistryList, error)
	Registry(ctx context.Context, id uuid.UUID) (query.RegistryDetail, error)
	Overdue(ctx context.Context, f query.OverdueFilter) (query.OverdueList, error)
	Custody(ctx context.Context, id uuid.UUID) (query.Custody, error)
	Liability(ctx context.Context, f query.LiabilityFilter) (query.LiabilityReport, error)
	Notifications(ctx context.Context, f query.NotificationFilter) (query.NotificationList, error)
}

var _ Reader = (*query.Queries)(nil)

// Paths lists the route patterns the handler serves, for the mounting router.
var Paths = []string{"GET /v1/registries", "GET /v1/registries/{id}", "GET /v1/overdue",
	"GET /v1/documents/{id}/custody", "GET /v1/liability", "GET /v1/notifications"}

// New returns the handler.
func New(r Reader) http.Handler {
	h := &handler{r: r}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/registries", h.registries)
	mux.HandleFunc("GET /v1/registries/{id}", h.registry)
	mux.HandleFunc("GET /v1/overdue", h.overdue)
	mux.HandleFunc("GET /v1/documents/{id}/custody", h.custody)
	mux.HandleFunc("GET /v1/liability", h.liability)
	mux.HandleFunc("GET /v1/notifications", h.notifications)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		problem(w, http.StatusNotFound, "not_found", "Not found", "no such read endpoint")
	})
	return mux
}

type handler struct{ r Reader }

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
}

func problem(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{Type: "urn:custody:problem:" + code, Title: title, Status: status, Detail: detail, Code: code})
}

func malformed(w http.ResponseWriter, detail string) {
	problem(w, http.StatusBadRequest, "malformed", "Malformed request", detail)
}

func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, query.ErrNotFound):
		problem(w, http.StatusNotFound, "not_found", "Not found", err.Error())
	case errors.Is(err, query.ErrMalformed):
		malformed(w, err.Error())
	case errors.Is(err, query.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		problem(w, http.StatusServiceUnavailable, "unavailable", "Read models unavailable", err.Error())
	default:
		// The detail of an internal error stays in the server's logs (it may name tables).
		problem(w, http.StatusServiceUnavailable, "unavailable", "Read models unavailable", "the read models could not be read")
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func page(w http.ResponseWriter, r *http.Request) (query.Page, bool) {
	p := query.Page{Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			malformed(w, "limit must be an integer from 1 to 1000")
			return p, false
		}
		p.Limit = n
	}
	return p, true
}

func pathID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		malformed(w, "the id in the path must be a UUID")
		return uuid.Nil, false
	}
	return id, true
}

var orgs = []string{string(domain.OrgRAGS), string(domain.OrgGK), string(domain.OrgKaspi)}

func checkOrg(w http.ResponseWriter, org string) bool {
	if org != "" && !slices.Contains(orgs, org) {
		malformed(w, "org must be one of rags, gk, kaspi")
		return false
	}
	return true
}

func (h *handler) registries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := page(w, r)
	if !ok {
		return
	}
	kind := q.Get("kind")
	switch domain.RegistryKind(kind) {
	case "", domain.RegistryDispatch, domain.RegistryRagsIssuance, domain.RegistryIntakeAcceptance, domain.RegistryReturnCollection:
	default:
		malformed(w, "kind must be dispatch, rags_issuance, intake_acceptance or return_collection")
		return
	}
	res, err := h.r.Registries(r.Context(), query.RegistryFilter{Kind: kind, Unit: q.Get("unit"), Date: q.Get("date"), Page: p})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, res)
}

func (h *handler) registry(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	res, err := h.r.Registry(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, res)
}

func (h *handler) overdue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := page(w, r)
	if !ok || !checkOrg(w, q.Get("org")) {
		return
	}
	if rule := q.Get("rule"); rule != "" {
		if _, known := deadline.RuleByID(deadline.RuleID(rule)); !known {
			malformed(w, "unknown rule "+strconv.Quote(rule))
			return
		}
	}
	res, err := h.r.Overdue(r.Context(), query.OverdueFilter{Org: q.Get("org"), Rule: q.Get("rule"), Unit: q.Get("unit"), Page: p})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, res)
}

func (h *handler) custody(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	res, err := h.r.Custody(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, res)
}

// parseTime accepts RFC 3339 or a date (midnight in Almaty).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateOnly, s, domain.Almaty)
}

func (h *handler) liability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := page(w, r)
	if !ok || !checkOrg(w, q.Get("org")) {
		return
	}
	f := query.LiabilityFilter{Org: q.Get("org"), Page: p}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(name); s != "" {
			t, err := parseTime(s)
			if err != nil {
				malformed(w, name+" must be an RFC 3339 time or a date YYYY-MM-DD")
				return
			}
			*dst = t
		}
	}
	res, err := h.r.Liability(r.Context(), f)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, res)
}

var statuses = []string{notify.StatusPending, notify.StatusDelivered, notify.StatusPoison, notify.StatusUndeliverable, notify.StatusExpired}

func (h *handler) notifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := page(w, r)
	if !ok {
		return
	}
	f := query.NotificationFilter{Status: q.Get("status"), Page: p}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		malformed(w, "status must be one of pending, delivered, poison, undeliverable, expired")
		return
	}
	if s := q.Get("document_id"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			malformed(w, "document_id must be a UUID")
			return
		}
		f.DocumentID = id
	}
	res, err := h.r.Notifications(r.Context(), f)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, res)
}
