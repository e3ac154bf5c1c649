// Package commands is the ledger's write side: it loads a stream, asks domain whether the
// actor may record an event now, and appends with the exact expected version, re-reading and
// deciding again when a concurrent writer got there first. Every write is idempotent by event
// id: a retry returns the first answer and writes nothing.
package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore"
)

// Stream names are domain's (DOMAIN.md); these aliases keep the write side's callers short.
const (
	DocumentPrefix     = domain.DocumentPrefix
	RegistryPrefix     = domain.RegistryPrefix
	ForceMajeurePrefix = domain.ForceMajeurePrefix
	DisputePrefix      = domain.DisputePrefix
)

func DocumentStream(id uuid.UUID) string     { return domain.DocumentStream(id) }
func RegistryStream(id uuid.UUID) string     { return domain.RegistryStream(id) }
func ForceMajeureStream(id uuid.UUID) string { return domain.ForceMajeureStream(id) }
func DisputeStream(id uuid.UUID) string      { return domain.DisputeStream(id) }

// Namespaces for ids the server derives, so that a retried request derives the same ids.
var (
	nsDocument     = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0001")
	nsRegistry     = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0002")
	nsForceMajeure = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0003")
	nsDispute      = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0004")
	nsIdempotency  = uuid.MustParse("6b1f0e0a-4c55-4f65-9d0c-2a7a5a1d0005")
)

// DocumentIDFor derives a new document's id from the event that starts it.
func DocumentIDFor(eventID uuid.UUID) uuid.UUID { return uuid.NewSHA1(nsDocument, eventID[:]) }

// EventIDFromKey derives an event id from a client's Idempotency-Key header, scoped by the
// key's owner so two integrators never collide.
func EventIDFromKey(owner, key string) uuid.UUID {
	return uuid.NewSHA1(nsIdempotency, []byte(owner+"\x00"+key))
}

// ErrNotFound: no such document, registry or dispute.
var ErrNotFound = errors.New("not found")

// Service runs commands against one event store.
type Service struct {
	store     eventstore.Store
	now       func() time.Time
	retries   int
	pilot     *domain.Pilot        // nil: the embedded catalogue's (pilot.go)
	cache     *streamCache         // nil: every load reads and decodes the whole stream
	catalogue *catalogue.Catalogue // the services applications name (applications.go)
	hours     services.OfficeHours // the units' office hours for their clocks (applications.go)
	calendar  *calendar.Calendar   // nil: the embedded one; its years bound an event's times
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests, the deadline watch's simulated time).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRetries bounds how often a command re-reads and decides again after a version conflict.
func WithRetries(n int) Option { return func(s *Service) { s.retries = n } }

// WithCache keeps up to n recently used streams decoded (0: none); DefaultCacheStreams
// otherwise.
func WithCache(n int) Option { return func(s *Service) { s.cache = newStreamCache(n) } }

// WithCalendar sets the working-day calendar the service runs with (an operator's override
// applied): an event's times must lie in its years.
func WithCalendar(c *calendar.Calendar) Option { return func(s *Service) { s.calendar = c } }

// Calendar returns the working-day calendar the service runs with; the read models and the
// deadline watch take it from here, so one override reaches every deadline.
func (s *Service) Calendar() *calendar.Calendar {
	if s.calendar == nil {
		return calendar.Default()
	}
	return s.calendar
}

// validate checks an event's fields and times against the service's calendar.
func (s *Service) validate(e domain.Event) error {
	return domain.ValidateEventIn(e, s.Calendar())
}

// New returns a Service on store.
func New(store eventstore.Store, opts ...Option) *Service {
	s := &Service{store: store, now: time.Now, retries: 8, cache: newStreamCache(DefaultCacheStreams)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store returns the event store the service writes to.
func (s *Service) Store() eventstore.Store { return s.store }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Appended is the answer to an append (API: 201 body).
type Appended struct {
	DocumentID uuid.UUID `json:"document_id"`
	EventID    uuid.UUID `json:"event_id"`
	Version    uint64    `json:"version"`
	Position   uint64    `json:"position"`
	Hash       string    `json:"hash"`
}

func appendedOf(id uuid.UUID, r eventstore.Record) Appended {
	return Appended{DocumentID: id, EventID: r.EventID, Version: r.Version, Position: r.Position, Hash: r.Hash.String()}
}

// Stored is a stored record with its decoded event.
type Stored struct {
	eventstore.Record
	Event domain.Event
}

// load reads a whole stream and decodes it. A missing stream is empty, not an error.
// A cached prefix is continued: the read starts at its last event, which must come back the
// same (it proves the prefix is this stream's), and only the events after it are decoded.
func (s *Service) load(ctx context.Context, stream string) ([]Stored, error) {
	prefix := s.cache.get(stream)
	from := uint64(1)
	if n := len(prefix); n > 0 {
		from = uint64(n)
	}
	recs, err := s.store.ReadStream(ctx, stream, from, 0)
	if errors.Is(err, eventstore.ErrNotFound) {
		if prefix != nil { // a store reset under us
			s.cache.drop(stream)
			return s.load(ctx, stream)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	if len(prefix) > 0 {
		if len(recs) == 0 || recs[0].EventID != prefix[len(prefix)-1].EventID {
			s.cache.drop(stream) // not this stream's prefix (a store reset under us): read it whole
			return s.load(ctx, stream)
		}
		recs = recs[1:]
	}
	out := make([]Stored, len(prefix), len(prefix)+len(recs))
	copy(out, prefix)
	for _, r := range recs {
		st, err := decodeStored(r)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	s.cache.put(stream, out)
	return slices.Clip(out), nil
}

// decodeStored decodes a stored record once, leniently: it was validated when written.
func decodeStored(r eventstore.Record) (Stored, error) {
	e, err := domain.DecodeStored(r.Data)
	if err != nil {
		return Stored{}, fmt.Errorf("decode %s@%d: %w", r.StreamID, r.Version, err)
	}
	return Stored{Record: r, Event: e}, nil
}

// loadExisting is load for a stream that must hold events: an empty one is ErrNotFound.
func (s *Service) loadExisting(ctx context.Context, stream string) ([]Stored, error) {
	stored, err := s.load(ctx, stream)
	if err == nil && len(stored) == 0 {
		err = fmt.Errorf("%s: %w", stream, ErrNotFound)
	}
	return stored, err
}

func find(stored []Stored, id uuid.UUID) *Stored {
	for i := range stored {
		if stored[i].EventID == id {
			return &stored[i]
		}
	}
	return nil
}

// replayed answers a retry: the event id is already in this stream. Same bytes: the first
// answer. Different bytes: a duplicate conflict.
func replayed(prior *Stored, data []byte) (eventstore.Record, error) {
	if bytes.Equal(prior.Data, data) {
		return prior.Record, nil
	}
	return eventstore.Record{}, &eventstore.DuplicateConflictError{EventID: prior.EventID, StreamID: prior.StreamID}
}

func eventData(e domain.Event, data []byte) eventstore.EventData {
	return eventstore.EventData{ID: e.ID, Type: string(e.Type), SchemaVersion: domain.SchemaVersion, Data: data}
}

func events(stored []Stored) []domain.Event {
	out := make([]domain.Event, len(stored))
	for i, s := range stored {
		out[i] = s.Event
	}
	return out
}

// Document returns a document's current state and its stored events.
func (s *Service) Document(ctx context.Context, id uuid.UUID) (domain.State, []Stored, error) {
	stored, err := s.loadExisting(ctx, DocumentStream(id))
	if err != nil {
		return domain.State{}, nil, err
	}
	return domain.Fold(id, events(stored)), stored, nil
}

// Replay returns a document folded once with its intervals and charges (domain.ReplayStream),
// and its stored events.
func (s *Service) Replay(ctx context.Context, id uuid.UUID) (domain.Replay, []Stored, error) {
	stored, err := s.loadExisting(ctx, DocumentStream(id))
	if err != nil {
		return domain.Replay{}, nil, err
	}
	return domain.ReplayStream(id, events(stored)), stored, nil
}

// DocumentAsOf returns the state as it was at moment t: the events that had occurred by then.
// (Occurred times never go back within a stream, so this is a prefix of the stream.)
func (s *Service) DocumentAsOf(ctx context.Context, id uuid.UUID, t time.Time) (domain.State, []Stored, error) {
	_, stored, err := s.Document(ctx, id)
	if err != nil {
		return domain.State{}, nil, err
	}
	n := 0
	for n < len(stored) && !stored[n].Event.OccurredAt.After(t) {
		n++
	}
	return domain.Fold(id, events(stored[:n])), stored[:n], nil
}

// AppendEvent records one event on a document's stream for actor; DeliveryRequested and
// DocumentIssued may start the stream. ifMatch, when given, is the client's If-Match: a
// mismatch is a version conflict, returned as is and never retried. Without it a conflict with
// a concurrent writer is resolved by reading and deciding again.
func (s *Service) AppendEvent(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64) (Appended, error) {
	return s.appendDocument(ctx, actor, e, ifMatch, false)
}

// AppendToDocument is AppendEvent on a document that must exist: an empty stream is
// ErrNotFound, whatever the event (streams start only through AppendEvent).
func (s *Service) AppendToDocument(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64) (Appended, error) {
	return s.appendDocument(ctx, actor, e, ifMatch, true)
}

func (s *Service) appendDocument(ctx context.Context, actor domain.Actor, e domain.Event, ifMatch *uint64, mustExist bool) (Appended, error) {
	if err := s.validate(e); err != nil {
		return Appended{}, err
	}
	c := command{stream: DocumentStream(e.DocumentID), head: e, ifMatch: ifMatch,
		decide: func(ctx context.Context, prior []Stored, _ bool) (step, error) {
			if err := domain.DecideValid(domain.Fold(e.DocumentID, events(prior)), actor, e, s.now()); err != nil {
				return step{}, err
			}
			return step{}, s.pilotChecks(ctx, e)
		}}
	if mustExist {
		c.missing = fmt.Errorf("document %s: %w", e.DocumentID, ErrNotFound)
	}
	out, err := s.execute(ctx, c)
	return appendedOf(e.DocumentID, out.head), err
}

// appendOnce writes a single validated event to a force-majeure or dispute stream, judged by
// check over the stream's stored events.
func (s *Service) appendOnce(ctx context.Context, stream string, e domain.Event, missing error, check func([]Stored) error) (Appended, error) {
	if err := s.validate(e); err != nil {
		return Appended{}, err
	}
	out, err := s.execute(ctx, command{stream: stream, head: e, missing: missing,
		decide: func(_ context.Context, prior []Stored, _ bool) (step, error) { return step{}, check(prior) }})
	return appendedOf(e.DocumentID, out.head), err
}
