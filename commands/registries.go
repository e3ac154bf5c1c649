package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// kindRules says who forms, hands over and accepts each kind of registry, and which
// organisations its two ends belong to (DOMAIN.md, Registries).
type kindRule struct {
	formedBy   []domain.Role
	from, to   domain.Org
	handedBy   domain.Role // "" for kinds without a courier step
	acceptedBy domain.Role // "" for kinds that are not accepted by another unit
}

var kindRules = map[domain.RegistryKind]kindRule{
	domain.RegistryDispatch: {formedBy: []domain.Role{domain.RoleGKAccumulation}, from: domain.OrgGK, to: domain.OrgKaspi,
		handedBy: domain.RoleGKAccumulation, acceptedBy: domain.RoleKaspiIntake}, // P.13, P.17, P.18
	domain.RegistryRagsIssuance: {formedBy: []domain.Role{domain.RoleGKAccumulation, domain.RoleRAGS}, from: domain.OrgGK,
		to: domain.OrgGK, acceptedBy: domain.RoleGKIssuance}, // P.14
	domain.RegistryIntakeAcceptance: {formedBy: []domain.Role{domain.RoleKaspiIntake}, from: domain.OrgKaspi, to: domain.OrgKaspi}, // P.18
	domain.RegistryReturnCollection: {formedBy: []domain.Role{domain.RoleGKAccumulation}, from: domain.OrgKaspi, to: domain.OrgGK,
		handedBy: domain.RoleGKCourier, acceptedBy: domain.RoleGKIssuance}, // P.32, P.33
}

// RegistryForm is a request to form a registry.
type RegistryForm struct {
	EventID     uuid.UUID // the client's id for the formation; the registry id derives from it
	Kind        domain.RegistryKind
	FromUnit    string
	ToUnit      string
	DocumentIDs []uuid.UUID
	OccurredAt  time.Time
}

// Handover is a request to hand a registry over to a courier.
type Handover struct {
	EventID    uuid.UUID
	RegistryID uuid.UUID
	Courier    domain.Holder // the courier who takes the envelopes (org GK)
	OccurredAt time.Time
}

// Acceptance is a request to accept a registry line by line.
type Acceptance struct {
	EventID    uuid.UUID
	RegistryID uuid.UUID
	Accepted   []uuid.UUID
	Missing    []uuid.UUID
	Damaged    []uuid.UUID
	Extra      []uuid.UUID
	OccurredAt time.Time
	// CONAddress, at a ЦОН, is the address told to recipients of returned documents (P.34).
	CONAddress string
}

// RegistryResult answers a registry command: the registry's own event and every document
// event written with it.
type RegistryResult struct {
	RegistryID uuid.UUID  `json:"registry_id"`
	EventID    uuid.UUID  `json:"event_id"`
	Version    uint64     `json:"version"`
	Position   uint64     `json:"position"`
	Hash       string     `json:"hash"`
	Documents  []Appended `json:"documents"`
}

// RegistryIDFor derives a registry's id from the event that forms it.
func RegistryIDFor(eventID uuid.UUID) uuid.UUID { return uuid.NewSHA1(nsRegistry, eventID[:]) }

// stepEventID derives the id of a document event written by a registry step, so a retried
// step derives the same ids and never doubles anything.
func stepEventID(registry uuid.UUID, step string, doc uuid.UUID, n int) uuid.UUID {
	return uuid.NewSHA1(registry, fmt.Appendf(nil, "%s/%s/%d", step, doc, n))
}

// Registry returns a registry folded from its stream.
func (s *Service) Registry(ctx context.Context, id uuid.UUID) (domain.Registry, []Stored, error) {
	stored, err := s.loadExisting(ctx, RegistryStream(id))
	if err != nil {
		return domain.Registry{}, nil, err
	}
	return foldRegistry(stored), stored, nil
}

// docPlan is what a registry step writes to one document.
type docPlan struct {
	id     uuid.UUID
	state  domain.State
	events []domain.Event
}

// FormRegistry forms a registry and lists it on every document's stream, atomically.
func (s *Service) FormRegistry(ctx context.Context, actor domain.Actor, f RegistryForm) (RegistryResult, error) {
	rule, ok := kindRules[f.Kind]
	if !ok {
		return RegistryResult{}, &domain.ValidationError{Field: "kind", Reason: "unknown registry kind"}
	}
	if !slices.Contains(rule.formedBy, actor.Role) || actor.Org != domain.OrgOf(actor.Role) {
		return RegistryResult{}, &domain.ForbiddenError{Role: actor.Role, Event: domain.RegistryFormed,
			Reason: fmt.Sprintf("a %s registry is formed by %v", f.Kind, rule.formedBy)}
	}
	// A unit forms registries only for its own hand-overs; the accumulation sector forms the
	// return registry for the Kaspi intake point and the ЦОН (P.32).
	if f.Kind != domain.RegistryReturnCollection && actor.Role != domain.RoleRAGS && actor.Unit != f.FromUnit {
		return RegistryResult{}, &domain.ForbiddenError{Role: actor.Role, Event: domain.RegistryFormed,
			Reason: "a unit forms registries only for documents it hands over"}
	}
	id := RegistryIDFor(f.EventID)
	formed := &domain.RegistryFormedData{Kind: f.Kind, From: domain.Holder{Org: rule.from, Unit: f.FromUnit},
		To: domain.Holder{Org: rule.to, Unit: f.ToUnit}, Documents: f.DocumentIDs}
	head := domain.Event{ID: f.EventID, DocumentID: id, Type: domain.RegistryFormed, OccurredAt: f.OccurredAt,
		Actor: actor, Payload: formed}
	return s.registryStep(ctx, id, head, func(r domain.Registry) error {
		if r.Status != domain.RegistryStatusNew {
			return domain.RefuseRegistryStep(r, "already formed")
		}
		return nil
	}, func(_ domain.Registry, load func(uuid.UUID) (domain.State, error)) ([]docPlan, error) {
		plans := make([]docPlan, 0, len(f.DocumentIDs))
		for i, doc := range f.DocumentIDs {
			st, err := load(doc)
			if err != nil {
				return nil, err
			}
			e := domain.Event{ID: stepEventID(id, "formed", doc, 0), DocumentID: doc, Type: domain.AddedToRegistry,
				OccurredAt: f.OccurredAt, Actor: actor,
				Payload: &domain.AddedToRegistryData{RegistryID: id, Kind: f.Kind, Line: i + 1, To: &formed.To}}
			plans = append(plans, docPlan{id: doc, state: st, events: []domain.Event{e}})
		}
		return plans, nil
	})
}

// HandOverRegistry hands a dispatch registry to a GK courier (P.17) or records the courier's
// collection of a return registry (P.33): one hand-over event per document, atomically.
func (s *Service) HandOverRegistry(ctx context.Context, actor domain.Actor, h Handover) (RegistryResult, error) {
	r, _, err := s.Registry(ctx, h.RegistryID)
	if err != nil {
		return RegistryResult{}, err
	}
	rule := kindRules[r.Formed.Kind]
	if rule.handedBy == "" {
		return RegistryResult{}, domain.RefuseRegistryStep(r, fmt.Sprintf("a %s registry is not handed to a courier", r.Formed.Kind))
	}
	if actor.Role != rule.handedBy {
		return RegistryResult{}, &domain.ForbiddenError{Role: actor.Role, Event: domain.RegistryHandedOver,
			Reason: fmt.Sprintf("a %s registry is handed over by %s", r.Formed.Kind, rule.handedBy)}
	}
	// The giving unit hands its registry over; a courier collecting a return registry records
	// the collection for itself (P.33), which the documents' hand-overs check.
	if actor.Role != domain.RoleGKCourier && actor.Unit != r.Formed.From.Unit {
		return RegistryResult{}, &domain.ForbiddenError{Role: actor.Role, Event: domain.RegistryHandedOver,
			Reason: fmt.Sprintf("this registry is handed over by its giving unit %s", r.Formed.From.Unit)}
	}
	courier := h.Courier
	if actor.Role == domain.RoleGKCourier { // the courier records their own collection
		courier = domain.Holder{Org: actor.Org, Unit: actor.Unit, EmployeeID: actor.EmployeeID}
	}
	head := domain.Event{ID: h.EventID, DocumentID: h.RegistryID, Type: domain.RegistryHandedOver, OccurredAt: h.OccurredAt,
		Actor: actor, Payload: &domain.RegistryHandedOverData{Courier: courier}}
	return s.registryStep(ctx, h.RegistryID, head, func(r domain.Registry) error {
		if r.Status != domain.RegistryStatusFormed {
			return domain.RefuseRegistryStep(r, "only a formed registry is handed over")
		}
		if courier.Org != domain.OrgGK {
			return &domain.ValidationError{Field: "courier.org", Reason: "the courier is the state corporation's (P.17, P.33)"}
		}
		return nil
	}, func(r domain.Registry, load func(uuid.UUID) (domain.State, error)) ([]docPlan, error) {
		plans := make([]docPlan, 0, len(r.Formed.Documents))
		for _, doc := range r.Formed.Documents {
			st, err := load(doc)
			if err != nil {
				return nil, err
			}
			e := domain.Event{ID: stepEventID(h.RegistryID, "handover", doc, 0), DocumentID: doc, OccurredAt: h.OccurredAt, Actor: actor}
			tr := domain.Transfer{From: holderOf(st), To: courier}
			if r.Formed.Kind == domain.RegistryDispatch {
				e.Type, e.Payload = domain.HandedToCourier, &domain.HandedToCourierData{Transfer: tr, RegistryID: h.RegistryID}
			} else {
				e.Type, e.Payload = domain.CollectedFromKaspiIntake, &domain.CollectedFromKaspiIntakeData{Transfer: tr, RegistryID: h.RegistryID}
			}
			plans = append(plans, docPlan{id: doc, state: st, events: []domain.Event{e}})
		}
		return plans, nil
	})
}

// AcceptRegistry records the receiving unit's acceptance, line by line (P.18, P.33, P.34):
// accepted and damaged lines change hands, missing lines get a discrepancy charged to the
// giving side, extra envelopes get a discrepancy on their own stream.
func (s *Service) AcceptRegistry(ctx context.Context, actor domain.Actor, a Acceptance) (RegistryResult, error) {
	r, _, err := s.Registry(ctx, a.RegistryID)
	if err != nil {
		return RegistryResult{}, err
	}
	rule := kindRules[r.Formed.Kind]
	if rule.acceptedBy == "" {
		return RegistryResult{}, domain.RefuseRegistryStep(r, "an intake acceptance registry is itself the record of acceptance (P.18)")
	}
	if actor.Role != rule.acceptedBy || actor.Unit != r.Formed.To.Unit {
		return RegistryResult{}, &domain.ForbiddenError{Role: actor.Role, Event: domain.RegistryAccepted,
			Reason: fmt.Sprintf("this registry is accepted by %s of unit %s", rule.acceptedBy, r.Formed.To.Unit)}
	}
	by := domain.Holder{Org: actor.Org, Unit: actor.Unit, EmployeeID: actor.EmployeeID}
	acc := &domain.RegistryAcceptedData{Accepted: a.Accepted, Missing: a.Missing, Damaged: a.Damaged, Extra: a.Extra, By: by}
	head := domain.Event{ID: a.EventID, DocumentID: a.RegistryID, Type: domain.RegistryAccepted, OccurredAt: a.OccurredAt,
		Actor: actor, Payload: acc}
	return s.registryStep(ctx, a.RegistryID, head, func(r domain.Registry) error {
		return domain.DecideAcceptance(r, acc)
	}, func(r domain.Registry, load func(uuid.UUID) (domain.State, error)) ([]docPlan, error) {
		var plans []docPlan
		lines := []struct {
			ids     []uuid.UUID
			damaged bool
			kind    domain.DiscrepancyKind
		}{{a.Accepted, false, ""}, {a.Damaged, true, domain.DiscrepancyDamaged}, {a.Missing, false, domain.DiscrepancyMissing}, {a.Extra, false, domain.DiscrepancyExtra}}
		for _, l := range lines {
			for _, doc := range l.ids {
				st, err := load(doc)
				if errors.Is(err, ErrNotFound) && l.kind == domain.DiscrepancyExtra {
					continue // an envelope the ledger does not know: the registry records it
				}
				if err != nil {
					return nil, err
				}
				p := docPlan{id: doc, state: st}
				mk := func(n int, t domain.EventType, pl domain.Payload) domain.Event {
					return domain.Event{ID: stepEventID(a.RegistryID, "acceptance", doc, n), DocumentID: doc, Type: t,
						OccurredAt: a.OccurredAt, Actor: actor, Payload: pl}
				}
				if l.kind != "" {
					p.events = append(p.events, mk(0, domain.IntakeDiscrepancy, &domain.IntakeDiscrepancyData{
						RegistryID: a.RegistryID, Kind: l.kind, Giver: holderOf(st), Receiver: by}))
				}
				if l.kind == "" || l.damaged {
					tr := domain.Transfer{From: holderOf(st), To: by}
					if r.Formed.Kind == domain.RegistryDispatch {
						p.events = append(p.events, mk(1, domain.AcceptedAtKaspiIntake,
							&domain.AcceptedAtKaspiIntakeData{Transfer: tr, RegistryID: &a.RegistryID, Damaged: l.damaged}))
					} else {
						p.events = append(p.events, mk(1, domain.ReceivedAtIssuance,
							&domain.ReceivedAtIssuanceData{Transfer: tr, RegistryID: &a.RegistryID, CONAddress: a.CONAddress}))
					}
				}
				plans = append(plans, p)
			}
		}
		return plans, nil
	})
}

func holderOf(st domain.State) domain.Holder {
	if st.Holder == nil {
		return domain.Holder{}
	}
	return *st.Holder
}

// registryStep writes a registry's event and its documents' events in one atomic append.
// It is resumable: events already stored (same derived ids) are not written again, so a
// retried step completes what is missing and never doubles anything, even on a store
// without atomic multi-stream appends.
func (s *Service) registryStep(ctx context.Context, id uuid.UUID, head domain.Event,
	check func(domain.Registry) error,
	plan func(domain.Registry, func(uuid.UUID) (domain.State, error)) ([]docPlan, error),
) (RegistryResult, error) {
	if err := s.validate(head); err != nil {
		return RegistryResult{}, err
	}
	out, err := s.execute(ctx, command{stream: RegistryStream(id), head: head, resumable: true,
		decide: func(ctx context.Context, prior []Stored, resumed bool) (step, error) {
			// A resumed step is planned on the registry as it was before it, so it plans the same
			// document events.
			reg := foldRegistry(prior)
			if !resumed {
				if err := check(reg); err != nil {
					return step{}, err
				}
			}
			return s.documentsStep(ctx, head.Actor, reg, plan)
		}})
	if err != nil {
		return RegistryResult{}, err
	}
	res := RegistryResult{RegistryID: id, EventID: head.ID, Version: out.head.Version, Position: out.head.Position,
		Hash: out.head.Hash.String()}
	for _, rec := range out.others {
		docID, _ := uuid.Parse(strings.TrimPrefix(rec.StreamID, DocumentPrefix))
		res.Documents = append(res.Documents, appendedOf(docID, rec))
	}
	return res, nil
}

// documentsStep loads the documents a registry step plans events for and decides each event
// on its document's state. Events already stored (a retried step) are reported, not written.
func (s *Service) documentsStep(ctx context.Context, actor domain.Actor, reg domain.Registry,
	plan func(domain.Registry, func(uuid.UUID) (domain.State, error)) ([]docPlan, error),
) (step, error) {
	docStored := map[uuid.UUID][]Stored{}
	load := func(doc uuid.UUID) (domain.State, error) {
		stored, err := s.loadExisting(ctx, DocumentStream(doc))
		if err != nil {
			return domain.State{}, err
		}
		docStored[doc] = stored
		return domain.Fold(doc, events(stored)), nil
	}
	plans, err := plan(reg, load)
	if err != nil {
		return step{}, err
	}
	var st step
	for _, p := range plans {
		part := eventstore.StreamAppend{StreamID: DocumentStream(p.id), Expected: eventstore.Exact(p.state.Version)}
		state := p.state
		for _, e := range p.events {
			if prior := find(docStored[p.id], e.ID); prior != nil {
				st.done = append(st.done, prior.Record)
				continue
			}
			if err := s.validate(e); err != nil {
				return step{}, fmt.Errorf("document %s: %w", p.id, err)
			}
			if err := domain.DecideValid(state, actor, e, s.now()); err != nil {
				return step{}, fmt.Errorf("document %s: %w", p.id, err)
			}
			data, err := domain.Encode(e)
			if err != nil {
				return step{}, err
			}
			state = domain.Evolve(state, e)
			part.Events = append(part.Events, eventData(e, data))
		}
		if len(part.Events) > 0 {
			st.others = append(st.others, part)
		}
	}
	return st, nil
}

func foldRegistry(stored []Stored) domain.Registry {
	r := domain.Registry{}
	for _, st := range stored {
		r = domain.EvolveRegistry(r, st.Event)
	}
	return r
}
