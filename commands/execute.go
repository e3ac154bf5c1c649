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
//
// The first attempt asks the store nothing when it need not (issue 14): it decides on the
// stream as this process's cache holds it, or on an empty stream when the stream is not cached
// and the command may start it, and lets the append's exact expected version judge that
// state. Only a written append is trusted so: any other outcome (a refusal, a conflict, an
// error) is decided again on the stream read from the store, so no answer rests on a stale
// cache, and several processes on one store stay correct.
func (s *Service) execute(ctx context.Context, c command) (outcome, error) {
	data, err := domain.Encode(c.head)
	if err != nil {
		return outcome{}, err
	}
	read := s.cache == nil
	for attempt := 0; ; {
		var prior []Stored
		if read {
			if prior, err = s.load(ctx, c.stream); err != nil {
				return outcome{}, err
			}
		} else if prior = s.cache.get(c.stream); prior == nil && c.missing != nil {
			read = true // not cached, and it must exist: only the store can say
			continue
		}
		out, written, err := s.try(ctx, c, data, prior)
		if !read {
			if err == nil && written != nil {
				s.remember(written)
				return out, nil
			}
			if err == nil && written == nil && len(prior) > 0 {
				return out, nil // answered from stored events (a retry): they hold
			}
			if overtaken(err, c.head.ID) || errors.Is(err, eventstore.ErrDuplicateConflict) {
				s.cache.drop(c.stream)
			}
			read = true // a refusal too is given only on what the store holds
			continue
		}
		if overtaken(err, c.head.ID) || errors.Is(err, eventstore.ErrDuplicateConflict) {
			s.cache.drop(c.stream) // read the stream whole again: what we had did not hold
		}
		if c.ifMatch == nil && attempt < s.retries && overtaken(err, c.head.ID) {
			attempt++
			continue
		}
		if err != nil {
			return outcome{}, err
		}
		s.remember(written)
		return out, nil
	}
}

// try decides the command on prior, the stream's events, and appends what it decided. written
// is what the append stored, nil when nothing was appended (a retry answered from prior).
func (s *Service) try(ctx context.Context, c command, data []byte, prior []Stored) (outcome, []eventstore.AppendResult, error) {
	var stored *eventstore.Record
	switch p := find(prior, c.head.ID); {
	case p != nil:
		rec, err := replayed(p, data)
		if err != nil || !c.resumable {
			return outcome{head: rec}, nil, err
		}
		stored, prior = &rec, prior[:p.Version-1]
	case c.missing != nil && len(prior) == 0:
		return outcome{}, nil, c.missing
	case c.ifMatch != nil && *c.ifMatch != uint64(len(prior)):
		return outcome{}, nil, &eventstore.VersionConflictError{StreamID: c.stream,
			Expected: eventstore.Exact(*c.ifMatch), Actual: uint64(len(prior))}
	}
	st, err := c.decide(ctx, prior, stored != nil)
	if err != nil {
		return outcome{}, nil, err
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
		return out, nil, nil // a retry of a completed step: the first answer
	}
	written, err := s.store.AppendMulti(ctx, parts...)
	if err != nil {
		return outcome{}, nil, fmt.Errorf("append to %s: %w", c.stream, err)
	}
	for _, w := range written {
		if w.StreamID == c.stream {
			out.head = w.Records[0]
		} else {
			out.others = append(out.others, w.Records...)
		}
	}
	return out, written, nil
}

// remember adds what an append stored to the cached streams it continues, so the next command
// on them need not read them back.
func (s *Service) remember(written []eventstore.AppendResult) {
	for _, w := range written {
		s.cache.extend(w.StreamID, w.Records)
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
