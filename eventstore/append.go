package eventstore

import (
	"fmt"

	"github.com/google/uuid"
)

// ValidateAppend refuses, with ErrInvalid, the malformed requests every adapter refuses: no
// parts, an empty stream id, a part without events, a stream named twice, an event id used
// twice in one request, or an expected version that is none of the defined kinds.
func ValidateAppend(parts []StreamAppend) error {
	if len(parts) == 0 {
		return fmt.Errorf("%w: no streams to append to", ErrInvalid)
	}
	streams := make(map[string]struct{}, len(parts))
	ids := map[uuid.UUID]struct{}{}
	for _, p := range parts {
		if p.StreamID == "" {
			return fmt.Errorf("%w: empty stream id", ErrInvalid)
		}
		if _, ok := streams[p.StreamID]; ok {
			return fmt.Errorf("%w: stream %s named twice", ErrInvalid, p.StreamID)
		}
		streams[p.StreamID] = struct{}{}
		if len(p.Events) == 0 {
			return fmt.Errorf("%w: no events for stream %s", ErrInvalid, p.StreamID)
		}
		if p.Expected < StreamExists {
			return fmt.Errorf("%w: expected version %d", ErrInvalid, int64(p.Expected))
		}
		for _, e := range p.Events {
			if _, ok := ids[e.ID]; ok {
				return fmt.Errorf("%w: event id %s used twice", ErrInvalid, e.ID)
			}
			ids[e.ID] = struct{}{}
		}
	}
	return nil
}

// MatchRetry decides whether a validated append request is an idempotent retry. stored holds
// the records already stored under any of the request's event ids (the adapter looks them up
// in its durable data, never only in a cache). It returns:
//   - (nil, false, nil) when none of the ids is stored: a new append, to be checked against
//     the expected versions and written;
//   - (results, true, nil) when every event is stored, in the same stream, with the same
//     content, at consecutive versions in request order: the original results, to be returned
//     without writing anything, whatever the expected versions;
//   - a *DuplicateConflictError otherwise, naming the first event in request order that is
//     stored with other content or in another stream, else the first stored event of a request
//     that is only partly stored or reordered.
func MatchRetry(parts []StreamAppend, stored map[uuid.UUID]Record) ([]AppendResult, bool, error) {
	if len(stored) == 0 {
		return nil, false, nil
	}
	var (
		firstStored *Record
		missing     bool
	)
	for _, p := range parts {
		for i := range p.Events {
			e := &p.Events[i]
			r, ok := stored[e.ID]
			if !ok {
				missing = true
				continue
			}
			if r.StreamID != p.StreamID || !SameContent(&r, e) {
				return nil, false, &DuplicateConflictError{EventID: e.ID, StreamID: r.StreamID}
			}
			if firstStored == nil {
				firstStored = &r
			}
		}
	}
	if firstStored == nil {
		return nil, false, nil // stored held only unrelated ids
	}
	conflict := &DuplicateConflictError{EventID: firstStored.EventID, StreamID: firstStored.StreamID}
	if missing {
		return nil, false, conflict
	}
	results := make([]AppendResult, len(parts))
	for k, p := range parts {
		recs := make([]Record, len(p.Events))
		for i, e := range p.Events {
			recs[i] = stored[e.ID]
			if i > 0 && recs[i].Version != recs[i-1].Version+1 {
				return nil, false, conflict
			}
		}
		results[k] = AppendResult{StreamID: p.StreamID, Version: recs[len(recs)-1].Version, Records: recs}
	}
	return results, true, nil
}
