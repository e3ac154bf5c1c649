package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// command is one write: an event (head) on one stream, and the decision whether the stream's
// state admits it. Document events, force majeure, disputes and registry steps are all
// commands, run by execute.
type command struct {
	stream string
	head   domain.Event // validated by the caller; its id makes the command idempotent
	// missing, when set, is returned for an empty stream: the command needs an existing one.
	missing error
	// ifMatch, when set, is the version the client expects the stream at (If-Match); a
	// mismatch is a version conflict, returned as is and never retried.
	ifMatch *uint64
	// decide judges the command on the stream's stored events before it. It returns the events
	// other streams get with the head, written in the same atomic append (a registry step's
	// document events).
	decide func(ctx context.Context, prior []Stored, resumed bool) (step, error)
	// resumable: when the head is stored already, decide is asked again (resumed = true, prior =
	// the events before the head) for what the step still owes other streams, so a retry
	// completes a step a store without atomic multi-stream appends left half done.
	resumable bool
}

// step is what a decision adds to the head.
type step struct {
	others []eventstore.StreamAppend // events for other streams, appended with the head
	done   []eventstore.Record       // events of this step other streams already hold (a retry)
}

// outcome is what a command wrote, or had written when it is a retry.
type outcome struct {
	head   eventstore.Record
	others []eventstore.Record // the step's events on other streams, stored before or now
}

// execute runs a command: load the stream, answer a retry with the first answer, decide, and
// append with the exact expected version; when a concurrent writer got there first (a version
// conflict, or one of the step's derived event ids already stored), read and decide again.
func (s *Service) execute(ctx context.Context, c command) (outcome, error) {
	data, err := domain.Encode(c.head)
	if err != nil {
		return outcome{}, err
	}
	for attempt := 0; ; attempt++ {
		prior, err := s.load(ctx, c.stream)
		if err != nil {
			return outcome{}, err
		}
		var stored *eventstore.Record
		switch p := find(prior, c.head.ID); {
		case p != nil:
			rec, err := replayed(p, data)
			if err != nil || !c.resumable {
				return outcome{head: rec}, err
			}
			stored, prior = &rec, prior[:p.Version-1]
		case c.missing != nil && len(prior) == 0:
			return outcome{}, c.missing
		case c.ifMatch != nil && *c.ifMatch != uint64(len(prior)):
			return outcome{}, &eventstore.VersionConflictError{StreamID: c.stream,
				Expected: eventstore.Exact(*c.ifMatch), Actual: uint64(len(prior))}
		}
		st, err := c.decide(ctx, prior, stored != nil)
		if err != nil {
			return outcome{}, err
		}
		out := outcome{others: st.done}
		parts := st.others
		if stored == nil {
			parts = append(parts, eventstore.StreamAppend{StreamID: c.stream,
				Expected: eventstore.Exact(uint64(len(prior))), Events: []eventstore.EventData{eventData(c.head, data)}})
		} else {
			out.head = *stored
		}
		if len(parts) == 0 {
			return out, nil // a retry of a completed step: the first answer
		}
		written, err := s.store.AppendMulti(ctx, parts...)
		if overtaken(err, c.head.ID) || errors.Is(err, eventstore.ErrDuplicateConflict) {
			s.cache.drop(c.stream) // read the stream whole again: what we had did not hold
		}
		if c.ifMatch == nil && attempt < s.retries && overtaken(err, c.head.ID) {
			continue
		}
		if err != nil {
			return outcome{}, fmt.Errorf("append to %s: %w", c.stream, err)
		}
		for _, w := range written {
			if w.StreamID == c.stream {
				out.head = w.Records[0]
			} else {
				out.others = append(out.others, w.Records...)
			}
		}
		return out, nil
	}
}

// overtaken reports whether an append failed because another writer changed the streams: a
// version conflict, or an event id the step derived already stored with other content (a
// concurrent step of the same registry). The head's own id stored elsewhere is the client's
// duplicate, not a race.
func overtaken(err error, head uuid.UUID) bool {
	var dup *eventstore.DuplicateConflictError
	return errors.Is(err, eventstore.ErrVersionConflict) || (errors.As(err, &dup) && dup.EventID != head)
}
