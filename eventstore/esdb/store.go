package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/custody-ledger/custody/eventstore"
)

// Page sizes of the reads the adapter issues.
const (
	allPage    = 512 // $all forwards/backwards, before client-side filtering
	streamPage = 256 // a stream backwards, when looking for event ids
)

// Store is the event store on a KurrentDB / EventStoreDB server or cluster.
type Store struct {
	client  *kdb.Client
	cfg     config
	once    sync.Once
	readAll readAllFunc
	allPage int
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server named by url, the client's connection string
// (esdb://user:pass@host:2113?tls=true, esdb://a:2113,b:2113,c:2113 for gossip seeds,
// esdb+discover://cluster.dns:2113 for DNS discovery), optionally with this adapter's
// parameters custodyNamespace and custodyCategories (comma-separated); kurrentdb:// is taken as
// esdb://. It checks that $all can be read before it returns.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	conf, urlOpts, err := parseConnection(url)
	if err != nil {
		return nil, err
	}
	// The URL's own parameters override the caller's defaults (an operator's custodyCategories).
	cfg, err := newConfig(append(slices.Clone(opts), urlOpts...))
	if err != nil {
		return nil, err
	}
	conf.Logger = clientLogger(cfg.logger)
	client, err := kdb.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("esdb: client: %w", err)
	}
	s := &Store{client: client, cfg: cfg, allPage: allPage}
	s.readAll = s.clientReadAll
	if _, err := s.lastRaw(ctx); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("esdb: connecting: %w", err)
	}
	return s, nil
}

// Close closes the connection; a Store cannot be used after it.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() { err = s.client.Close() })
	return err
}

// serverStream is the server's name of a port stream.
func (s *Store) serverStream(id string) string { return s.cfg.namespace + id }

// portStream maps a server stream name back, reporting whether it is one of the ledger's.
func (s *Store) portStream(name string) (string, bool) {
	if strings.HasPrefix(name, "$") {
		return "", false
	}
	for _, p := range s.cfg.filterPrefixes() {
		if strings.HasPrefix(name, p) {
			return strings.TrimPrefix(name, s.cfg.namespace), true
		}
	}
	return "", false
}

// checkStream refuses stream ids the global log would not show.
func (s *Store) checkStream(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty stream id", eventstore.ErrInvalid)
	}
	if _, ok := s.portStream(s.serverStream(id)); !ok {
		return fmt.Errorf("%w: stream %q is outside the ledger's prefixes %q, so the global log would not show it",
			eventstore.ErrInvalid, id, s.cfg.categories)
	}
	return nil
}

// validate refuses what every adapter refuses (eventstore.ValidateAppend), and what only this
// one must: streams the global log would not show, nil ids and event types that are the
// server's ($-prefixed).
func (s *Store) validate(parts []eventstore.StreamAppend) error {
	if err := eventstore.ValidateAppend(parts); err != nil {
		return err
	}
	for _, p := range parts {
		if err := s.checkStream(p.StreamID); err != nil {
			return err
		}
		for _, e := range p.Events {
			if e.ID == uuid.Nil {
				return fmt.Errorf("%w: nil event id", eventstore.ErrInvalid)
			}
			if e.Type == "" || strings.HasPrefix(e.Type, "$") {
				return fmt.Errorf("%w: event type %q (empty or the server's)", eventstore.ErrInvalid, e.Type)
			}
		}
	}
	return nil
}

// partState is one part of an append request on its way through AppendMulti.
type partState struct {
	p      *eventstore.StreamAppend
	tail   tail
	done   bool
	result eventstore.AppendResult
}

// AppendMulti writes several streams. The server has no multi-stream transaction, so this is
// all-or-nothing only up to the writes: everything is checked first (ids, duplicates, expected
// versions), then the parts are appended one by one in stream-id order. If one fails after
// others were written, the error is a *PartialAppendError; retrying the same request completes
// it. See the package documentation for the exact guarantees.
func (s *Store) AppendMulti(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("esdb: append: %w", err)
	}
	if err := s.validate(appends); err != nil {
		return nil, err
	}
	batch := batchDigest(appends)

	// 1. Bind every event id to its stream in the id index; an id bound elsewhere is stored
	// (or was proposed) there.
	bound, err := s.bindAll(ctx, appends)
	if err != nil {
		return nil, err
	}
	for _, p := range appends {
		for _, e := range p.Events {
			if b := bound[e.ID]; b.stream != p.StreamID {
				return nil, &eventstore.DuplicateConflictError{EventID: e.ID, StreamID: b.stream}
			}
		}
	}

	// 2. Read each tail, then look for the part's ids among the events written after their
	// binding. The tail comes first: anything written after it makes our exact-revision append
	// fail, and is then searched too.
	states := make([]partState, len(appends))
	err = s.parallel(ctx, len(appends), func(i int) error {
		st := &states[i]
		st.p = &appends[i]
		var err error
		if st.tail, err = s.readTail(ctx, st.p.StreamID); err != nil {
			return err
		}
		since := earliestBinding(st.p, bound)
		if st.tail.version == 0 || (since != 0 && st.tail.position < since) {
			return nil // nothing written since the ids were bound: a new append
		}
		found, err := s.findEvents(ctx, st.p.StreamID, st.p.Events, 0, st.tail.version, since)
		if err != nil {
			return err
		}
		outcome, res, err := classifyPart(st.p, found, batch)
		if err != nil {
			return err
		}
		if outcome == partDone {
			st.done, st.result = true, res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// 3. Check every remaining part's expected version before writing anything.
	var todo []*partState
	for i := range states {
		st := &states[i]
		if st.done {
			continue
		}
		if err := st.p.Expected.Check(st.p.StreamID, st.tail.version); err != nil {
			return nil, s.partial(states, st.p.StreamID, err)
		}
		todo = append(todo, st)
	}

	// 4. Write, in a deterministic order so that concurrent hand-overs contend the same way.
	slices.SortFunc(todo, func(a, b *partState) int { return strings.Compare(a.p.StreamID, b.p.StreamID) })
	for _, st := range todo {
		res, err := s.writePart(ctx, st, batch)
		if err != nil {
			return nil, s.partial(states, st.p.StreamID, err)
		}
		st.done, st.result = true, res
	}
	out := make([]eventstore.AppendResult, len(states))
	for i := range states {
		out[i] = states[i].result
	}
	return out, nil
}

// parallel runs fn(0..n-1), a few at a time (the server handles concurrent requests well; one
// request per stream or id would otherwise add round trips to every hand-over). It returns the
// error of the lowest index, so that which conflict is reported does not depend on timing.
func (s *Store) parallel(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(1, s.cfg.parallel))
	var wg sync.WaitGroup
	for i := range n {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// partial returns err as is when nothing of the request is stored, else a PartialAppendError.
func (s *Store) partial(states []partState, failed string, err error) error {
	var applied []eventstore.AppendResult
	for i := range states {
		if states[i].done {
			applied = append(applied, states[i].result)
		}
	}
	if len(applied) == 0 {
		return err
	}
	return &PartialAppendError{Applied: applied, Failed: failed, Err: err}
}

// writePart appends one part with the exact revision of the tail it read, so that the hash
// chain links to the event that really precedes it. Another writer in between makes the
// server refuse it; then the stream is searched for our own events (a concurrent retry of the
// same request), and an Exact expectation becomes a VersionConflictError while Any and
// StreamExists are re-sealed on the new tail and tried again.
func (s *Store) writePart(ctx context.Context, st *partState, batch string) (eventstore.AppendResult, error) {
	p := st.p
	for attempt := 1; ; attempt++ {
		recs := seal(p, st.tail, s.cfg.now())
		evs := make([]kdb.EventData, len(recs))
		for i := range recs {
			ev, err := encodeEvent(&recs[i], batch)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			evs[i] = ev
		}
		_, err := s.client.AppendToStream(ctx, s.serverStream(p.StreamID),
			kdb.AppendToStreamOptions{ExpectedRevision: revisionAt(st.tail.version)}, evs...)
		if err == nil {
			return s.readBack(ctx, st, recs, batch)
		}
		if !isWrongExpected(err) {
			return eventstore.AppendResult{}, mapError(ctx, "append to "+p.StreamID, err)
		}
		old := st.tail
		if st.tail, err = s.readTail(ctx, p.StreamID); err != nil {
			return eventstore.AppendResult{}, err
		}
		found, err := s.findEvents(ctx, p.StreamID, p.Events, old.version, st.tail.version, 0)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		outcome, res, err := classifyPart(p, found, batch)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if outcome == partDone {
			return res, nil
		}
		if p.Expected >= 0 {
			return eventstore.AppendResult{}, &eventstore.VersionConflictError{StreamID: p.StreamID, Expected: p.Expected, Actual: st.tail.version}
		}
		if err := p.Expected.Check(p.StreamID, st.tail.version); err != nil {
			return eventstore.AppendResult{}, err
		}
		if attempt >= s.cfg.appendAttempts {
			return eventstore.AppendResult{}, eventstore.Unavailable(fmt.Errorf("esdb: append to %s: still contended after %d attempts", p.StreamID, attempt))
		}
	}
}

// readBack reads the events just appended: the write result carries only the last commit
// position, and when a concurrent retry of the same request wrote the same ids first the
// server answers our append idempotently without writing, so what is stored may differ from
// what we sealed (RecordedAt). The stored records are the truth.
func (s *Store) readBack(ctx context.Context, st *partState, sealed []eventstore.Record, batch string) (eventstore.AppendResult, error) {
	p := st.p
	got, err := s.readStream(ctx, p.StreamID, st.tail.version+1, len(sealed))
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: reading back %s: %w", p.StreamID, err)
	}
	if len(got) == len(sealed) {
		same := true
		for i := range got {
			same = same && got[i].rec.EventID == sealed[i].EventID && got[i].rec.Hash == sealed[i].Hash
		}
		if same {
			recs := make([]eventstore.Record, len(got))
			for i := range got {
				recs[i] = got[i].rec
			}
			return eventstore.AppendResult{StreamID: p.StreamID, Version: recs[len(recs)-1].Version, Records: recs}, nil
		}
	}
	// Not what we sealed: find our ids wherever they are in the stream.
	last, err := s.readTail(ctx, p.StreamID)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	found, err := s.findEvents(ctx, p.StreamID, p.Events, 0, last.version, 0)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	outcome, res, err := classifyPart(p, found, batch)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if outcome != partDone {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %s acknowledged but its events are not in the stream", p.StreamID)
	}
	return res, nil
}

// readTail reads a stream's last event (version 0 for a stream with no events).
func (s *Store) readTail(ctx context.Context, stream string) (tail, error) {
	rs, err := s.client.ReadStream(ctx, s.serverStream(stream),
		kdb.ReadStreamOptions{Direction: kdb.Backwards, From: kdb.End{}}, 1)
	if err != nil {
		return tail{}, mapError(ctx, "read "+stream, err)
	}
	defer rs.Close()
	var t tail
	err = recvAll(rs, func(re *kdb.ResolvedEvent) (bool, error) {
		st, err := s.decodeStreamEvent(re, stream)
		if err != nil {
			return false, err
		}
		t = tail{version: st.rec.Version, position: st.rec.Position, hash: st.rec.Hash, recordedAt: st.rec.RecordedAt}
		return false, nil
	})
	if err != nil && isNotFound(err) {
		return tail{}, nil
	}
	if err != nil {
		return tail{}, mapError(ctx, "read "+stream, err)
	}
	return t, nil
}

// findEvents looks for the given ids among the stream's versions (from, to] with a position
// after since, newest first, stopping as soon as all are found.
func (s *Store) findEvents(ctx context.Context, stream string, events []eventstore.EventData, from, to, since uint64) (map[uuid.UUID]stored, error) {
	want := make(map[uuid.UUID]bool, len(events))
	for _, e := range events {
		want[e.ID] = true
	}
	found := map[uuid.UUID]stored{}
	for next := to; next > from && len(found) < len(want); {
		rs, err := s.client.ReadStream(ctx, s.serverStream(stream),
			kdb.ReadStreamOptions{Direction: kdb.Backwards, From: kdb.Revision(next - 1)}, streamPage)
		if err != nil {
			return nil, mapError(ctx, "read "+stream, err)
		}
		n := 0
		err = recvAll(rs, func(re *kdb.ResolvedEvent) (bool, error) {
			n++
			ev := re.OriginalEvent()
			next = ev.EventNumber // the version just below this event's
			if versionOf(ev.EventNumber) <= from {
				return false, nil
			}
			// Strictly before: since is the binding's own position, which no ledger event has.
			if pos, ok := eventPosition(re); ok && since != 0 && pos < since {
				next = 0 // older than the bindings: no copy can be here or below
				return false, nil
			}
			if want[ev.EventID] {
				st, err := s.decodeStreamEvent(re, stream)
				if err != nil {
					return false, err
				}
				found[ev.EventID] = st
			}
			return len(found) < len(want), nil
		})
		rs.Close()
		if err != nil && isNotFound(err) {
			break
		}
		if err != nil {
			return nil, mapError(ctx, "read "+stream, err)
		}
		if n < streamPage {
			break
		}
	}
	return found, nil
}

func (s *Store) decodeStreamEvent(re *kdb.ResolvedEvent, stream string) (stored, error) {
	pos, ok := eventPosition(re)
	if !ok {
		return stored{}, fmt.Errorf("esdb: %s: the server sends no $all position with stream reads (KurrentDB/EventStoreDB 22.10 or later is required)", stream)
	}
	return decodeEvent(re.OriginalEvent(), stream, pos)
}

// ReadStream returns up to limit events of a stream with Version >= from, oldest first.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("esdb: read %s: %w", stream, err)
	}
	if stream == "" {
		return nil, fmt.Errorf("%w: empty stream id", eventstore.ErrInvalid)
	}
	got, err := s.readStream(ctx, stream, from, limit)
	if err != nil {
		return nil, err
	}
	out := make([]eventstore.Record, len(got))
	for i := range got {
		out[i] = got[i].rec
	}
	return out, nil
}

func (s *Store) readStream(ctx context.Context, stream string, from uint64, limit int) ([]stored, error) {
	rs, err := s.client.ReadStream(ctx, s.serverStream(stream),
		kdb.ReadStreamOptions{Direction: kdb.Forwards, From: streamFrom(from)}, readCount(limit))
	if err != nil {
		return nil, mapError(ctx, "read "+stream, err)
	}
	defer rs.Close()
	var out []stored
	err = recvAll(rs, func(re *kdb.ResolvedEvent) (bool, error) {
		st, err := s.decodeStreamEvent(re, stream)
		if err != nil {
			return false, err
		}
		out = append(out, st)
		return limit <= 0 || len(out) < limit, nil
	})
	if err != nil {
		// A missing stream is ErrNotFound from any version; past the end of one is empty.
		return nil, mapError(ctx, "read "+stream, err)
	}
	return out, nil
}

// recvAll reads a server read until its end, or until fn returns false or an error.
func recvAll(rs *kdb.ReadStream, fn func(*kdb.ResolvedEvent) (bool, error)) error {
	for {
		re, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if re.OriginalEvent() == nil {
			continue // a link to a deleted event
		}
		more, err := fn(re)
		if err != nil || !more {
			return err
		}
	}
}
