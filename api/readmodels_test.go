package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/projections/query"
)

// stubModels answers every query with err, and records the filters it was given.
type stubModels struct {
	err     error
	overdue query.OverdueFilter
	liab    query.LiabilityFilter
	comp    query.ComplianceFilter
	notif   query.NotificationFilter
	regs    query.RegistryFilter
}

func (s *stubModels) Registries(_ context.Context, f query.RegistryFilter) (query.RegistryList, error) {
	s.regs = f
	return query.RegistryList{Items: []query.Registry{}}, s.err
}
func (s *stubModels) Registry(context.Context, uuid.UUID) (query.RegistryDetail, error) {
	return query.RegistryDetail{}, s.err
}
func (s *stubModels) Overdue(_ context.Context, f query.OverdueFilter) (query.OverdueList, error) {
	s.overdue = f
	return query.OverdueList{Items: []query.Overdue{}}, s.err
}
func (s *stubModels) Custody(context.Context, uuid.UUID) (query.Custody, error) {
	return query.Custody{}, s.err
}
func (s *stubModels) Liability(_ context.Context, f query.LiabilityFilter) (query.LiabilityReport, error) {
	s.liab = f
	return query.LiabilityReport{Organisations: []query.OrgLiability{}, Charges: []query.Charge{}}, s.err
}
func (s *stubModels) Notifications(_ context.Context, f query.NotificationFilter) (query.NotificationList, error) {
	s.notif = f
	return query.NotificationList{Items: []query.Notification{}}, s.err
}
func (s *stubModels) ActiveDeadlines(context.Context, uuid.UUID, time.Time) ([]query.ActiveDeadline, error) {
	return nil, s.err
}
func (s *stubModels) Compliance(_ context.Context, f query.ComplianceFilter) (query.ComplianceReport, error) {
	s.comp = f
	return query.ComplianceReport{Service: f.Service, Steps: []query.StepCompliance{}}, s.err
}
func (s *stubModels) Transmissions(_ context.Context, id uuid.UUID) (query.TransmissionList, error) {
	return query.TransmissionList{DocumentID: id, Items: []query.Transmission{}}, s.err
}

// readServer serves models behind the API with an auditor's key.
func readServer(t *testing.T, models api.ReadModels) func(path string, auth bool) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	ks := keys.NewMemory()
	secret, _, err := ks.Create(t.Context(), "", "", domain.RoleAuditor)
	require.NoError(t, err)
	srv, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: ks, ReadModels: models,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return func(path string, auth bool) (*httptest.ResponseRecorder, map[string]any) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		rec := httptest.NewRecorder()
		contract(t).Handler(t, srv).ServeHTTP(rec, req)
		var p map[string]any
		if rec.Code >= 400 {
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, float64(rec.Code), p["status"])
			assert.NotEmpty(t, p["request_id"], "the API's one problem writer")
		}
		return rec, p
	}
}

// The read-model routes need a key; without read models they answer 503 with Retry-After.
func TestReadModelsMounted(t *testing.T) {
	get := readServer(t, &stubModels{})
	rec, _ := get("/v1/overdue", false)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "read models need a key")
	rec, _ = get("/v1/overdue", true)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"as_of":"0001-01-01T00:00:00Z","items":[]}`, rec.Body.String())

	rec, p := readServer(t, nil)("/v1/notifications", true)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "unavailable", p["code"])
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
}

// One limit rule (1–1000, else 400) and the read models' own checks, each a 400 naming the field.
func TestReadModelMalformed(t *testing.T) {
	get := readServer(t, &stubModels{})
	for path, field := range map[string]string{
		"/v1/overdue?limit=0": "limit", "/v1/overdue?limit=abc": "limit", "/v1/overdue?limit=1001": "limit",
		"/v1/overdue?org=bank": "org", "/v1/overdue?rule=coffee_break": "rule", "/v1/registries?kind=bag": "kind",
		"/v1/registries/not-a-uuid": "id", "/v1/documents/42/custody": "id", "/v1/liability?from=yesterday": "from",
		"/v1/liability?org=RAGS": "org", "/v1/notifications?status=lost": "status",
		"/v1/notifications?document_id=x": "document_id", "/v1/feed?limit=1001": "limit",
		"/v1/liability?rule=coffee_break": "rule", "/v1/services/A1/compliance?from=soon": "from",
	} {
		t.Run(path, func(t *testing.T) {
			rec, p := get(path, true)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, "malformed", p["code"])
			assert.Equal(t, field, p["field"])
		})
	}
}

// Errors of the queries become problems in the API's shape; internals stay in the logs.
func TestReadModelErrorsAreProblems(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("document x: %w", query.ErrNotFound), http.StatusNotFound, "not_found"},
		{fmt.Errorf("%w: no generation", query.ErrUnavailable), http.StatusServiceUnavailable, "unavailable"},
		{fmt.Errorf("%w: date", query.ErrMalformed), http.StatusBadRequest, "malformed"},
		{fmt.Errorf("pq: relation rm7_documents does not exist"), http.StatusServiceUnavailable, "unavailable"},
	} {
		rec, p := readServer(t, &stubModels{err: tc.err})("/v1/documents/"+uuid.NewString()+"/custody", true)
		assert.Equal(t, tc.status, rec.Code, tc.err)
		assert.Equal(t, tc.code, p["code"], tc.err)
		assert.NotContains(t, p["detail"], "rm7_", "internals stay in the logs")
	}
}

func TestReadModelFiltersReachTheQueries(t *testing.T) {
	s := &stubModels{}
	get := readServer(t, s)
	rec, _ := get("/v1/overdue?org=gk&rule=intake_delivery&unit=GK-ALA-CR1&limit=5&cursor=abc", true)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, query.OverdueFilter{Org: "gk", Rule: "intake_delivery", Unit: "GK-ALA-CR1", Page: query.Page{Cursor: "abc", Limit: 5}}, s.overdue)
	get("/v1/liability?org=kaspi&from=2026-04-06&to=2026-04-07T12:00:00%2B05:00", true)
	assert.Equal(t, "2026-04-06T00:00:00+05:00", s.liab.From.Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, "2026-04-07T07:00:00Z", s.liab.To.UTC().Format("2006-01-02T15:04:05Z07:00"))
	doc := uuid.New()
	get("/v1/notifications?document_id="+doc.String()+"&status=poison", true)
	assert.Equal(t, query.NotificationFilter{DocumentID: doc, Status: "poison", Page: query.Page{Limit: 100}}, s.notif)
	// Application steps and services (DOMAIN.md, Other services): an alias names its service.
	get("/v1/overdue?rule=extension_notice&service=A1", true)
	assert.Equal(t, query.OverdueFilter{Rule: "extension_notice", Service: "restoration", Page: query.Page{Limit: 100}}, s.overdue)
	get("/v1/liability?rule=review&service=A2.correction", true)
	assert.Equal(t, "death_registration.correction", s.liab.Service)
	assert.Equal(t, "review", s.liab.Rule)
	rec, _ = get("/v1/services/A3/compliance?from=2026-03-01&to=2026-04-01", true)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "annulment", s.comp.Service)
	assert.Equal(t, "2026-03-01T00:00:00+05:00", s.comp.From.Format("2006-01-02T15:04:05Z07:00"))
	rec, _ = get("/v1/services/A9/compliance", true)
	assert.Equal(t, http.StatusNotFound, rec.Code, "an unknown service")
	get("/v1/registries?kind=dispatch&unit=KSP-ALA-IN1&date=2026-04-06", true)
	assert.Equal(t, query.RegistryFilter{Kind: "dispatch", Unit: "KSP-ALA-IN1", Date: "2026-04-06", Page: query.Page{Limit: 100}}, s.regs)
}
