package projections_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/apitest"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// readAPI serves the scenario's read models through the API, as custody serve does, and
// returns it with an auditor's key.
func readAPI(t *testing.T, s *scen) (http.Handler, string) {
	t.Helper()
	ks := keys.NewMemory()
	secret, _, err := ks.Create(t.Context(), "", "", domain.RoleAuditor)
	require.NoError(t, err)
	srv, err := api.New(api.Config{Service: s.svc, Keys: ks, ReadModels: s.p.Queries()})
	require.NoError(t, err)
	c, err := apitest.Load()
	require.NoError(t, err)
	return c.Handler(t, srv), secret // every answer checked against api/openapi.json
}

func fetch(t *testing.T, h http.Handler, secret, path string, v any) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	h.ServeHTTP(rec, req)
	if v != nil && rec.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), v))
	}
	return rec.Code, rec.Body.String()
}

// TestReadAPI serves the read models through the API: unavailable before the first build,
// then lists with cursors, times in +05:00 and contacts masked.
func TestReadAPI(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{})
		h, key := readAPI(t, s)
		code, body := fetch(t, h, key, "/v1/overdue", nil)
		assert.Equal(t, http.StatusServiceUnavailable, code, body)
		assert.Contains(t, body, `"code":"unavailable"`)

		var docs []uuid.UUID
		for range 3 {
			d := s.newDoc()
			s.delivered(d) // all three in one dispatch registry would share lines; separate ones here
			docs = append(docs, d)
		}
		s.at(day(8, 1, 0)) // cell storage and cell removal both ran out
		s.sync()

		var all query.OverdueList
		code, body = fetch(t, h, key, "/v1/overdue", &all)
		require.Equal(t, http.StatusOK, code, body)
		byRule := map[string]int{}
		for _, o := range all.Items {
			byRule[o.Rule]++
		}
		// cell_storage and cell_removal for each document, and its four statuses still
		// undelivered to ИИС ЦОН (P.9, P.20: order, intake, out for delivery, in the cell).
		require.Equal(t, map[string]int{"cell_storage": 3, "cell_removal": 3, query.RuleTransmission: 12}, byRule)
		assert.Contains(t, body, "+05:00")
		assert.NotContains(t, body, "Z\"", "no UTC times")
		for i := 1; i < len(all.Items); i++ {
			assert.False(t, all.Items[i].Deadline.Before(all.Items[i-1].Deadline), "oldest breach first")
		}
		var paged []query.Overdue
		cursor := ""
		for range 10 {
			var page query.OverdueList
			code, body = fetch(t, h, key, "/v1/overdue?limit=4&cursor="+url.QueryEscape(cursor), &page)
			require.Equal(t, http.StatusOK, code, body)
			paged = append(paged, page.Items...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		assert.Equal(t, all.Items, paged, "pages join up")
		var kaspi query.OverdueList
		fetch(t, h, key, "/v1/overdue?org=kaspi&rule=cell_removal&unit=PM-ALA-0042", &kaspi)
		assert.Len(t, kaspi.Items, 3)

		code, body = fetch(t, h, key, "/v1/notifications?document_id="+docs[0].String(), nil)
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "PlacedInCell")
		rcp := demo.Recipient(s.num[docs[0]])
		assert.NotContains(t, body, rcp.IIN)
		assert.NotContains(t, body, strings.TrimPrefix(rcp.Phone, "+7701"), "the phone is masked")

		var c query.Custody
		code, body = fetch(t, h, key, "/v1/documents/"+docs[1].String()+"/custody", &c)
		require.Equal(t, http.StatusOK, code, body)
		assert.Len(t, c.Intervals, 7)
		code, body = fetch(t, h, key, "/v1/documents/"+uuid.NewString()+"/custody", nil)
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, body, `"code":"not_found"`)

		var regs query.RegistryList
		fetch(t, h, key, "/v1/registries?kind=dispatch&date=2026-04-06&limit=2", &regs)
		require.Len(t, regs.Items, 2)
		assert.NotEmpty(t, regs.NextCursor)
		var reg query.RegistryDetail
		code, _ = fetch(t, h, key, "/v1/registries/"+regs.Items[0].RegistryID.String(), &reg)
		require.Equal(t, http.StatusOK, code)
		require.Len(t, reg.Lines, 1)
		assert.Equal(t, "accepted", reg.Lines[0].State)
		assert.True(t, reg.Reconciliation.Balanced)

		s.at(day(8, 2, 0))
		s.tick()
		var rep query.LiabilityReport
		code, body = fetch(t, h, key, "/v1/liability?org=kaspi&from=2026-04-13&to="+url.QueryEscape(day(9, 0, 0).Format(time.RFC3339)), &rep)
		require.Equal(t, http.StatusOK, code, body)
		require.Len(t, rep.Organisations, 1)
		assert.Equal(t, int64(3), rep.Organisations[0].DeadlinesMissed, "P.30: three cells not emptied in time")
		assert.Len(t, rep.Charges, 3)
	})
}
