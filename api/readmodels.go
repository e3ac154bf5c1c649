package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// readModelPaths are the read-model routes of API.md (Reading), served by Config.ReadModels.
var readModelPaths = []string{
	"/v1/registries",
	"/v1/registries/{id}",
	"/v1/overdue",
	"/v1/documents/{id}/custody",
	"/v1/liability",
	"/v1/notifications",
}

func (s *Server) readModelRoutes() []Route {
	out := make([]Route, len(readModelPaths))
	for i, p := range readModelPaths {
		out[i] = Route{Method: http.MethodGet, Path: p, Handler: s.readModel}
	}
	return out
}

// bufferedResponse holds a read-model answer so that its problems can be re-issued in the
// API's own shape.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

// readModel serves a read-model route through Config.ReadModels after the key was checked.
// Its problems are answered through the API's problem writer, so every error of the API has
// one shape (request id, instance, type).
func (s *Server) readModel(w http.ResponseWriter, r *http.Request) error {
	if s.readModels == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 5,
			Detail: "this server does not serve the read models"}
	}
	rec := &bufferedResponse{header: http.Header{}}
	s.readModels.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &p)
		if p.Code == "" {
			p.Code = CodeInternal
		}
		e := &Error{Status: rec.status, Code: p.Code, Detail: p.Detail}
		if rec.status == http.StatusServiceUnavailable {
			e.RetryAfter, _ = strconv.Atoi(rec.header.Get("Retry-After"))
			if e.RetryAfter <= 0 {
				e.RetryAfter = 5
			}
		}
		return e
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, err := w.Write(rec.body.Bytes())
	return err
}
