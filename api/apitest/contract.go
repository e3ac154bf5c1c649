// Package apitest checks requests and answers against the API's contract, api/openapi.json,
// with kin-openapi's openapi3filter, so that the document and the server cannot drift: the
// API suite and the read-model tests send every request through Contract.Handler.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/custody-ledger/custody/api"
)

// Contract is the loaded document and its router.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

// Load reads the document the server embeds (api.OpenAPI) and validates it.
func Load() (*Contract, error) {
	return LoadDoc(api.OpenAPI())
}

// LoadDoc reads and validates an OpenAPI document.
func LoadDoc(b []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("apitest: load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("apitest: the document is invalid: %w", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: router: %w", err)
	}
	return &Contract{doc: doc, router: r}, nil
}

// Exchange is one request and its answer.
type Exchange struct {
	Request *http.Request // its Body is not read: ReqBody holds it
	ReqBody []byte
	Status  int
	Header  http.Header
	Body    []byte
}

var options = &openapi3filter.Options{
	// The server checks keys itself (401 is part of what is tested); the contract checks shapes.
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true, // a status the operation does not list is drift
	MultiError:            true,
}

// Check validates an exchange. A request the document refuses must have been refused by the
// server (4xx); a request on no documented path must have been answered 404 or 405. The answer
// must be one the operation documents: its status, content type and body schema.
func (c *Contract) Check(ctx context.Context, x Exchange) error {
	req := x.Request.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(x.ReqBody))
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if x.Status == http.StatusNotFound || x.Status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s: no documented operation, yet answered %d", req.Method, req.URL.Path, x.Status)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: options}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && (x.Status < 400 || x.Status >= 500) {
		return fmt.Errorf("%s %s: the document refuses the request, the server answered %d: %w", req.Method, req.URL.Path, x.Status, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header,
		Body: io.NopCloser(bytes.NewReader(x.Body)), Options: options}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s → %d: the answer is not the documented one: %w", req.Method, req.URL.Path, x.Status, err)
	}
	return nil
}

// Handler serves h and checks every exchange against the contract, failing t on drift.
func (c *Contract) Handler(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil && !errors.Is(err, io.EOF) {
				t.Errorf("apitest: read the request body: %v", err)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if err := c.Check(context.WithoutCancel(r.Context()), Exchange{Request: r, ReqBody: body, Status: rec.Code,
			Header: rec.Header(), Body: rec.Body.Bytes()}); err != nil {
			t.Errorf("apitest: contract drift: %v", err)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}
