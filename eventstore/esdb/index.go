package esdb

import (
	"context"
	"encoding/json"
	"fmt"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/custody-ledger/custody/eventstore"
)

// The id index. ESDB cannot look an event up by id across streams, yet the port makes an id
// stored in one stream a DuplicateConflictError in any other. So before an event is appended
// its id is bound to its stream: one event in the stream <prefix><namespace><id>, appended with
// expected revision NoStream, so the first binding wins and is permanent. An id bound to
// another stream is a conflict. Every writer binds before it writes, so a stored copy of the
// event can only be in the bound stream and after the binding in $all: an append looks for its
// ids among the stream's events with a position after the earliest binding of its ids, which
// for a new request is usually none at all (the tail is older). Index streams are outside the
// ledger's prefixes, so the global log never shows them.

const bindingType = "CustodyEventIDBound"

// binding is the stream an event id belongs to and the $all position of the binding (0 if
// unknown: then the whole stream is searched).
type binding struct {
	stream   string
	position uint64
}

type bindingData struct {
	Stream string `json:"stream"`
}

func (s *Store) indexStream(id uuid.UUID) string {
	return s.cfg.idIndexPrefix + s.cfg.namespace + id.String()
}

// bindAll binds every event id of the request, a few at a time.
func (s *Store) bindAll(ctx context.Context, parts []eventstore.StreamAppend) (map[uuid.UUID]binding, error) {
	type job struct {
		id     uuid.UUID
		stream string
	}
	var jobs []job
	for _, p := range parts {
		for _, e := range p.Events {
			jobs = append(jobs, job{e.ID, p.StreamID})
		}
	}
	got := make([]binding, len(jobs))
	err := s.parallel(ctx, len(jobs), func(i int) error {
		var err error
		got[i], err = s.bind(ctx, jobs[i].id, jobs[i].stream)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]binding, len(jobs))
	for i, j := range jobs {
		out[j.id] = got[i]
	}
	return out, nil
}

// bind binds id to stream unless it is bound already, and returns the binding.
func (s *Store) bind(ctx context.Context, id uuid.UUID, stream string) (binding, error) {
	data, err := json.Marshal(bindingData{Stream: stream})
	if err != nil {
		return binding{}, fmt.Errorf("esdb: id index: %w", err)
	}
	// A random event id: the server must never answer a second binding idempotently.
	wr, err := s.client.AppendToStream(ctx, s.indexStream(id), kdb.AppendToStreamOptions{ExpectedRevision: kdb.NoStream{}},
		kdb.EventData{EventID: uuid.New(), EventType: bindingType, ContentType: kdb.ContentTypeJson, Data: data})
	if err == nil {
		return binding{stream: stream, position: writePosition(wr)}, nil
	}
	if !isWrongExpected(err) {
		return binding{}, mapError(ctx, "id index", err)
	}
	return s.readBinding(ctx, id)
}

// writePosition is the $all position of a single-event append (0 if the server gave none).
func writePosition(wr *kdb.WriteResult) uint64 {
	if wr == nil || wr.CommitPosition == noPosition || wr.CommitPosition != wr.PreparePosition {
		return 0
	}
	return wr.CommitPosition
}

// readBinding reads the binding an id got first.
func (s *Store) readBinding(ctx context.Context, id uuid.UUID) (binding, error) {
	rs, err := s.client.ReadStream(ctx, s.indexStream(id), kdb.ReadStreamOptions{Direction: kdb.Forwards, From: kdb.Start{}}, 1)
	if err != nil {
		return binding{}, mapError(ctx, "id index", err)
	}
	defer rs.Close()
	var (
		bd  bindingData
		pos uint64
	)
	err = recvAll(rs, func(re *kdb.ResolvedEvent) (bool, error) {
		pos, _ = eventPosition(re)
		return false, json.Unmarshal(re.OriginalEvent().Data, &bd)
	})
	if err != nil {
		return binding{}, mapError(ctx, "id index", err)
	}
	if bd.Stream == "" {
		return binding{}, fmt.Errorf("esdb: id index stream %s has no binding", s.indexStream(id))
	}
	return binding{stream: bd.Stream, position: pos}, nil
}

// earliestBinding is the lowest binding position of a part's ids: no stored copy of any of
// them can be at or before it.
func earliestBinding(p *eventstore.StreamAppend, bound map[uuid.UUID]binding) uint64 {
	low := uint64(noPosition)
	for _, e := range p.Events {
		low = min(low, bound[e.ID].position)
	}
	return low
}
