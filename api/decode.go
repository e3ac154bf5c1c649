package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
)

// authenticate finds the request's key. A missing, malformed, unknown or revoked key is 401
// (keys.ErrUnauthenticated); a key store that cannot answer is 503.
func (s *Server) authenticate(r *http.Request) (keys.Key, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return keys.Key{}, keys.ErrUnauthenticated
	}
	k, err := s.keys.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil && !errors.Is(err, keys.ErrUnauthenticated) {
		return keys.Key{}, unavailable(err)
	}
	return k, err
}

// key returns the authenticated key of a request to a non-public route.
func key(r *http.Request) keys.Key {
	k, _ := Caller(r.Context())
	return k
}

// decode reads the body as exactly one JSON value into v: no unknown member, no member given
// twice or in another case than the contract's, no nesting deeper than maxDepth. Errors name
// the field at fault but never repeat a value: a value may be personal data.
func decode(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if err := scanJSON(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError("", err)
	}
	// Only white space may follow the value: checked on the bytes, not by decoding a second
	// value, which cost the decoder's buffer another read and allocations per request.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return malformed("", "the body holds more than one JSON value")
	}
	return exactNames("", b, reflect.TypeOf(v))
}

// jsonError describes a decoding error without echoing the document: encoding/json's own
// messages quote numbers and strings that did not fit ("cannot unmarshal number 950107…").
// prefix names the member the document was decoded for ("data").
func jsonError(prefix string, err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	join := func(f string) string {
		switch {
		case prefix == "":
			return f
		case f == "":
			return prefix
		}
		return prefix + "." + f
	}
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &se):
		return malformed(prefix, fmt.Sprintf("malformed JSON near byte %d", se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed(prefix, "the JSON document ends early")
	case errors.As(err, &te):
		f := join(strings.TrimPrefix(te.Field, headInName+"."))
		return malformed(f, fmt.Sprintf("%s: wrong JSON type, want %s", orBody(f), jsonKind(te.Type.Kind().String())))
	}
	msg := err.Error()
	if i := strings.Index(msg, "json: unknown field "); i >= 0 {
		name, _ := strconv.Unquote(msg[i+len("json: unknown field "):])
		if len(name) > 64 || !reFieldName.MatchString(name) {
			name = "(a member)"
		}
		f := join(name)
		return malformed(f, fmt.Sprintf("unknown field %s", f))
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return malformed(prefix, fmt.Sprintf("%s: a time is not RFC 3339", orBody(prefix)))
	}
	return malformed(prefix, fmt.Sprintf("%s: a value does not fit its field", orBody(prefix)))
}

// headInName is how encoding/json (Go 1.24 on) names the embedded headIn in a field path; the
// body has no such member, headIn's members are its own, so jsonError leaves it out.
var headInName = reflect.TypeOf(headIn{}).Name()

var reFieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

func orBody(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	case "int", "int64", "uint64", "int32", "uint32", "uint", "float64":
		return "a number"
	}
	return "another type"
}

// actorIn is the body's actor: who signs for the key's unit.
type actorIn struct {
	Org        string `json:"org"`
	Unit       string `json:"unit"`
	EmployeeID string `json:"employee_id"`
}

var reEmployee = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// actorFor makes the domain actor of a request: the key's role, organisation and unit, and
// the employee named in the body. A body that names another organisation or unit than the
// key's is a unit acting for another: 403.
func actorFor(k keys.Key, in *actorIn, required bool) (domain.Actor, error) {
	if in == nil {
		if required {
			return domain.Actor{}, malformed("actor", "actor is required: {org, unit, employee_id}")
		}
		return k.Actor(""), nil
	}
	if domain.Org(in.Org) != k.Org || in.Unit != k.Unit {
		return domain.Actor{}, forbidden("the actor's organisation and unit must be the API key's own")
	}
	if in.EmployeeID != "" && !reEmployee.MatchString(in.EmployeeID) {
		return domain.Actor{}, malformed("actor.employee_id", "actor.employee_id must be 1–64 letters, digits, '.', '_' or '-'")
	}
	return k.Actor(in.EmployeeID), nil
}

var reIdemKey = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// eventID is the body's event_id or, without one, the id derived from the Idempotency-Key
// header, scoped by the key so two integrators never collide. Neither: 400.
func eventID(r *http.Request, field string, body string) (uuid.UUID, error) {
	if body != "" {
		return parseID(field, body)
	}
	h := r.Header.Get("Idempotency-Key")
	if h == "" {
		return uuid.Nil, malformed(field, field+" is required, or an Idempotency-Key header to derive it from")
	}
	if !reIdemKey.MatchString(h) {
		return uuid.Nil, malformed("Idempotency-Key", "Idempotency-Key must be 1–255 visible ASCII characters")
	}
	return commands.EventIDFromKey(key(r).ID, h), nil
}

func parseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil || len(s) != 36 {
		return uuid.Nil, malformed(field, field+" must be a UUID (8-4-4-4-12 hex digits)")
	}
	return id, nil
}

// parseIDs parses a list of ids; an empty list is nil so that "[]" and an absent member encode
// alike, and a retry that leaves one out is still the same request.
func parseIDs(field string, ss []string) ([]uuid.UUID, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([]uuid.UUID, len(ss))
	for i, s := range ss {
		id, err := parseID(fmt.Sprintf("%s[%d]", field, i), s)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// pathID parses the {id} of a path; an id that is not a UUID names nothing: 404.
func pathID(r *http.Request, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, notFound("no such " + what)
	}
	return id, nil
}

// ifMatch reads the expected version from If-Match ("3", 3 or W/"3") or the body's
// expected_version; both given must agree.
func ifMatch(r *http.Request, body *uint64) (*uint64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return body, nil
	}
	v := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil, malformed("If-Match", `If-Match must be a stream version, e.g. "3"`)
	}
	if body != nil && *body != n {
		return nil, malformed("expected_version", "expected_version and If-Match disagree")
	}
	return &n, nil
}

// decodePayload decodes an event's data strictly.
func decodePayload(t domain.EventType, data json.RawMessage) (domain.Payload, error) {
	if len(bytes.TrimSpace(data)) == 0 || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, malformed("data", "data is required")
	}
	p, err := domain.DecodePayload(t, data)
	if err != nil {
		return nil, jsonError("data", err)
	}
	if err := exactNames("data", data, reflect.TypeOf(p)); err != nil {
		return nil, err
	}
	if err := payloadTimes("data", reflect.ValueOf(p)); err != nil {
		return nil, err
	}
	return p, nil
}
