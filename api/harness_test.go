package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/apitest"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
)

// Personal data of the fixtures: no answer other than a platform's or an administrator's
// reading, and no log line, may contain them.
const (
	iin   = "950107400015"
	phone = "+77011234567"
)

var (
	// now is the service clock: a Monday noon in Almaty.
	now = time.Date(2026, 4, 20, 12, 0, 0, 0, domain.Almaty)
	// t0 is when the test journeys start, a week earlier (a Monday morning).
	t0 = time.Date(2026, 4, 13, 9, 0, 0, 0, domain.Almaty)
)

// party is whoever holds an API key in the tests.
type party struct {
	role domain.Role
	h    domain.Holder
}

var parties = map[string]party{
	"platform":   {domain.RoleKaspiPlatform, domain.Holder{Org: domain.OrgKaspi, Unit: "KASPI-APP"}},
	"rags":       {domain.RoleRAGS, domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "r1"}},
	"gkCourier":  {domain.RoleGKCourier, domain.Holder{Org: domain.OrgGK, Unit: "GK-ALA-CR1", EmployeeID: "c1"}},
	"gkAcc":      {domain.RoleGKAccumulation, domain.Holder{Org: domain.OrgGK, Unit: "GK-ALA-ACC", EmployeeID: "a1"}},
	"gkAccAst":   {domain.RoleGKAccumulation, domain.Holder{Org: domain.OrgGK, Unit: "GK-AST-ACC", EmployeeID: "a9"}},
	"gkIss":      {domain.RoleGKIssuance, domain.Holder{Org: domain.OrgGK, Unit: "GK-ALA-ISS", EmployeeID: "i1"}},
	"kIntake":    {domain.RoleKaspiIntake, domain.Holder{Org: domain.OrgKaspi, Unit: "KSP-ALA-IN1", EmployeeID: "k1"}},
	"kCourier":   {domain.RoleKaspiCourier, domain.Holder{Org: domain.OrgKaspi, Unit: "KSP-ALA-CR1", EmployeeID: "k2"}},
	"postomat":   {domain.RolePostomat, domain.Holder{Org: domain.OrgKaspi, Unit: "PM-ALA-0042"}},
	"auditor":    {domain.RoleAuditor, domain.Holder{}},
	"commission": {domain.RoleCommission, domain.Holder{Unit: "COMMISSION"}},
	"admin":      {domain.RoleAdmin, domain.Holder{}},
}

func holder(who string) domain.Holder { return parties[who].h }

var recipientHolder = domain.Holder{Org: domain.OrgRecipient}

// actor is the body's actor member for a party.
func actor(who string) map[string]any {
	h := parties[who].h
	return map[string]any{"org": h.Org, "unit": h.Unit, "employee_id": h.EmployeeID}
}

func tr(from, to domain.Holder) map[string]any { return map[string]any{"from": from, "to": to} }

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func at(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }

// syncBuffer collects log lines from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one API over one store, with a key per party.
type env struct {
	t       *testing.T
	svc     *commands.Service
	proj    *projections.Projections
	keys    keys.Store
	srv     *api.Server
	secrets map[string]string
	logs    *syncBuffer
}

type newServiceFunc func(t *testing.T) (*commands.Service, keys.Store)

type envOption func(*api.Config)

func newEnv(t *testing.T, newService newServiceFunc, opts ...envOption) *env {
	t.Helper()
	svc, ks := newService(t)
	logs := &syncBuffer{}
	proj := readModels(t, svc)
	cfg := api.Config{Service: svc, Keys: ks, Logger: slog.New(slog.NewJSONHandler(logs, nil)), ReadModels: proj.Queries()}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := api.New(cfg)
	require.NoError(t, err)
	e := &env{t: t, svc: svc, proj: proj, keys: ks, srv: srv, secrets: map[string]string{}, logs: logs}
	for who, p := range parties {
		secret, _, err := ks.Create(t.Context(), p.h.Org, p.h.Unit, p.role)
		require.NoError(t, err, who)
		e.secrets[who] = secret
	}
	t.Cleanup(func() {
		// No log line of any request may carry personal data.
		l := logs.String()
		assert.NotContains(t, l, iin, "logs must not contain the IIN")
		assert.NotContains(t, l, phone, "logs must not contain the phone")
	})
	return e
}

// readModels builds the read models of svc's store in a SQLite database of their own (the
// KurrentDB layout, so one helper serves every store); env.do brings them up to date before
// each read, as the runner of custody serve would.
func readModels(t *testing.T, svc *commands.Service) *projections.Projections {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "read.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	p, err := projections.Open(t.Context(), db.DB(), projections.SQLite, svc.Store(), svc,
		projections.Options{Now: svc.Now, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

var (
	contractOnce sync.Once
	theContract  *apitest.Contract
	contractErr  error
)

// contract is api/openapi.json, loaded once for every test.
func contract(t *testing.T) *apitest.Contract {
	t.Helper()
	contractOnce.Do(func() { theContract, contractErr = apitest.Load() })
	require.NoError(t, contractErr)
	return theContract
}

// sub is the same env reporting to a subtest.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// resp is an answer.
type resp struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

func (r resp) str(k string) string {
	s, _ := r.Body[k].(string)
	return s
}

func (r resp) num(k string) uint64 {
	f, _ := r.Body[k].(float64)
	return uint64(f)
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.Status, r.Raw) }

// do sends a request as party who ("" = no key). body: nil, string (raw), io.Reader (raw,
// unknown length) or a value to marshal. hdr: header name, value pairs.
func (e *env) do(method, path, who string, body any, hdr ...string) resp {
	e.t.Helper()
	var (
		rd  io.Reader
		raw []byte // the body as sent, for the contract check (nil for a stream)
	)
	switch b := body.(type) {
	case nil:
	case string:
		rd, raw = strings.NewReader(b), []byte(b)
	case io.Reader:
		rd = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	if method == http.MethodGet && e.proj != nil {
		if _, err := e.proj.CatchUp(e.t.Context()); err != nil {
			e.t.Logf("read models not brought up to date (the store may be down on purpose): %v", err)
		}
	}
	req := httptest.NewRequest(method, path, rd)
	if _, ok := body.(io.Reader); ok {
		req.ContentLength = -1 // as a chunked upload
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.secrets[who])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	out := resp{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.Bytes()}
	assert.NoError(e.t, contract(e.t).Check(e.t.Context(), apitest.Exchange{Request: req, ReqBody: raw,
		Status: out.Status, Header: out.Header, Body: out.Raw}), "contract drift (api/openapi.json)")
	if strings.Contains(rec.Header().Get("Content-Type"), "json") && len(out.Raw) > 0 && out.Raw[0] == '{' {
		require.NoError(e.t, json.Unmarshal(out.Raw, &out.Body), "answer is JSON: %s", out.Raw)
	}
	if out.Status >= 400 {
		e.checkProblem(out)
	}
	return out
}

// checkProblem: every error is an RFC 9457 problem with a stable code and the request id,
// and never carries personal data.
func (e *env) checkProblem(r resp) {
	e.t.Helper()
	assert.Equal(e.t, "application/problem+json", r.Header.Get("Content-Type"), "%s", r)
	for _, k := range []string{"type", "title", "detail", "code", "instance", "request_id"} {
		assert.NotEmpty(e.t, r.Body[k], "problem member %s: %s", k, r)
	}
	assert.Equal(e.t, float64(r.Status), r.Body["status"])
	assert.Equal(e.t, r.Header.Get("X-Request-Id"), r.str("request_id"))
	assert.NotContains(e.t, string(r.Raw), iin, "an error must not carry the IIN")
	assert.NotContains(e.t, string(r.Raw), phone, "an error must not carry the phone")
	assert.NotContains(e.t, string(r.Raw), phone[1:], "an error must not carry the phone")
}

// problem asserts an error answer's status and code.
func (e *env) problem(r resp, status int, code string) {
	e.t.Helper()
	require.Equal(e.t, status, r.Status, "%s", r)
	assert.Equal(e.t, code, r.str("code"), "%s", r)
}

func (e *env) created(r resp) resp {
	e.t.Helper()
	require.Equal(e.t, http.StatusCreated, r.Status, "%s", r)
	return r
}

// event builds a document event body.
func event(typ string, h int, who string, data any) map[string]any {
	return map[string]any{"event_id": uuid.NewString(), "type": typ, "occurred_at": at(h), "actor": actor(who), "data": data}
}

// post appends an event to a document and requires 201.
func (e *env) post(doc uuid.UUID, who string, body map[string]any, hdr ...string) resp {
	e.t.Helper()
	return e.created(e.do("POST", "/v1/documents/"+doc.String()+"/events", who, body, hdr...))
}

func requested(n int) map[string]any {
	return map[string]any{"application_no": fmt.Sprintf("CON-2026-%06d", n), "service_code": "birth_registration.postomat",
		"method": "postomat", "city": "Almaty", "postomat_id": "PM-ALA-0042", "postomat_city": "Almaty",
		"recipient": map[string]any{"iin": iin, "phone": phone}}
}

// start opens a postomat delivery request and returns the document id.
func (e *env) start(n, h int) uuid.UUID {
	e.t.Helper()
	r := e.created(e.do("POST", "/v1/documents", "platform", event("DeliveryRequested", h, "platform", requested(n))))
	return uuid.MustParse(r.str("document_id"))
}

const waybill = "KSP-000123456"

// step is one journey step: its type, who records it and its data.
type step struct {
	typ  string
	who  string
	data map[string]any
}

func toPacked(n int) []step {
	return []step{
		{"DocumentIssued", "rags", map[string]any{"to": holder("rags"), "application_no": fmt.Sprintf("CON-2026-%06d", n),
			"service_code": "birth_registration.postomat", "certificate_number": "0123456"}},
		{"KaspiOrderCreated", "platform", map[string]any{"waybill": waybill}},
		{"CollectedFromRags", "gkCourier", tr(holder("rags"), holder("gkCourier"))},
		{"ReceivedAtAccumulation", "gkAcc", tr(holder("gkCourier"), holder("gkAcc"))},
		{"RoutedForDelivery", "gkAcc", map[string]any{"method": "postomat"}},
		{"Packed", "gkAcc", map[string]any{"envelope_label": waybill, "seal_number": "SEAL-0001"}},
	}
}

// walk records steps one hour apart from hour h and returns the next free hour.
func (e *env) walk(doc uuid.UUID, h int, steps []step) int {
	e.t.Helper()
	for _, s := range steps {
		h++
		e.post(doc, s.who, event(s.typ, h, s.who, s.data))
	}
	return h
}

// packed makes a document ready for a dispatch registry; it starts at hour h.
func (e *env) packed(n, h int) (uuid.UUID, int) {
	e.t.Helper()
	doc := e.start(n, h)
	return doc, e.walk(doc, h, toPacked(n))
}

// head is the global log's head, read through the feed.
func (e *env) head() uint64 {
	e.t.Helper()
	r := e.do("GET", "/v1/feed?after=0&limit=1000", "auditor", nil)
	require.Equal(e.t, http.StatusOK, r.Status, "%s", r)
	return r.num("next_after")
}
