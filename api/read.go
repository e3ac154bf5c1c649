package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/cursor"
)

// Every authenticated role reads documents, streams and the feed (auditors and the
// commission read everything, API.md); only personal data depends on the role (seesPII).

// documentOut is GET /v1/documents/{id}.
type documentOut struct {
	DocumentID     uuid.UUID                `json:"document_id"`
	State          domain.Status            `json:"state"`
	Version        uint64                   `json:"version"`
	Method         domain.DeliveryMethod    `json:"method,omitempty"`
	ApplicationNo  string                   `json:"application_no,omitempty"`
	ServiceCode    string                   `json:"service_code,omitempty"`
	City           string                   `json:"city,omitempty"`
	PostomatID     string                   `json:"postomat_id,omitempty"`
	CellID         string                   `json:"cell_id,omitempty"`
	Waybill        string                   `json:"waybill,omitempty"`
	Certificate    string                   `json:"certificate,omitempty"`
	Holder         *domain.Holder           `json:"holder"`
	HolderSince    *time.Time               `json:"holder_since,omitempty"`
	LastOccurredAt *time.Time               `json:"last_occurred_at,omitempty"`
	PlacedAt       *time.Time               `json:"placed_at,omitempty"`
	Recipient      *domain.RecipientContact `json:"recipient,omitempty"`
	Flags          domain.Flags             `json:"flags"`
	LostFrom       domain.Status            `json:"lost_from,omitempty"`
	Duplicate      *uuid.UUID               `json:"duplicate_document_id,omitempty"`
	DuplicateOf    *uuid.UUID               `json:"duplicate_of,omitempty"`
	// ActiveDeadlines are the clocks running at the moment of the view.
	ActiveDeadlines []deadlineOut `json:"active_deadlines"`
	AsOf            *time.Time    `json:"as_of,omitempty"`
}

// deadlineOut is one running clock.
type deadlineOut struct {
	Rule       deadline.RuleID `json:"rule"`
	Source     string          `json:"source"`
	StartedAt  time.Time       `json:"started_at"`
	StartEvent uuid.UUID       `json:"start_event_id"`
	// Deadline is the one that counts: the table's, moved by force majeure.
	Deadline     *time.Time   `json:"deadline,omitempty"`
	BaseDeadline *time.Time   `json:"base_deadline,omitempty"`
	ChargedTo    []domain.Org `json:"charged_to"`
	// Breach: running out is someone's breach (false: it only leads to the next step).
	Breach       bool          `json:"breach"`
	Overdue      bool          `json:"overdue"`
	Holder       domain.Holder `json:"holder"`
	ForceMajeure []uuid.UUID   `json:"force_majeure,omitempty"`
	// Undetermined: the deadline cannot be computed (e.g. a date outside the calendar).
	Undetermined bool `json:"undetermined,omitempty"`
}

func ptime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	a := almaty(t)
	return &a
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "document")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	// A "+" left unescaped in a query arrives as a space; read it as the offset's sign.
	asOf, err := parseTime("as_of", strings.ReplaceAll(q.Get("as_of"), " ", "+"), false)
	if err != nil {
		return err
	}
	var (
		st     domain.State
		stored []commands.Stored
	)
	now := s.svc.Now()
	if asOf.IsZero() {
		st, stored, err = s.svc.Document(r.Context(), id)
	} else {
		st, stored, err = s.svc.DocumentAsOf(r.Context(), id, asOf)
		now = asOf
		if err == nil && len(stored) == 0 {
			return notFound("document " + id.String() + " had no events by " + asOf.In(domain.Almaty).Format(time.RFC3339))
		}
	}
	if err != nil {
		return err
	}
	out := documentOut{DocumentID: st.DocumentID, State: st.Status, Version: st.Version, Method: st.Method,
		ApplicationNo: st.ApplicationNo, ServiceCode: st.ServiceCode, City: st.City, PostomatID: st.PostomatID,
		CellID: st.CellID, Waybill: st.Waybill, Certificate: st.Certificate, Holder: st.Holder,
		HolderSince: ptime(st.HolderSince), LastOccurredAt: ptime(st.LastOccurred), PlacedAt: ptime(st.PlacedAt),
		Flags: st.Flags, LostFrom: st.LostFrom, Duplicate: st.Duplicate, DuplicateOf: st.DuplicateOf}
	out.Flags.NewDate = almaty(out.Flags.NewDate)
	if st.Recipient != nil {
		rc := *st.Recipient
		if !seesPII(key(r).Role) {
			rc = rc.Masked()
		}
		out.Recipient = &rc
	}
	if !asOf.IsZero() {
		out.AsOf = ptime(asOf)
	}
	if out.ActiveDeadlines, err = s.activeDeadlines(r.Context(), id, now); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// activeDeadlines lists the clocks running at now, as the read models hold them (the same
// clocks /v1/overdue lists; nothing here computes a deadline).
func (s *Server) activeDeadlines(ctx context.Context, id uuid.UUID, now time.Time) ([]deadlineOut, error) {
	m, err := s.models()
	if err != nil {
		return nil, err
	}
	clocks, err := m.ActiveDeadlines(ctx, id, now)
	if err != nil {
		return nil, readError(err)
	}
	out := make([]deadlineOut, 0, len(clocks))
	for _, c := range clocks {
		d := deadlineOut{Rule: c.Rule, Source: c.Source, StartedAt: almaty(c.StartedAt), StartEvent: c.StartEvent,
			ChargedTo: c.Charged, Breach: c.Breach, Holder: c.Holder, ForceMajeure: c.ForceMajeure,
			Undetermined: c.Undetermined}
		if d.ChargedTo == nil {
			d.ChargedTo = []domain.Org{}
		}
		if !c.Undetermined {
			d.Deadline, d.BaseDeadline = ptime(c.Deadline), ptime(c.BaseDeadline)
			d.Overdue = now.After(c.Deadline)
		}
		out = append(out, d)
	}
	return out, nil
}

// eventOut is one stored event as readers see it.
type eventOut struct {
	StreamID   string          `json:"stream_id"`
	DocumentID uuid.UUID       `json:"document_id"`
	EventID    uuid.UUID       `json:"event_id"`
	Type       string          `json:"type"`
	Version    uint64          `json:"version"`
	Position   uint64          `json:"position"`
	RecordedAt time.Time       `json:"recorded_at"`
	OccurredAt *time.Time      `json:"occurred_at"`
	Hash       string          `json:"hash"`
	PrevHash   string          `json:"prev_hash"`
	Actor      *domain.Actor   `json:"actor"`
	Data       json.RawMessage `json:"data"`
}

// eventOf presents a record; personal data is masked unless the reader may see it. A record
// this code cannot decode (a newer schema) is shown without actor and data rather than raw,
// since raw data may hold personal data.
func eventOf(rec eventstore.Record, pii bool) eventOut {
	out := eventOut{StreamID: rec.StreamID, EventID: rec.EventID, Type: rec.Type, Version: rec.Version,
		Position: rec.Position, RecordedAt: almaty(rec.RecordedAt), Hash: rec.Hash.String(),
		PrevHash: rec.PrevHash.String(), Data: json.RawMessage("null")}
	e, err := domain.DecodeStored(rec.Data)
	if err != nil {
		return out
	}
	out.DocumentID, out.OccurredAt = e.DocumentID, ptime(e.OccurredAt)
	a := e.Actor
	out.Actor = &a
	data, err := json.Marshal(present(e.Payload, pii))
	if err != nil {
		// A time no answer can carry (year 10000 in Almaty), stored before the API refused
		// such times: the event is shown without its data rather than failing the page.
		return out
	}
	out.Data = data
	return out
}

// present prepares a payload for a reader: times in Almaty, the recipient masked unless pii.
func present(p domain.Payload, pii bool) domain.Payload {
	if m, ok := p.(domain.Maskable); ok && !pii {
		return m.MaskedPayload()
	}
	switch v := p.(type) {
	case *domain.DeliveryRequestedData:
		c := *v
		if !pii {
			c.Recipient = c.Recipient.Masked()
		}
		return &c
	case *domain.DeliveryDelayedData:
		c := *v
		c.NewDate = almaty(c.NewDate)
		return &c
	case *domain.DeadlineMissedData:
		c := *v
		c.Deadline = almaty(c.Deadline)
		return &c
	case *domain.ForceMajeureDeclaredData:
		c := *v
		c.From, c.To = almaty(c.From), almaty(c.To)
		return &c
	}
	if m, ok := p.(domain.Maskable); ok && !pii {
		return m.MaskedPayload() // identity documents (P.35, 003 §9) and other personal data
	}
	return p
}

// pageOut is a page of events.
type pageOut struct {
	Events     []eventOut `json:"events"`
	NextCursor string     `json:"next_cursor,omitempty"`
	// NextAfter (feed only) is the position to ask for next: after=<next_after>.
	NextAfter *uint64 `json:"next_after,omitempty"`
}

func parseLimit(r *http.Request) (int, error) {
	n, err := cursor.Limit(r.URL.Query().Get("limit"))
	if err != nil {
		return 0, malformed("limit", err.Error())
	}
	return n, nil
}

// A stream's cursor is the next version ("v"), the feed's the last position ("p"): the kind
// keeps one list's cursor from being taken by the other.
func encodeCursor(kind string, n uint64) string { return cursor.Encode(kind, n) }

func decodeCursor(kind, c string) (uint64, error) {
	var (
		k string
		n uint64
	)
	if _, err := cursor.Decode(c, &k, &n); err != nil || k != kind {
		return 0, malformed("cursor", cursor.ErrMalformed.Error())
	}
	return n, nil
}

// getDocumentEvents: GET /v1/documents/{id}/events, oldest first, by cursor.
func (s *Server) getDocumentEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "document")
	if err != nil {
		return err
	}
	return s.streamEvents(w, r, commands.DocumentStream(id), "no document "+id.String())
}

// streamEvents answers a page of one stream's events, oldest first; missing names the stream
// in the 404 when it does not exist.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, stream, missing string) error {
	limit, err := parseLimit(r)
	if err != nil {
		return err
	}
	from := uint64(1)
	if c := r.URL.Query().Get("cursor"); c != "" {
		if from, err = decodeCursor("v", c); err != nil {
			return err
		}
	}
	recs, err := s.svc.Store().ReadStream(r.Context(), stream, from, limit+1)
	if errors.Is(err, eventstore.ErrNotFound) {
		return notFound(missing)
	}
	if err != nil {
		return err
	}
	out := pageOut{Events: []eventOut{}}
	if len(recs) > limit {
		recs = recs[:limit]
		out.NextCursor = encodeCursor("v", recs[len(recs)-1].Version+1)
	}
	pii := seesPII(key(r).Role)
	for _, rec := range recs {
		out.Events = append(out.Events, eventOf(rec, pii))
	}
	return writeJSON(w, http.StatusOK, out)
}

// getFeed: GET /v1/feed?after=<position>&limit=, the global log in commit order. The answer's
// next_after (and the same as an opaque next_cursor) is where to continue; an empty page keeps
// it where it was, for polling.
func (s *Server) getFeed(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := parseLimit(r)
	if err != nil {
		return err
	}
	var after uint64
	switch {
	case q.Get("cursor") != "":
		if after, err = decodeCursor("p", q.Get("cursor")); err != nil {
			return err
		}
	case q.Get("after") != "":
		if after, err = strconv.ParseUint(q.Get("after"), 10, 64); err != nil {
			return malformed("after", "after must be a global position (a whole number from 0)")
		}
	}
	recs, err := s.svc.Store().ReadAll(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := pageOut{Events: make([]eventOut, 0, len(recs))}
	pii := seesPII(key(r).Role)
	// The Kaspi platform sees recipients' data but reads no application (scope.go): the feed
	// masks applicants for it.
	appPII := pii && readsApplications(key(r)) == nil
	for _, rec := range recs {
		p := pii
		if strings.HasPrefix(rec.StreamID, domain.ApplicationPrefix) {
			p = appPII
		}
		out.Events = append(out.Events, eventOf(rec, p))
		after = rec.Position
	}
	out.NextAfter = &after
	out.NextCursor = encodeCursor("p", after)
	return writeJSON(w, http.StatusOK, out)
}

// verifyOut is GET /v1/ledger/verify: the report, 200 also when a chain is broken.
type verifyOut struct {
	eventstore.Report
	CheckedAt time.Time `json:"checked_at"`
}

func (s *Server) verifyLedger(w http.ResponseWriter, r *http.Request) error {
	rep, err := eventstore.VerifyAll(r.Context(), s.svc.Store())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, verifyOut{Report: rep, CheckedAt: almaty(time.Now())})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: the store answers Head, and the readiness hook (projections caught up) agrees.
// DegradedError, returned by Config.Ready, means the server serves but needs an operator:
// /readyz answers 200 with status "degraded", the reason and how many events the read models
// skipped (quarantined).
type DegradedError struct {
	Reason      string
	Quarantined int
}

func (e *DegradedError) Error() string { return e.Reason }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.readiness)
	defer cancel()
	head, err := s.svc.Store().Head(ctx)
	if err != nil {
		e := unavailable(err)
		e.Detail = "the event store does not answer"
		return e
	}
	if s.ready != nil {
		var d *DegradedError
		if err := s.ready(ctx); errors.As(err, &d) {
			return writeJSON(w, http.StatusOK, map[string]any{"status": "degraded", "head": head,
				"reason": d.Reason, "quarantined": d.Quarantined})
		} else if err != nil {
			e := unavailable(err)
			e.Detail = "not ready: " + strings.TrimSpace(err.Error())
			return e
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "head": head})
}
