package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/transparency"
)

// maxBundleRange bounds a position range asked of /v1/audit/bundle; larger ones are exported
// with `custody audit export`.
const maxBundleRange = 10000

// transparencyRoutes serve the verifiable log (docs/transparency.md) to every role that
// reads, from Config.Transparency; without it they answer 503.
func (s *Server) transparencyRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/v1/checkpoints/latest", Handler: s.latestCheckpoint},
		{Method: http.MethodGet, Path: "/v1/checkpoints", Handler: s.checkpointOfSize},
		{Method: http.MethodGet, Path: "/v1/proofs/inclusion", Handler: s.inclusionProof},
		{Method: http.MethodGet, Path: "/v1/proofs/consistency", Handler: s.consistencyProof},
		{Method: http.MethodGet, Path: "/v1/audit/bundle", Handler: s.auditBundle},
	}
}

type checkpointOut struct {
	Origin    string    `json:"origin"`
	Size      uint64    `json:"size"`
	Root      []byte    `json:"root"`
	Position  uint64    `json:"position"`
	Note      string    `json:"note"`
	PublicKey string    `json:"public_key"`
	CreatedAt time.Time `json:"created_at"`
}

type proofOut struct {
	Position *uint64  `json:"position,omitempty"`
	Index    *uint64  `json:"index,omitempty"`
	From     *uint64  `json:"from,omitempty"`
	Size     uint64   `json:"size"`
	Hashes   [][]byte `json:"hashes"`
}

func (s *Server) tlog() (*transparency.Log, error) {
	if s.tl == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 5,
			Detail: "this server does not keep the verifiable log"}
	}
	return s.tl, nil
}

// tlogErr maps the log's errors to problems.
func tlogErr(err error) error {
	switch {
	case errors.Is(err, transparency.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, transparency.ErrBeyondTree):
		return notFound(err.Error())
	case errors.Is(err, transparency.ErrNotCheckpointed):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 10, Detail: err.Error()}
	}
	return err
}

func checkpointOf(cp transparency.Signed) checkpointOut {
	return checkpointOut{Origin: cp.Origin, Size: cp.Size, Root: cp.Root, Position: cp.Position, Note: string(cp.Note),
		PublicKey: cp.PublicKey, CreatedAt: almaty(cp.CreatedAt)}
}

// uintParam reads a non-negative integer query parameter; absent gives def.
func uintParam(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, malformed(name, name+" must be a non-negative integer")
	}
	return n, nil
}

// treeSize is the size parameter, by default the latest checkpoint's.
func treeSize(r *http.Request, l *transparency.Log, name string) (uint64, error) {
	if r.URL.Query().Get(name) != "" {
		return uintParam(r, name, 0)
	}
	cp, err := l.Latest(r.Context())
	if err != nil {
		return 0, tlogErr(err)
	}
	return cp.Size, nil
}

func (s *Server) latestCheckpoint(w http.ResponseWriter, r *http.Request) error {
	l, err := s.tlog()
	if err != nil {
		return err
	}
	cp, err := l.Latest(r.Context())
	if err != nil {
		return tlogErr(err)
	}
	return writeJSON(w, http.StatusOK, checkpointOf(cp))
}

func (s *Server) checkpointOfSize(w http.ResponseWriter, r *http.Request) error {
	l, err := s.tlog()
	if err != nil {
		return err
	}
	if r.URL.Query().Get("size") == "" {
		return malformed("size", "size is required")
	}
	size, err := uintParam(r, "size", 0)
	if err != nil {
		return err
	}
	cp, err := l.CheckpointAt(r.Context(), size)
	if err != nil {
		return tlogErr(err)
	}
	return writeJSON(w, http.StatusOK, checkpointOf(cp))
}

func (s *Server) inclusionProof(w http.ResponseWriter, r *http.Request) error {
	l, err := s.tlog()
	if err != nil {
		return err
	}
	if r.URL.Query().Get("position") == "" {
		return malformed("position", "position is required")
	}
	pos, err := uintParam(r, "position", 0)
	if err != nil {
		return err
	}
	size, err := treeSize(r, l, "size")
	if err != nil {
		return err
	}
	idx, err := l.Index(r.Context(), pos)
	if err != nil {
		return tlogErr(err)
	}
	if idx >= size {
		return notFound(fmt.Sprintf("the event at position %d is not in the tree of size %d", pos, size))
	}
	hashes, err := l.InclusionProof(r.Context(), idx, size)
	if err != nil {
		return tlogErr(err)
	}
	return writeJSON(w, http.StatusOK, proofOut{Position: &pos, Index: &idx, Size: size, Hashes: hashes})
}

func (s *Server) consistencyProof(w http.ResponseWriter, r *http.Request) error {
	l, err := s.tlog()
	if err != nil {
		return err
	}
	if r.URL.Query().Get("from") == "" {
		return malformed("from", "from is required")
	}
	from, err := uintParam(r, "from", 0)
	if err != nil {
		return err
	}
	to, err := treeSize(r, l, "to")
	if err != nil {
		return err
	}
	if from > to {
		return malformed("from", "from must not exceed to")
	}
	hashes, err := l.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		return tlogErr(err)
	}
	return writeJSON(w, http.StatusOK, proofOut{From: &from, Size: to, Hashes: hashes})
}

// carriesPII reports whether a payload holds personal data the API masks for such readers (the
// recipient of a request, an applicant, identity documents): a bundle redacts those events.
func carriesPII(p domain.Payload) bool {
	if _, ok := p.(domain.Maskable); ok {
		return true
	}
	_, ok := p.(*domain.DeliveryRequestedData)
	return ok
}

// bundleScope reads the audit bundle's scope from the query: document=ID, application=ID, or
// from and to; giving two of them is malformed.
func bundleScope(r *http.Request) (transparency.Scope, error) {
	var scope transparency.Scope
	q := r.URL.Query()
	id := func(name string) (*uuid.UUID, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		id, err := uuid.Parse(v)
		if err != nil {
			return nil, malformed(name, name+" must be a UUID")
		}
		return &id, nil
	}
	var err error
	if scope.Document, err = id("document"); err != nil {
		return scope, err
	}
	if scope.Application, err = id("application"); err != nil {
		return scope, err
	}
	if scope.From, err = uintParam(r, "from", 0); err != nil {
		return scope, err
	}
	if scope.To, err = uintParam(r, "to", 0); err != nil {
		return scope, err
	}
	const give = "give one of document, application, or from and to"
	if scope.Validate() != nil {
		field := "application"
		if scope.Application == nil {
			field = "from"
		}
		return scope, malformed(field, give+", not two")
	}
	if _, _, one := scope.Stream(); !one && (scope.From == 0 || scope.To < scope.From || scope.To-scope.From >= maxBundleRange) {
		return scope, malformed("from", fmt.Sprintf("%s (1 ≤ from ≤ to, at most %d positions)", give, maxBundleRange))
	}
	return scope, nil
}

// auditBundle exports a bundle of a document (document=ID), an application (application=ID)
// or a position range (from, to), with consistency proofs from since=SIZE. For readers who may
// not see personal data, the events that carry it (and any this server cannot decode) are
// redacted: proved, not shown.
func (s *Server) auditBundle(w http.ResponseWriter, r *http.Request) error {
	l, err := s.tlog()
	if err != nil {
		return err
	}
	scope, err := bundleScope(r)
	if err != nil {
		return err
	}
	var since []uint64
	if r.URL.Query().Get("since") != "" {
		n, err := uintParam(r, "since", 0)
		if err != nil {
			return err
		}
		since = append(since, n)
	}
	b, err := transparency.Export(r.Context(), s.svc.Store(), l, scope, since...)
	if err != nil {
		return tlogErr(err)
	}
	if !seesPII(key(r).Role) {
		for i := range b.Events {
			e := &b.Events[i]
			if dec, err := domain.Decode(e.Data); err != nil || carriesPII(dec.Payload) {
				e.Redact()
			}
		}
	}
	return writeJSON(w, http.StatusOK, b)
}
