package readapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/projections/query"
	"github.com/custody-ledger/custody/projections/readapi"
)

// stub answers every query with err, and records the filters it was given.
type stub struct {
	err     error
	overdue query.OverdueFilter
	liab    query.LiabilityFilter
	notif   query.NotificationFilter
	regs    query.RegistryFilter
}

func (s *stub) Registries(_ context.Context, f query.RegistryFilter) (query.RegistryList, error) {
	s.regs = f
	return query.RegistryList{Items: []query.Registry{}}, s.err
}
func (s *stub) Registry(context.Context, uuid.UUID) (query.RegistryDetail, error) {
	return query.RegistryDetail{}, s.err
}
func (s *stub) Overdue(_ context.Context, f query.OverdueFilter) (query.OverdueList, error) {
	s.overdue = f
	return query.OverdueList{Items: []query.Overdue{}}, s.err
}
func (s *stub) Custody(context.Context, uuid.UUID) (query.Custody, error) {
	return query.Custody{}, s.err
}
func (s *stub) Liability(_ context.Context, f query.LiabilityFilter) (query.LiabilityReport, error) {
	s.liab = f
	return query.LiabilityReport{}, s.err
}
func (s *stub) Notifications(_ context.Context, f query.NotificationFilter) (query.NotificationList, error) {
	s.notif = f
	return query.NotificationList{}, s.err
}

func get(t *testing.T, h http.Handler, path string) (*httptest.ResponseRecorder, readapi.Problem) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var p readapi.Problem
	if rec.Code >= 400 {
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		assert.Equal(t, rec.Code, p.Status)
	}
	return rec, p
}

func TestMalformed(t *testing.T) {
	h := readapi.New(&stub{})
	for _, path := range []string{
		"/v1/overdue?limit=0", "/v1/overdue?limit=abc", "/v1/overdue?limit=1001", "/v1/overdue?org=bank",
		"/v1/overdue?rule=coffee_break", "/v1/registries?kind=bag", "/v1/registries/not-a-uuid",
		"/v1/documents/42/custody", "/v1/liability?from=yesterday", "/v1/liability?org=RAGS",
		"/v1/notifications?status=lost", "/v1/notifications?document_id=x",
	} {
		t.Run(path, func(t *testing.T) {
			rec, p := get(t, h, path)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Equal(t, "malformed", p.Code)
		})
	}
}

func TestErrorsAreProblems(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("document x: %w", query.ErrNotFound), http.StatusNotFound, "not_found"},
		{fmt.Errorf("%w: no generation", query.ErrUnavailable), http.StatusServiceUnavailable, "unavailable"},
		{fmt.Errorf("%w: cursor", query.ErrMalformed), http.StatusBadRequest, "malformed"},
		{fmt.Errorf("pq: relation rm7_documents does not exist"), http.StatusServiceUnavailable, "unavailable"},
	} {
		h := readapi.New(&stub{err: tc.err})
		rec, p := get(t, h, "/v1/documents/"+uuid.NewString()+"/custody")
		assert.Equal(t, tc.status, rec.Code)
		assert.Equal(t, tc.code, p.Code)
		assert.NotContains(t, p.Detail, "rm7_", "internals stay in the logs")
	}
	rec, p := get(t, readapi.New(&stub{}), "/v1/nothing")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "not_found", p.Code)
}

func TestFiltersReachTheQueries(t *testing.T) {
	s := &stub{}
	h := readapi.New(s)
	rec, _ := get(t, h, "/v1/overdue?org=gk&rule=intake_delivery&unit=GK-ALA-CR1&limit=5&cursor=abc")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, query.OverdueFilter{Org: "gk", Rule: "intake_delivery", Unit: "GK-ALA-CR1", Page: query.Page{Cursor: "abc", Limit: 5}}, s.overdue)
	get(t, h, "/v1/liability?org=kaspi&from=2026-04-06&to=2026-04-07T12:00:00%2B05:00")
	assert.Equal(t, "2026-04-06T00:00:00+05:00", s.liab.From.Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, "2026-04-07T07:00:00Z", s.liab.To.UTC().Format("2006-01-02T15:04:05Z07:00"))
	doc := uuid.New()
	get(t, h, "/v1/notifications?document_id="+doc.String()+"&status=poison")
	assert.Equal(t, query.NotificationFilter{DocumentID: doc, Status: "poison"}, s.notif)
	get(t, h, "/v1/registries?kind=dispatch&unit=KSP-ALA-IN1&date=2026-04-06")
	assert.Equal(t, query.RegistryFilter{Kind: "dispatch", Unit: "KSP-ALA-IN1", Date: "2026-04-06"}, s.regs)
}
