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
)

// headIn holds the members every write body has: the event's id, when it occurred and who
// records it. The write bodies embed it.
type headIn struct {
	EventID    string   `json:"event_id"`
	OccurredAt string   `json:"occurred_at"`
	Actor      *actorIn `json:"actor"`
}

// headRules are how a write reads its headIn.
type headRules struct {
	// actorRequired: the body must name its actor (document events); otherwise the key's
	// own organisation and unit act when it is left out.
	actorRequired bool
	// atOptional: occurred_at may be left out, and is then the zero time for the handler to
	// default (force majeure); otherwise it is required.
	atOptional bool
}

// resolve returns, in this order of checking, the actor (the key's, with the body's employee),
// the event id (event_id, or derived from the Idempotency-Key header) and occurred_at.
func (h *headIn) resolve(r *http.Request, rules headRules) (domain.Actor, uuid.UUID, time.Time, error) {
	a, err := actorFor(key(r), h.Actor, rules.actorRequired)
	if err != nil {
		return domain.Actor{}, uuid.Nil, time.Time{}, err
	}
	id, err := eventID(r, "event_id", h.EventID)
	if err != nil {
		return domain.Actor{}, uuid.Nil, time.Time{}, err
	}
	at, err := parseTime("occurred_at", h.OccurredAt, !rules.atOptional)
	if err != nil {
		return domain.Actor{}, uuid.Nil, time.Time{}, err
	}
	return a, id, at, nil
}

// head gives decodeHead the embedded headIn of a write body.
func (h *headIn) head() *headIn { return h }

// decodeHead decodes the body into in, a write body embedding headIn, and resolves its head.
func decodeHead(r *http.Request, in interface{ head() *headIn }, rules headRules) (domain.Actor, uuid.UUID, time.Time, error) {
	if err := decode(r, in); err != nil {
		return domain.Actor{}, uuid.Nil, time.Time{}, err
	}
	return in.head().resolve(r, rules)
}

// created counts an append of kind (the appends metric's label) and answers 201 with v, and
// with a Location header unless location is empty.
func (s *Server) created(w http.ResponseWriter, kind, location string, v any) error {
	s.metrics.appends.WithLabelValues(kind).Inc()
	if location != "" {
		w.Header().Set("Location", location)
	}
	return writeJSON(w, http.StatusCreated, v)
}

// startIn is the body of POST /v1/documents.
type startIn struct {
	headIn
	DocumentID string          `json:"document_id"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
}

// eventIn is the body of POST /v1/documents/{id}/events.
type eventIn struct {
	headIn
	Type            string          `json:"type"`
	Data            json.RawMessage `json:"data"`
	ExpectedVersion *uint64         `json:"expected_version"`
}

// startTypes are the events that open a document's stream.
var startTypes = []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued}

// buildEvent checks what a document event body says before commands sees it: the type, the
// role's right to record the type at all, the actor (required, the key's own organisation and
// unit), the event id, the time and the payload. Without docID the document's id derives from
// the event id.
func buildEvent(r *http.Request, docID uuid.UUID, head headIn, typ string, data json.RawMessage) (domain.Event, error) {
	k := key(r)
	t := domain.EventType(typ)
	if typ == "" {
		return domain.Event{}, malformed("type", "type is required")
	}
	if !slices.Contains(domain.EventTypes, t) {
		return domain.Event{}, malformed("type", "type is not a document event type")
	}
	if !domain.MayRecord(k.Role, t) {
		return domain.Event{}, forbidden("role " + string(k.Role) + " may not record " + typ +
			" (" + domain.SourceOf(t) + ")")
	}
	a, id, at, err := head.resolve(r, headRules{actorRequired: true})
	if err != nil {
		return domain.Event{}, err
	}
	if docID == uuid.Nil {
		docID = commands.DocumentIDFor(id)
	}
	p, err := decodePayload(t, data)
	if err != nil {
		return domain.Event{}, err
	}
	return domain.Event{ID: id, DocumentID: docID, Type: t, OccurredAt: at, Actor: a, Payload: p}, nil
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
	e, err := buildEvent(r, docID, in.headIn, in.Type, in.Data)
	if err != nil {
		return err
	}
	empty := uint64(0)
	res, err := s.svc.AppendEvent(r.Context(), e.Actor, e, &empty)
	if err != nil {
		return err
	}
	return s.created(w, "document", "/v1/documents/"+res.DocumentID.String(), res)
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
	e, err := buildEvent(r, docID, in.headIn, in.Type, in.Data)
	if err != nil {
		return err
	}
	expected, err := ifMatch(r, in.ExpectedVersion)
	if err != nil {
		return err
	}
	res, err := s.svc.AppendToDocument(r.Context(), e.Actor, e, expected)
	if err != nil {
		return err
	}
	return s.created(w, "document", "", res)
}

// registryIn is the body of POST /v1/registries.
type registryIn struct {
	headIn
	Kind        string   `json:"kind"`
	FromUnit    string   `json:"from_unit"`
	ToUnit      string   `json:"to_unit"`
	DocumentIDs []string `json:"document_ids"`
}

func (s *Server) formRegistry(w http.ResponseWriter, r *http.Request) error {
	var in registryIn
	a, id, at, err := decodeHead(r, &in, headRules{})
	if err != nil {
		return err
	}
	docs, err := parseIDs("document_ids", in.DocumentIDs)
	if err != nil {
		return err
	}
	res, err := s.svc.FormRegistry(r.Context(), a, commands.RegistryForm{EventID: id, Kind: domain.RegistryKind(in.Kind),
		FromUnit: in.FromUnit, ToUnit: in.ToUnit, DocumentIDs: docs, OccurredAt: at})
	if err != nil {
		return err
	}
	return s.created(w, "registry", "/v1/registries/"+res.RegistryID.String(), res)
}

// holderIn names a courier.
type holderIn struct {
	Org        string `json:"org"`
	Unit       string `json:"unit"`
	EmployeeID string `json:"employee_id"`
}

type handoverIn struct {
	headIn
	Courier *holderIn `json:"courier"`
}

func (s *Server) handOverRegistry(w http.ResponseWriter, r *http.Request) error {
	regID, err := pathID(r, "registry")
	if err != nil {
		return err
	}
	var in handoverIn
	a, id, at, err := decodeHead(r, &in, headRules{})
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
	return s.created(w, "registry", "", res)
}

type acceptanceIn struct {
	headIn
	Accepted []string `json:"accepted"`
	Missing  []string `json:"missing"`
	Damaged  []string `json:"damaged"`
	Extra    []string `json:"extra"`
	// CONAddress is the ЦОН's address, told to recipients of returned documents (P.34).
	CONAddress string `json:"con_address"`
}

func (s *Server) acceptRegistry(w http.ResponseWriter, r *http.Request) error {
	regID, err := pathID(r, "registry")
	if err != nil {
		return err
	}
	var in acceptanceIn
	a, id, at, err := decodeHead(r, &in, headRules{})
	if err != nil {
		return err
	}
	acc := commands.Acceptance{EventID: id, RegistryID: regID, OccurredAt: at, CONAddress: in.CONAddress}
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
	res, err := s.svc.AcceptRegistry(r.Context(), a, acc)
	if err != nil {
		return err
	}
	return s.created(w, "registry", "", res)
}

type forceMajeureIn struct {
	headIn
	From         string   `json:"from"`
	To           string   `json:"to"`
	Orgs         []string `json:"orgs"`
	Region       string   `json:"region"`
	Description  string   `json:"description"`
	NotifyingOrg string   `json:"notifying_org"` // only an administrator notifies for another
	// P.38: the authorised body's document and the parties notified.
	Evidence *domain.FMEvidence `json:"evidence"`
	Notified []string           `json:"notified"`
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

// recordOf is the answer to a force-majeure or dispute command, before its id is set.
func recordOf(res commands.Appended) recordOut {
	return recordOut{EventID: res.EventID, Version: res.Version, Position: res.Position, Hash: res.Hash}
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
	a, id, at, err := decodeHead(r, &in, headRules{atOptional: true})
	if err != nil {
		return err
	}
	d := domain.ForceMajeureDeclaredData{Orgs: orgs(in.Orgs), Region: in.Region, Description: in.Description,
		NotifyingOrg: domain.Org(in.NotifyingOrg), Evidence: in.Evidence, Notified: orgs(in.Notified)}
	if d.From, err = parseTime("from", in.From, true); err != nil {
		return err
	}
	if d.To, err = parseTime("to", in.To, true); err != nil {
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
	out := recordOf(res)
	out.ForceMajeureID = &fmID
	return s.created(w, "force_majeure", "/v1/force-majeure/"+fmID.String(), out)
}

type disputeIn struct {
	headIn
	DocumentIDs []string `json:"document_ids"`
	Parties     []string `json:"parties"`
	Subject     string   `json:"subject"`
}

func (s *Server) openDispute(w http.ResponseWriter, r *http.Request) error {
	var in disputeIn
	a, id, at, err := decodeHead(r, &in, headRules{})
	if err != nil {
		return err
	}
	docs, err := parseIDs("document_ids", in.DocumentIDs)
	if err != nil {
		return err
	}
	res, err := s.svc.OpenDispute(r.Context(), a, id, at, domain.DisputeOpenedData{DocumentIDs: docs,
		Parties: orgs(in.Parties), Subject: in.Subject})
	if err != nil {
		return err
	}
	dID := res.DocumentID
	out := recordOf(res)
	out.DisputeID = &dID
	return s.created(w, "dispute", "/v1/disputes/"+dID.String(), out)
}

type resolutionIn struct {
	headIn
	ProtocolNumber string   `json:"protocol_number"`
	Decision       string   `json:"decision"`
	ChargedTo      []string `json:"charged_to"`
}

func (s *Server) resolveDispute(w http.ResponseWriter, r *http.Request) error {
	dID, err := pathID(r, "dispute")
	if err != nil {
		return err
	}
	var in resolutionIn
	a, id, at, err := decodeHead(r, &in, headRules{})
	if err != nil {
		return err
	}
	res, err := s.svc.ResolveDispute(r.Context(), a, dID, id, at, domain.DisputeResolvedData{
		ProtocolNumber: in.ProtocolNumber, Decision: in.Decision, ChargedTo: orgs(in.ChargedTo)})
	if err != nil {
		return err
	}
	out := recordOf(res)
	out.DisputeID = &dID
	return s.created(w, "dispute", "", out)
}

// almaty renders a time in the server's answer zone; the zero time stays zero.
func almaty(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(domain.Almaty)
}
