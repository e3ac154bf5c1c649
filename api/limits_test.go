package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// TestBodyRules: only plain JSON with the contract's exact member names, each once, nested at
// most 32 deep (issue 10 §6).
func TestBodyRules(t *testing.T) {
	e := newEnv(t, memoryService)
	body := event("DeliveryRequested", 0, "platform", requested(50))
	raw := func(b map[string]any) string {
		s, err := json.Marshal(b)
		require.NoError(t, err)
		return string(s)
	}
	deep := strings.Repeat(`{"a":`, 33) + `1` + strings.Repeat(`}`, 33)
	for _, tc := range []struct {
		name   string
		body   string
		hdr    []string
		status int
		code   string
		field  string
	}{
		{"form content type", raw(body), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
		{"text content type", raw(body), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"gzip encoding", raw(body), []string{"Content-Encoding", "gzip"}, 415, "unsupported_media_type", ""},
		{"member in another case", strings.Replace(raw(body), `"type"`, `"TYPE"`, 1), nil, 400, "malformed", "TYPE"},
		{"data member in another case", strings.Replace(raw(body), `"city"`, `"City"`, 1), nil, 400, "malformed", "data.City"},
		{"duplicate member", strings.Replace(raw(body), `"type":`, `"type":"DocumentIssued","type":`, 1), nil, 400, "malformed", "type"},
		{"duplicate data member", strings.Replace(raw(body), `"city":`, `"city":"Astana","city":`, 1), nil, 400, "malformed", "data.city"},
		{"nesting deeper than 32", deep, nil, 400, "malformed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.sub(t).do("POST", "/v1/documents", "platform", tc.body, tc.hdr...)
			e.sub(t).problem(r, tc.status, tc.code)
			assert.Equal(t, tc.field, r.str("field"), "%s", r)
		})
	}
	assert.Equal(t, uint64(0), e.head(), "nothing was written")
	ok := e.do("POST", "/v1/documents", "platform", raw(body), "Content-Type", "application/json; charset=utf-8")
	e.created(ok)
}

// hangingStore never answers a stream's read or an append until its context ends, as a
// PostgreSQL behind a network cut.
type hangingStore struct{ eventstore.Store }

func (hangingStore) ReadStream(ctx context.Context, _ string, _ uint64, _ int) ([]eventstore.Record, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hangingStore) AppendMulti(ctx context.Context, _ ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestStoreDeadline: a store that hangs costs the client StoreTimeout, then a 503 with
// Retry-After, never a hang.
func TestStoreDeadline(t *testing.T) {
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		return commands.New(hangingStore{memory.New()}, clock()), keys.NewMemory()
	}, func(c *api.Config) { c.StoreTimeout = 100 * time.Millisecond })
	start := time.Now()
	r := e.do("POST", "/v1/documents", "platform", event("DeliveryRequested", 0, "platform", requested(51)))
	e.problem(r, http.StatusServiceUnavailable, "unavailable")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.Less(t, time.Since(start), 5*time.Second, "answered at the deadline")
	r = e.do("GET", "/v1/documents/"+uuid.NewString()+"/events", "auditor", nil)
	e.problem(r, http.StatusServiceUnavailable, "unavailable")
}

// TestOversizedBodyReadable413: over a real connection, a body past the limit (declared or
// chunked) gets a 413 problem the client can read, not a connection reset.
func TestOversizedBodyReadable413(t *testing.T) {
	svc, ks := memoryService(t)
	secret, _, err := ks.Create(t.Context(), "kaspi", "KASPI-APP", "kaspi_platform")
	require.NoError(t, err)
	srv, err := api.New(api.Config{Service: svc, Keys: ks, BodyLimit: 1 << 10})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	big := `{"data":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			head := "POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + secret + "\r\n"
			go func() {
				if chunked {
					_, _ = io.WriteString(conn, head+"Transfer-Encoding: chunked\r\n\r\n"+fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big))
					return
				}
				_, _ = io.WriteString(conn, head+fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(big), big))
			}()
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err, "the answer is readable")
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
			assert.Contains(t, string(b), `"code":"too_large"`)
		})
	}
}

// TestRequestIDRule: a client's X-Request-Id is kept only when it is a plain token that
// cannot carry an IIN or a phone number into the access log.
func TestRequestIDRule(t *testing.T) {
	e := newEnv(t, memoryService)
	for id, kept := range map[string]bool{
		"trace-42": true, "a.b_c-D9": true, strings.Repeat("x", 64): true,
		strings.Repeat("x", 65): false, "a/b": false, "a+b=": false, "": false, "with space": false,
		"950107400015": false, "req-77011234567": false, "7011234567": false, "id-123456789": true,
	} {
		r := e.do("GET", "/healthz", "", nil, "X-Request-Id", id)
		if kept {
			assert.Equal(t, id, r.Header.Get("X-Request-Id"), id)
		} else {
			assert.NotEqual(t, id, r.Header.Get("X-Request-Id"), id)
			assert.Len(t, r.Header.Get("X-Request-Id"), 32, id)
		}
	}
	assert.NotContains(t, e.logs.String(), "950107400015")
}
