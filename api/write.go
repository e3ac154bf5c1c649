package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// startIn is the body of POST /v1/documents.
type startIn struct {
	EventID    string          `json:"event_id"`
	DocumentID string          `json:"document_id"`
	Type       string          `json:"type"`
	OccurredAt string          `json:"occurred_at"`
	Actor      *actorIn        `json:"actor"`
	Data       json.RawMessage `json:"data"`
}

// eventIn is the body of POST /v1/documents/{id}/events.
type eventIn struct {
	EventID         string          `json:"event_id"`
	Type            string          `json:"type"`
	OccurredAt      string          `json:"occurred_at"`
	Actor           *actorIn        `json:"actor"`
	Data            json.RawMessage `json:"data"`
	ExpectedVersion *uint64         `json:"expected_version"`
}

// startTypes are the events that open a document's stream.
var startTypes = []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued}

// buildEvent checks what a document event body says before commands sees it: the type, the
// actor (key's own organisation and unit), the role's right to record the type at all, the
// event id, the payload and the time.
func buildEvent(r *http.Request, docID uuid.UUID, bodyID, typ, occurred string, actor *actorIn,
	data json.RawMessage) (domain.Event, domain.Actor, error) {
	k := key(r)
	t := domain.EventType(typ)
	if typ == "" {
		return domain.Event{}, domain.Actor{}, malformed("type", "type is required")
	}
	if !slices.Contains(domain.EventTypes, t) {
		return domain.Event{}, domain.Actor{}, malformed("type", "type is not a document event type")
	}
	a, err := actorFor(k, actor, true)
	if err != nil {
		return domain.Event{}, domain.Actor{}, err
	}
	if !domain.MayRecord(k.Role, t) {
		return domain.Event{}, domain.Actor{}, forbidden("role " + string(k.Role) + " may not record " + typ +
			" (" + domain.SourceOf(t) + ")")
	}
	id, err := eventID(r, "event_id", bodyID)
	if err != nil {
		return domain.Event{}, domain.Actor{}, err
	}
	if docID == uuid.Nil {
		docID = commands.DocumentIDFor(id)
	}
	p, err := decodePayload(t, data)
	if err != nil {
		return domain.Event{}, domain.Actor{}, err
	}
	at, err := parseTime("occurred_at", occurred, true)
	if err != nil {
		return domain.Event{}, domain.Actor{}, err
	}
	return domain.Event{ID: id, DocumentID: docID, Type: t, OccurredAt: at, Actor: a, Payload: p}, a, nil
}

// startDocument: POST /v1/documents. The append demands an empty stream (If-Match 0), so
// starting an existing document is a version conflict, unless it is the same request again.
func (s *Server) startDocument(w http.ResponseWriter, r *http.Request) error {
	var in startIn
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Type != "" && !slices.Contains(startTypes, domain.EventType(in.Type)) {
		return malformed("type", "a document starts with DeliveryRequested, or DocumentIssued for delivery at a ЦОН")
	}
	var docID uuid.UUID
	if in.DocumentID != "" {
		id, err := parseID("document_id", in.DocumentID)
		if err != nil {
			return err
		}
		docID = id
	}
	e, a, err := buildEvent(r, docID, in.EventID, in.Type, in.OccurredAt, in.Actor, in.Data)
	if err != nil {
		return err
	}
	empty := uint64(0)
	res, err := s.svc.AppendEvent(r.Context(), a, e, &empty)
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("document").Inc()
	w.Header().Set("Location", "/v1/documents/"+res.DocumentID.String())
	return writeJSON(w, http.StatusCreated, res)
}

// appendEvent: POST /v1/documents/{id}/events. A document that does not exist is 404 for every
// event type: its stream starts only through POST /v1/documents.
func (s *Server) appendEvent(w http.ResponseWriter, r *http.Request) error {
	docID, err := pathID(r, "document")
	if err != nil {
		return err
	}
	var in eventIn
	if err := decode(r, &in); err != nil {
		return err
	}
	e, a, err := buildEvent(r, docID, in.EventID, in.Type, in.OccurredAt, in.Actor, in.Data)
	if err != nil {
		return err
	}
	expected, err := ifMatch(r, in.ExpectedVersion)
	if err != nil {
		return err
	}
	missing := notFound("no document " + docID.String())
	if slices.Contains(startTypes, e.Type) {
		// Only these could open an empty stream here; refuse that before appending.
		_, err := s.svc.Store().ReadStream(r.Context(), commands.DocumentStream(docID), 1, 1)
		if errors.Is(err, eventstore.ErrNotFound) {
			return missing
		}
		if err != nil {
			return err
		}
	}
	res, err := s.svc.AppendEvent(r.Context(), a, e, expected)
	var (
		te  *domain.TransitionError
		vce *eventstore.VersionConflictError
	)
	switch {
	case errors.As(err, &te) && te.State == domain.StatusNew:
		return missing // an empty stream: no document, rather than "not accepted in state new"
	case errors.As(err, &vce) && vce.Actual == 0:
		return missing
	case err != nil:
		return err
	}
	s.metrics.appends.WithLabelValues("document").Inc()
	return writeJSON(w, http.StatusCreated, res)
}

// registryIn is the body of POST /v1/registries.
type registryIn struct {
	EventID     string   `json:"event_id"`
	Kind        string   `json:"kind"`
	FromUnit    string   `json:"from_unit"`
	ToUnit      string   `json:"to_unit"`
	DocumentIDs []string `json:"document_ids"`
	OccurredAt  string   `json:"occurred_at"`
	Actor       *actorIn `json:"actor"`
}

func (s *Server) formRegistry(w http.ResponseWriter, r *http.Request) error {
	var in registryIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := actorFor(key(r), in.Actor, false)
	if err != nil {
		return err
	}
	id, err := eventID(r, "event_id", in.EventID)
	if err != nil {
		return err
	}
	docs, err := parseIDs("document_ids", in.DocumentIDs)
	if err != nil {
		return err
	}
	at, err := parseTime("occurred_at", in.OccurredAt, true)
	if err != nil {
		return err
	}
	res, err := s.svc.FormRegistry(r.Context(), a, commands.RegistryForm{EventID: id, Kind: domain.RegistryKind(in.Kind),
		FromUnit: in.FromUnit, ToUnit: in.ToUnit, DocumentIDs: docs, OccurredAt: at})
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("registry").Inc()
	w.Header().Set("Location", "/v1/registries/"+res.RegistryID.String())
	return writeJSON(w, http.StatusCreated, res)
}

// holderIn names a courier.
type holderIn struct {
	Org        string `json:"org"`
	Unit       string `json:"unit"`
	EmployeeID string `json:"employee_id"`
}

type handoverIn struct {
	EventID    string    `json:"event_id"`
	Courier    *holderIn `json:"courier"`
	OccurredAt string    `json:"occurred_at"`
	Actor      *actorIn  `json:"actor"`
}

func (s *Server) handOverRegistry(w http.ResponseWriter, r *http.Request) error {
	regID, err := pathID(r, "registry")
	if err != nil {
		return err
	}
	var in handoverIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := actorFor(key(r), in.Actor, false)
	if err != nil {
		return err
	}
	id, err := eventID(r, "event_id", in.EventID)
	if err != nil {
		return err
	}
	at, err := parseTime("occurred_at", in.OccurredAt, true)
	if err != nil {
		return err
	}
	var courier domain.Holder
	if in.Courier != nil {
		courier = domain.Holder{Org: domain.Org(in.Courier.Org), Unit: in.Courier.Unit, EmployeeID: in.Courier.EmployeeID}
		if courier.Org == "" {
			courier.Org = domain.OrgGK // couriers are the state corporation's (P.17, P.33)
		}
	} else if a.Role != domain.RoleGKCourier {
		return malformed("courier", "courier is required: {unit, employee_id}")
	}
	res, err := s.svc.HandOverRegistry(r.Context(), a, commands.Handover{EventID: id, RegistryID: regID,
		Courier: courier, OccurredAt: at})
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("registry").Inc()
	return writeJSON(w, http.StatusCreated, res)
}

type acceptanceIn struct {
	EventID    string   `json:"event_id"`
	Accepted   []string `json:"accepted"`
	Missing    []string `json:"missing"`
	Damaged    []string `json:"damaged"`
	Extra      []string `json:"extra"`
	OccurredAt string   `json:"occurred_at"`
	Actor      *actorIn `json:"actor"`
}

func (s *Server) acceptRegistry(w http.ResponseWriter, r *http.Request) error {
	regID, err := pathID(r, "registry")
	if err != nil {
		return err
	}
	var in acceptanceIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := actorFor(key(r), in.Actor, false)
	if err != nil {
		return err
	}
	id, err := eventID(r, "event_id", in.EventID)
	if err != nil {
		return err
	}
	acc := commands.Acceptance{EventID: id, RegistryID: regID}
	for _, l := range []struct {
		field string
		in    []string
		out   *[]uuid.UUID
	}{{"accepted", in.Accepted, &acc.Accepted}, {"missing", in.Missing, &acc.Missing},
		{"damaged", in.Damaged, &acc.Damaged}, {"extra", in.Extra, &acc.Extra}} {
		if *l.out, err = parseIDs(l.field, l.in); err != nil {
			return err
		}
	}
	if acc.OccurredAt, err = parseTime("occurred_at", in.OccurredAt, true); err != nil {
		return err
	}
	res, err := s.svc.AcceptRegistry(r.Context(), a, acc)
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("registry").Inc()
	return writeJSON(w, http.StatusCreated, res)
}

type forceMajeureIn struct {
	EventID      string   `json:"event_id"`
	From         string   `json:"from"`
	To           string   `json:"to"`
	Orgs         []string `json:"orgs"`
	Region       string   `json:"region"`
	Description  string   `json:"description"`
	NotifyingOrg string   `json:"notifying_org"` // only an administrator notifies for another
	OccurredAt   string   `json:"occurred_at"`
	Actor        *actorIn `json:"actor"`
}

// recordOut answers force-majeure and dispute commands.
type recordOut struct {
	ForceMajeureID *uuid.UUID `json:"force_majeure_id,omitempty"`
	DisputeID      *uuid.UUID `json:"dispute_id,omitempty"`
	EventID        uuid.UUID  `json:"event_id"`
	Version        uint64     `json:"version"`
	Position       uint64     `json:"position"`
	Hash           string     `json:"hash"`
}

func orgs(ss []string) []domain.Org {
	if len(ss) == 0 {
		return nil
	}
	out := make([]domain.Org, len(ss))
	for i, s := range ss {
		out[i] = domain.Org(s)
	}
	return out
}

// declareForceMajeure: POST /v1/force-majeure. occurred_at is the moment of notice, now when
// left out; a retry without it reuses the first notice's time, so it stays the same request.
func (s *Server) declareForceMajeure(w http.ResponseWriter, r *http.Request) error {
	var in forceMajeureIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := actorFor(key(r), in.Actor, false)
	if err != nil {
		return err
	}
	id, err := eventID(r, "event_id", in.EventID)
	if err != nil {
		return err
	}
	d := domain.ForceMajeureDeclaredData{Orgs: orgs(in.Orgs), Region: in.Region, Description: in.Description,
		NotifyingOrg: domain.Org(in.NotifyingOrg)}
	if d.From, err = parseTime("from", in.From, true); err != nil {
		return err
	}
	if d.To, err = parseTime("to", in.To, true); err != nil {
		return err
	}
	at, err := parseTime("occurred_at", in.OccurredAt, false)
	if err != nil {
		return err
	}
	fmID := commands.ForceMajeureIDFor(id)
	if at.IsZero() {
		at = s.svc.Now()
		if e, _, err := s.svc.ForceMajeure(r.Context(), fmID); err == nil && e.ID == id {
			at = e.OccurredAt
		} else if err != nil && !errors.Is(err, commands.ErrNotFound) {
			return err
		}
	}
	res, err := s.svc.DeclareForceMajeure(r.Context(), a, id, at, d)
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("force_majeure").Inc()
	w.Header().Set("Location", "/v1/force-majeure/"+fmID.String())
	return writeJSON(w, http.StatusCreated, recordOut{ForceMajeureID: &fmID, EventID: res.EventID,
		Version: res.Version, Position: res.Position, Hash: res.Hash})
}

type disputeIn struct {
	EventID     string   `json:"event_id"`
	DocumentIDs []string `json:"document_ids"`
	Parties     []string `json:"parties"`
	Subject     string   `json:"subject"`
	OccurredAt  string   `json:"occurred_at"`
	Actor       *actorIn `json:"actor"`
}

func (s *Server) openDispute(w http.ResponseWriter, r *http.Request) error {
	var in disputeIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := actorFor(key(r), in.Actor, false)
	if err != nil {
		return err
	}
	id, err := eventID(r, "event_id", in.EventID)
	if err != nil {
		return err
	}
	docs, err := parseIDs("document_ids", in.DocumentIDs)
	if err != nil {
		return err
	}
	at, err := parseTime("occurred_at", in.OccurredAt, true)
	if err != nil {
		return err
	}
	res, err := s.svc.OpenDispute(r.Context(), a, id, at, domain.DisputeOpenedData{DocumentIDs: docs,
		Parties: orgs(in.Parties), Subject: in.Subject})
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("dispute").Inc()
	dID := res.DocumentID
	w.Header().Set("Location", "/v1/disputes/"+dID.String())
	return writeJSON(w, http.StatusCreated, recordOut{DisputeID: &dID, EventID: res.EventID,
		Version: res.Version, Position: res.Position, Hash: res.Hash})
}

type resolutionIn struct {
	EventID        string   `json:"event_id"`
	ProtocolNumber string   `json:"protocol_number"`
	Decision       string   `json:"decision"`
	ChargedTo      []string `json:"charged_to"`
	OccurredAt     string   `json:"occurred_at"`
	Actor          *actorIn `json:"actor"`
}

func (s *Server) resolveDispute(w http.ResponseWriter, r *http.Request) error {
	dID, err := pathID(r, "dispute")
	if err != nil {
		return err
	}
	var in resolutionIn
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := actorFor(key(r), in.Actor, false)
	if err != nil {
		return err
	}
	id, err := eventID(r, "event_id", in.EventID)
	if err != nil {
		return err
	}
	at, err := parseTime("occurred_at", in.OccurredAt, true)
	if err != nil {
		return err
	}
	res, err := s.svc.ResolveDispute(r.Context(), a, dID, id, at, domain.DisputeResolvedData{
		ProtocolNumber: in.ProtocolNumber, Decision: in.Decision, ChargedTo: orgs(in.ChargedTo)})
	if err != nil {
		return err
	}
	s.metrics.appends.WithLabelValues("dispute").Inc()
	return writeJSON(w, http.StatusCreated, recordOut{DisputeID: &dID, EventID: res.EventID,
		Version: res.Version, Position: res.Position, Hash: res.Hash})
}

// almaty renders a time in the server's answer zone; the zero time stays zero.
func almaty(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(domain.Almaty)
}
