package api_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// downStore is an event store that has lost its connection.
type downStore struct{ eventstore.Store }

var errDown = eventstore.Unavailable(errors.New("connection refused"))

func (downStore) ReadStream(context.Context, string, uint64, int) ([]eventstore.Record, error) {
	return nil, errDown
}
func (downStore) ReadAll(context.Context, uint64, int) ([]eventstore.Record, error) {
	return nil, errDown
}
func (downStore) Head(context.Context) (uint64, error) { return 0, errDown }
func (downStore) AppendMulti(context.Context, ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	return nil, errDown // a new document's first event is appended without a read
}

func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		return commands.New(downStore{memory.New()}, clock()), keys.NewMemory()
	})
	for _, c := range []struct{ method, path, who string }{
		{"GET", "/readyz", ""},
		{"GET", "/v1/documents/" + uuid.NewString(), "auditor"},
		{"GET", "/v1/feed", "auditor"},
		{"GET", "/v1/ledger/verify", "auditor"},
	} {
		r := e.do(c.method, c.path, c.who, nil)
		e.problem(r, http.StatusServiceUnavailable, "unavailable")
		assert.Equal(t, "1", r.Header.Get("Retry-After"), c.path)
		assert.NotContains(t, string(r.Raw), "connection refused", "causes stay in the log")
	}
	r := e.do("POST", "/v1/documents", "platform", event("DeliveryRequested", 0, "platform", requested(1)))
	e.problem(r, http.StatusServiceUnavailable, "unavailable")
	assert.Contains(t, e.logs.String(), "connection refused", "the cause of a 5xx is logged")
	assert.Equal(t, http.StatusOK, e.do("GET", "/healthz", "", nil).Status, "liveness does not depend on the store")
}

// downKeys is a key store that cannot answer.
type downKeys struct{ keys.Store }

func (downKeys) Authenticate(context.Context, string) (keys.Key, error) {
	return keys.Key{}, errors.New("keys table locked")
}

func TestKeyStoreUnavailable(t *testing.T) {
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		return commands.New(memory.New(), clock()), downKeys{keys.NewMemory()}
	})
	r := e.do("GET", "/v1/feed", "auditor", nil)
	e.problem(r, http.StatusServiceUnavailable, "unavailable")
}

func TestAddedRoutesAndPanics(t *testing.T) {
	ks := keys.NewMemory()
	secret, _, err := ks.Create(t.Context(), "", "", domain.RoleAuditor)
	require.NoError(t, err)
	var logs bytes.Buffer
	srv, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: ks,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Routes: []api.Route{
			{Method: "GET", Path: "/v1/example", Handler: func(w http.ResponseWriter, r *http.Request) error {
				k, ok := api.Caller(r.Context())
				require.True(t, ok)
				w.Header().Set("X-Role", string(k.Role))
				w.WriteHeader(http.StatusNoContent)
				return nil
			}},
			{Method: "GET", Path: "/v1/boom", Handler: func(http.ResponseWriter, *http.Request) error { panic("boom") }},
			{Method: "GET", Path: "/v1/fails", Handler: func(http.ResponseWriter, *http.Request) error {
				return errors.New("read model corrupt")
			}},
		}})
	require.NoError(t, err)
	get := func(path string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	assert.Equal(t, http.StatusUnauthorized, get("/v1/example", false).Code, "added routes need a key")
	rec := get("/v1/example", true)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, "auditor", rec.Header().Get("X-Role"))
	rec = get("/v1/boom", true)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Contains(t, rec.Body.String(), `"code":"internal"`)
	rec = get("/v1/fails", true)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.NotContains(t, rec.Body.String(), "corrupt", "an internal error's cause is not sent")
	assert.Contains(t, logs.String(), "read model corrupt")
	assert.Contains(t, logs.String(), "panic serving request")
	rec = get("/metrics", false)
	assert.Contains(t, rec.Body.String(), `custody_http_requests_total{code="500",method="GET",route="/v1/boom"} 1`)
	rec = get("/nowhere", false)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	rec = get("/metrics", false)
	assert.Contains(t, rec.Body.String(), `custody_http_requests_total{code="404",method="GET",route="unmatched"} 1`)

	_, err = api.New(api.Config{Service: commands.New(memory.New()), Keys: ks,
		Routes: []api.Route{{Method: "GET", Path: "/v1/feed"}}})
	assert.Error(t, err, "a route registered twice is refused")
	_, err = api.New(api.Config{})
	assert.Error(t, err)
}

func TestAsOfWithUnescapedPlus(t *testing.T) {
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		return commands.New(memory.New(), clock()), keys.NewMemory()
	})
	doc := e.start(1, 0)
	r := e.do("GET", "/v1/documents/"+doc.String()+"?as_of="+at(1), "auditor", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r)
	assert.True(t, strings.HasSuffix(r.str("as_of"), "+05:00"))
}
