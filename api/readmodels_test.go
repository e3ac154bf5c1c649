package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// The read-model routes go through the key check to Config.ReadModels; its problems come back
// in the API's shape; without read models the routes answer 503.
func TestReadModelsMounted(t *testing.T) {
	ks := keys.NewMemory()
	secret, _, err := ks.Create(t.Context(), "", "", domain.RoleAuditor)
	require.NoError(t, err)
	models := http.NewServeMux()
	models.HandleFunc("GET /v1/overdue", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[],"org":"` + r.URL.Query().Get("org") + `"}`))
	})
	models.HandleFunc("GET /v1/liability", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"urn:custody:problem:malformed","title":"Malformed request","status":400,"detail":"from must be RFC 3339","code":"malformed"}`))
	})
	get := func(srv http.Handler, path string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	srv, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: ks, ReadModels: models})
	require.NoError(t, err)

	assert.Equal(t, http.StatusUnauthorized, get(srv, "/v1/overdue", false).Code, "read models need a key")
	rec := get(srv, "/v1/overdue?org=gk", true)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"items":[],"org":"gk"}`, rec.Body.String())

	rec = get(srv, "/v1/liability?from=x", true)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	var p map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, "malformed", p["code"])
	assert.Equal(t, "from must be RFC 3339", p["detail"])
	assert.NotEmpty(t, p["request_id"], "re-issued with the API's request id")

	bare, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: ks})
	require.NoError(t, err)
	rec = get(bare, "/v1/notifications", true)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
}
