// Package api is the ledger's HTTP interface (shared/design/API.md): writing custody events,
// registries, force majeure and disputes through commands; reading documents, their streams,
// the global feed and the hash-chain verification; the read models through ReadModels
// (readmodels.go), each key within its read scope (scope.go); health, readiness and metrics.
//
// Every route lives in one table (Server.Routes). The mux is built from it and a test checks
// that api/openapi.json, served at /v1/openapi.json, describes exactly those routes, so a
// route added later fails the build until it is documented; api/apitest checks the suite's
// every request and answer against the same document.
//
// Errors are RFC 9457 problem details with a stable code (see problem.go). Requests are
// authenticated with `Authorization: Bearer <key>` (package keys); the key's role,
// organisation and unit become the domain actor, and domain.Decide enforces what the role may
// record and for which unit. Nothing personal (IIN, phone) is ever logged or put in an error.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/projections/transparency"
)

// DefaultBodyLimit bounds a request body unless Config.BodyLimit says otherwise. A registry of
// the maximum 500 lines is about 20 KiB, so 1 MiB leaves a wide margin.
const DefaultBodyLimit = 1 << 20

// DefaultStoreTimeout bounds a request's store calls unless Config.StoreTimeout says otherwise.
const DefaultStoreTimeout = 10 * time.Second

// Config is what a Server needs.
type Config struct {
	Service *commands.Service // required
	Keys    keys.Store        // required
	Logger  *slog.Logger      // nil: slog.Default()
	// Ready is asked by /readyz after the store answered (e.g. "projections caught up");
	// nil: the store alone decides. A *DegradedError answers 200 "degraded".
	Ready func(ctx context.Context) error
	// BodyLimit bounds request bodies in bytes; 0: DefaultBodyLimit.
	BodyLimit int64
	// StoreTimeout bounds the store calls of one request (the key's check included); past it
	// the answer is 503 unavailable with Retry-After. 0: DefaultStoreTimeout.
	StoreTimeout time.Duration
	// Metrics receives the API's collectors and is served at /metrics; nil: a fresh registry
	// with the Go and process collectors (so several servers can live in one process).
	Metrics *prometheus.Registry
	// ReadModels serves the read-model routes of API.md (registries, overdue, custody,
	// liability, notifications) and a document's active deadlines; nil: those routes and
	// GET /v1/documents/{id} answer 503 unavailable.
	ReadModels ReadModels
	// Transparency is the verifiable log served at /v1/checkpoints, /v1/proofs and
	// /v1/audit/bundle; nil: those routes answer 503 unavailable.
	Transparency *transparency.Log
	// Routes adds routes to the built-in ones. Each must be described in openapi.json.
	Routes []Route
	// Console serves GET / and /console/ (package api/console: HTML pages with their own
	// sign-in, outside the JSON API and its OpenAPI document); nil: those paths are 404.
	Console http.Handler
}

// HandlerFunc serves one route. A returned error is answered as a problem (see problem.go),
// so handlers only write successful answers.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one line of the route table.
type Route struct {
	Method string // GET, POST
	Path   string // a net/http ServeMux path pattern: /v1/documents/{id}
	// Public routes need no key (health, readiness, metrics, the OpenAPI document).
	Public  bool
	Handler HandlerFunc
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Server is the HTTP handler of the API.
type Server struct {
	svc          *commands.Service
	keys         keys.Store
	log          *slog.Logger
	ready        func(ctx context.Context) error
	limit        int64
	storeTimeout time.Duration
	metrics      *metrics
	registry     *prometheus.Registry
	promHandler  http.Handler
	routes       []Route
	mux          *http.ServeMux
	readiness    time.Duration
	readModels   ReadModels
	tl           *transparency.Log
}

// New builds a Server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Keys == nil {
		return nil, errors.New("api: Config.Service and Config.Keys are required")
	}
	s := &Server{svc: cfg.Service, keys: cfg.Keys, log: cfg.Logger, ready: cfg.Ready, limit: cfg.BodyLimit,
		registry: cfg.Metrics, readiness: 2 * time.Second,
		storeTimeout: cfg.StoreTimeout,
		readModels:   cfg.ReadModels, tl: cfg.Transparency}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.limit <= 0 {
		s.limit = DefaultBodyLimit
	}
	if s.storeTimeout <= 0 {
		s.storeTimeout = DefaultStoreTimeout
	}
	if s.registry == nil {
		s.registry = defaultRegistry()
	}
	m, err := newMetrics(s.registry)
	if err != nil {
		return nil, err
	}
	s.metrics, s.promHandler = m, promHandler(s.registry)
	s.routes = slices.Concat(s.builtinRoutes(), s.readModelRoutes(), s.transparencyRoutes(), s.applicationRoutes(), cfg.Routes)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes {
		if err := register(s.mux, rt.Pattern(), s.route(rt)); err != nil {
			return nil, err
		}
	}
	if cfg.Console != nil {
		s.mux.Handle("GET /{$}", cfg.Console)
		s.mux.Handle("/console/", cfg.Console)
	}
	return s, nil
}

// register adds a pattern, turning ServeMux's panic on a bad or conflicting pattern into an
// error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("api: route %s: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// Routes returns the route table (built-in and added routes).
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

func (s *Server) builtinRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/documents", Handler: s.startDocument},
		{Method: http.MethodPost, Path: "/v1/documents/{id}/events", Handler: s.appendEvent},
		{Method: http.MethodPost, Path: "/v1/registries", Handler: s.formRegistry},
		{Method: http.MethodPost, Path: "/v1/registries/{id}/handover", Handler: s.handOverRegistry},
		{Method: http.MethodPost, Path: "/v1/registries/{id}/acceptance", Handler: s.acceptRegistry},
		{Method: http.MethodPost, Path: "/v1/force-majeure", Handler: s.declareForceMajeure},
		{Method: http.MethodPost, Path: "/v1/disputes", Handler: s.openDispute},
		{Method: http.MethodPost, Path: "/v1/disputes/{id}/resolution", Handler: s.resolveDispute},

		{Method: http.MethodGet, Path: "/v1/documents/{id}", Handler: s.getDocument},
		{Method: http.MethodGet, Path: "/v1/documents/{id}/events", Handler: s.getDocumentEvents},
		{Method: http.MethodGet, Path: "/v1/feed", Handler: s.getFeed},
		{Method: http.MethodGet, Path: "/v1/ledger/verify", Handler: s.verifyLedger},

		{Method: http.MethodGet, Path: "/healthz", Public: true, Handler: s.healthz},
		{Method: http.MethodGet, Path: "/readyz", Public: true, Handler: s.readyz},
		{Method: http.MethodGet, Path: "/metrics", Public: true, Handler: s.serveMetrics},
		{Method: http.MethodGet, Path: "/v1/openapi.json", Public: true, Handler: serveOpenAPI},
	}
}

// ServeHTTP gives every request an id, an access-log line and a problem-details answer for
// paths and methods no route serves.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{id: requestID(r), route: "unmatched"}
	rec := &recorder{ResponseWriter: w}
	rec.Header().Set("X-Request-Id", info.id)
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	defer func() {
		s.recoverPanic(rec, r, recover())
		s.accessLog(r, info, rec, time.Since(start))
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unmatched(rec, r)
		s.metrics.observe(r.Method, info.route, rec.status, time.Since(start))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// recoverPanic answers a handler's panic with 500 and logs it; http.ErrAbortHandler goes on
// up, as net/http means it to.
func (s *Server) recoverPanic(rec *recorder, r *http.Request, p any) {
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	info := infoOf(r.Context())
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
		slog.String("request_id", info.id), slog.String("route", info.route), slog.Any("panic", p))
	if !rec.wrote {
		s.writeProblem(rec, r, &Error{Status: http.StatusInternalServerError, Code: CodeInternal,
			Detail: "an unexpected error; the request id identifies it in the server's log"})
	}
}

// unmatched answers what the mux would answer (404, or 405 with Allow) as a problem.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	probe := &probeWriter{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		s.writeProblem(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Detail: "this path does not serve " + r.Method})
		return
	}
	s.writeProblem(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Detail: "no such resource"})
}

// route wraps a route's handler: metrics under its pattern, the key, the body limit, and
// errors answered as problems.
func (s *Server) route(rt Route) http.Handler {
	label := rt.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := infoOf(r.Context())
		info.route = label
		rec, _ := w.(*recorder)
		defer func() {
			if rec != nil {
				s.recoverPanic(rec, r, recover()) // before counting, so a panic counts as 500
			}
			status := http.StatusOK
			if rec != nil && rec.status != 0 {
				status = rec.status
			}
			s.metrics.observe(rt.Method, label, status, time.Since(start))
		}()
		// Every store call of the request (keys included) runs under one deadline: past it the
		// client gets 503 with Retry-After instead of a hang (issue 10 §6).
		ctx, cancel := context.WithTimeout(r.Context(), s.storeTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		if !rt.Public {
			k, err := s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			info.keyID = k.ID
			r = r.WithContext(context.WithValue(r.Context(), keyKey{}, k))
			if err := s.authorizeRead(rt, r); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		raw := r.Body
		if raw != nil && raw != http.NoBody {
			if err := mediaType(r); err != nil && r.Method != http.MethodGet {
				s.fail(w, r, err)
				return
			}
			if r.ContentLength > s.limit {
				s.refuseBody(w, r, raw)
				return
			}
			r.Body = http.MaxBytesReader(w, raw, s.limit)
		}
		if err := rt.Handler(w, r); err != nil {
			if problemOf(err).Status == http.StatusRequestEntityTooLarge {
				s.refuseBody(w, r, raw)
				return
			}
			s.fail(w, r, err)
		}
	})
}

// maxDrain is how much of an oversized body is read and thrown away so that the client,
// still sending, reads the 413 instead of a connection reset; past it the connection closes.
const maxDrain = 8 << 20

// refuseBody answers 413 after draining what remains of an oversized body (up to maxDrain).
func (s *Server) refuseBody(w http.ResponseWriter, r *http.Request, raw io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, raw, maxDrain)
	s.fail(w, r, tooLarge(s.limit))
}

// requestInfo is what the access log needs from inner layers.
type requestInfo struct {
	id    string
	route string
	keyID string
	err   error // the error behind a 5xx answer, logged with the request
}

type infoKey struct{}
type keyKey struct{}

func infoOf(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// Caller returns the key that authenticated the request (routes that are not Public).
func Caller(ctx context.Context) (keys.Key, bool) {
	k, ok := ctx.Value(keyKey{}).(keys.Key)
	return k, ok
}

// RequestID returns the request's id (X-Request-Id, honoured or generated).
func RequestID(ctx context.Context) string { return infoOf(ctx).id }

// accessLog writes one line per request: never a body, a query or a path parameter's
// personal data (paths carry only ids).
func (s *Server) accessLog(r *http.Request, info *requestInfo, rec *recorder, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", info.route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("request_id", info.id),
		slog.Int64("bytes", rec.bytes),
	}
	if info.keyID != "" {
		attrs = append(attrs, slog.String("key_id", info.keyID))
	}
	if info.err != nil {
		attrs = append(attrs, slog.String("error", info.err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "http request", attrs...)
}

// recorder remembers the status and size of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// probeWriter catches what the mux answers for an unmatched request.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
