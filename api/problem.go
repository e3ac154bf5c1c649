package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// Stable problem codes (API.md). The contract's list, plus two for answers it does not name:
// a method a path does not serve and an unexpected server error.
const (
	CodeMalformed         = "malformed"
	CodeUnauthenticated   = "unauthenticated"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeVersionConflict   = "version_conflict"
	CodeIllegalTransition = "illegal_transition"
	CodeDuplicateConflict = "duplicate_conflict"
	CodeTooLarge          = "too_large"
	// CodeUnsupportedMediaType: a body that is not plain JSON (415).
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnavailable          = "unavailable"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInternal             = "internal"
)

// ProblemType is the problem type URI of a code.
func ProblemType(code string) string { return "urn:custody:problem:" + code }

// Error is an answer other than success. Handlers return it (or a domain, commands or
// eventstore error, which fail maps) and never write problems themselves. Detail must not
// contain personal data.
type Error struct {
	Status int
	Code   string
	Detail string
	// Field names the request member at fault (malformed requests).
	Field string
	// Ext holds extension members: state and allowed (illegal_transition), current_version
	// (version_conflict), event_id (duplicate_conflict).
	Ext map[string]any
	// RetryAfter, in seconds, is sent with 503.
	RetryAfter int
	// Err is the cause, logged for 5xx answers only; never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return e.Code + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

func malformed(field, detail string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeMalformed, Field: field, Detail: detail}
}

func notFound(detail string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Detail: detail}
}

func forbidden(detail string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Detail: detail}
}

func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
		Detail: fmt.Sprintf("the request body exceeds %d bytes", limit)}
}

func unavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 1,
		Detail: "the store is unavailable; retry the same request", Err: err}
}

// problemOf maps an error to the answer the contract gives it.
func problemOf(err error) *Error {
	var (
		ae  *Error
		mbe *http.MaxBytesError
		ve  *domain.ValidationError
		fe  *domain.ForbiddenError
		ref domain.Refusal
		vce *eventstore.VersionConflictError
		dce *eventstore.DuplicateConflictError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, keys.ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Detail: "a valid API key is required"}
	case errors.As(err, &ve):
		// The domain's messages name the field, never its value.
		return malformed(ve.Field, ve.Error())
	case errors.As(err, &fe):
		return forbidden(fe.Error())
	case errors.As(err, &ref):
		allowed := make([]string, len(ref.AllowedSteps()))
		for i, t := range ref.AllowedSteps() {
			allowed[i] = string(t)
		}
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeIllegalTransition, Detail: err.Error(),
			Ext: map[string]any{"state": ref.RefusedState(), "allowed": allowed}}
	case errors.As(err, &vce):
		return &Error{Status: http.StatusConflict, Code: CodeVersionConflict,
			Detail: fmt.Sprintf("the stream is at version %d, not the one expected", vce.Actual),
			Ext:    map[string]any{"current_version": vce.Actual}}
	case errors.As(err, &dce):
		return &Error{Status: http.StatusConflict, Code: CodeDuplicateConflict,
			Detail: "this event id is already stored with different content",
			Ext:    map[string]any{"event_id": dce.EventID}}
	case errors.Is(err, commands.ErrNotFound), errors.Is(err, eventstore.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, eventstore.ErrInvalid), errors.Is(err, domain.ErrUnknownEvent):
		return malformed("", err.Error())
	case errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return unavailable(err)
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal,
		Detail: "an unexpected error; the request id identifies it in the server's log", Err: err}
}

// fail answers err as a problem and counts conflicts.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(err)
	switch p.Code {
	case CodeVersionConflict, CodeDuplicateConflict:
		s.metrics.conflicts.WithLabelValues(p.Code).Inc()
	}
	if p.Status >= 500 {
		infoOf(r.Context()).err = err
	}
	s.writeProblem(w, r, p)
}

// writeProblem writes an RFC 9457 problem document.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p *Error) {
	id := infoOf(r.Context()).id
	body := map[string]any{
		"type":       ProblemType(p.Code),
		"title":      http.StatusText(p.Status),
		"status":     p.Status,
		"detail":     p.Detail,
		"code":       p.Code,
		"instance":   "urn:custody:request:" + id,
		"request_id": id,
	}
	if p.Field != "" {
		body["field"] = p.Field
		body["errors"] = []map[string]string{{"field": p.Field, "detail": p.Detail}}
	}
	for k, v := range p.Ext {
		body[k] = v
	}
	h := w.Header()
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="custody"`)
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", fmt.Sprint(p.RetryAfter))
	}
	if p.Status == http.StatusRequestEntityTooLarge {
		h.Set("Connection", "close") // the rest of the body is not read
	}
	writeBody(w, p.Status, "application/problem+json", body)
}

// writeJSON writes a successful answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	writeBody(w, status, "application/json", v)
	return nil
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are written; a failure here is a bug, answered plainly.
		http.Error(w, `{"code":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

var (
	reRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	// reDigitRun is ten digits in a row: an IIN (12) or a phone number (10 or 11) sent as a
	// request id would reach the access log.
	reDigitRun = regexp.MustCompile(`[0-9]{10}`)
)

// requestID honours a client's X-Request-Id when it is a plain token of 1–64 letters,
// digits, '.', '_' or '-' holding no run of ten digits; else it makes one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); reRequestID.MatchString(id) && !reDigitRun.MatchString(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// seesPII reports whether a role may see recipients' personal data unmasked: the Kaspi
// platform, which notifies the recipient, and the administrator.
func seesPII(r domain.Role) bool {
	return slices.Contains([]domain.Role{domain.RoleKaspiPlatform, domain.RoleAdmin}, r)
}
