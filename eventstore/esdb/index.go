package esdb

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/custody-ledger/custody/eventstore"
)

// The id index. ESDB cannot look an event up by id across streams, yet the port makes an id
// stored in one stream a DuplicateConflictError in any other. So before an event is appended
// its id is bound to its stream: one event in the stream <prefix><namespace><id>, appended with
// expected revision NoStream, so the first binding wins and is permanent. An id bound to
// another stream is a conflict; an id bound to the same stream before this call may be stored
// there already (a retry) and is looked for. Index streams are outside the ledger's prefixes,
// so the global log never shows them.

const bindingType = "CustodyEventIDBound"

// binding is the stream an event id belongs to, and whether this call created the binding.
type binding struct {
	stream string
	fresh  bool
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
	var (
		mu      sync.Mutex
		out     = make(map[uuid.UUID]binding, len(jobs))
		firstEr error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, s.cfg.parallel)
	)
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			b, err := s.bind(ctx, j.id, j.stream)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstEr == nil {
				firstEr = err
			}
			out[j.id] = b
		})
	}
	wg.Wait()
	if firstEr != nil {
		return nil, firstEr
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
	_, err = s.client.AppendToStream(ctx, s.indexStream(id), kdb.AppendToStreamOptions{ExpectedRevision: kdb.NoStream{}},
		kdb.EventData{EventID: uuid.New(), EventType: bindingType, ContentType: kdb.ContentTypeJson, Data: data})
	if err == nil {
		return binding{stream: stream, fresh: true}, nil
	}
	if !isWrongExpected(err) {
		return binding{}, mapError(ctx, "id index", err)
	}
	bound, err := s.boundStream(ctx, id)
	if err != nil {
		return binding{}, err
	}
	return binding{stream: bound}, nil
}

// boundStream reads the stream an id was first bound to.
func (s *Store) boundStream(ctx context.Context, id uuid.UUID) (string, error) {
	rs, err := s.client.ReadStream(ctx, s.indexStream(id), kdb.ReadStreamOptions{Direction: kdb.Forwards, From: kdb.Start{}}, 1)
	if err != nil {
		return "", mapError(ctx, "id index", err)
	}
	defer rs.Close()
	var bd bindingData
	err = recvAll(rs, func(re *kdb.ResolvedEvent) (bool, error) {
		return false, json.Unmarshal(re.OriginalEvent().Data, &bd)
	})
	if err != nil {
		return "", mapError(ctx, "id index", err)
	}
	if bd.Stream == "" {
		return "", fmt.Errorf("esdb: id index stream %s has no binding", s.indexStream(id))
	}
	return bd.Stream, nil
}
