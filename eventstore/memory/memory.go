// Package memory is an in-process eventstore.Store for unit tests of other packages. It keeps
// everything in memory behind one mutex; Reopen gives a new handle on the same events, as a
// restart would, so the conformance suite can test durability and idempotency across restarts.
package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/eventstore"
)

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("memory: store closed")

// data is what survives a Close: the log and its indexes.
type data struct {
	mu      sync.RWMutex
	log     []eventstore.Record // log[i] has Position i+1
	streams map[string][]int    // stream id -> indexes into log, by version
	ids     map[uuid.UUID]int   // event id -> index into log
	notify  eventstore.Notifier // signalled after every commit and on Close
	now     func() time.Time    // the server clock
}

// Store is an in-memory event store. It is safe for concurrent use.
type Store struct {
	d      *data
	closed atomic.Bool
}

var _ eventstore.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{d: &data{streams: map[string][]int{}, ids: map[uuid.UUID]int{}, now: time.Now}}
}

// Reopen returns a new open handle on the same events, as a process restart would see them.
// It works on a closed store too.
func (s *Store) Reopen() *Store { return &Store{d: s.d} }

// Close closes this handle; the events stay available to Reopen.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.d.notify.Notify() // let subscribers notice
	return nil
}

func (s *Store) check(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %s: %w", op, err)
	}
	if s.closed.Load() {
		return fmt.Errorf("memory: %s: %w", op, ErrClosed)
	}
	return nil
}

// AppendMulti writes to several streams atomically.
func (s *Store) AppendMulti(ctx context.Context, parts ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(parts); err != nil {
		return nil, fmt.Errorf("memory: append: %w", err)
	}
	if err := s.check(ctx, "append"); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.Lock()
	results, err := d.appendLocked(parts)
	d.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("memory: append: %w", err)
	}
	d.notify.Notify()
	return results, nil
}

func (d *data) appendLocked(parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	var stored map[uuid.UUID]eventstore.Record
	for _, p := range parts {
		for _, e := range p.Events {
			if i, ok := d.ids[e.ID]; ok {
				if stored == nil {
					stored = map[uuid.UUID]eventstore.Record{}
				}
				stored[e.ID] = copyRecord(d.log[i])
			}
		}
	}
	if results, retry, err := eventstore.MatchRetry(parts, stored); err != nil || retry {
		return results, err
	}
	for _, p := range parts {
		if err := p.Expected.Check(p.StreamID, uint64(len(d.streams[p.StreamID]))); err != nil {
			return nil, err
		}
	}
	now := d.now()
	results := make([]eventstore.AppendResult, len(parts))
	for k, p := range parts {
		idx := d.streams[p.StreamID]
		var prev eventstore.Hash
		if n := len(idx); n > 0 {
			prev = d.log[idx[n-1]].Hash
		}
		recs := make([]eventstore.Record, len(p.Events))
		for i, e := range p.Events {
			r := eventstore.Record{
				StreamID:      p.StreamID,
				Version:       uint64(len(idx) + 1),
				Position:      uint64(len(d.log) + 1),
				EventID:       e.ID,
				Type:          e.Type,
				SchemaVersion: e.SchemaVersion,
				Data:          bytes.Clone(e.Data), // the caller may reuse its buffers
				Metadata:      bytes.Clone(e.Metadata),
				RecordedAt:    now,
			}
			eventstore.Seal(prev, &r)
			prev = r.Hash
			idx = append(idx, len(d.log))
			d.ids[e.ID] = len(d.log)
			d.log = append(d.log, r)
			recs[i] = copyRecord(r)
		}
		d.streams[p.StreamID] = idx
		results[k] = eventstore.AppendResult{StreamID: p.StreamID, Version: uint64(len(idx)), Records: recs}
	}
	return results, nil
}

// ReadStream returns up to limit events of a stream with Version >= from.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	if err := s.check(ctx, "read stream"); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.RLock()
	defer d.mu.RUnlock()
	idx, ok := d.streams[stream]
	if !ok {
		return nil, fmt.Errorf("memory: read stream %s: %w", stream, eventstore.ErrNotFound)
	}
	start := min(uint64(len(idx)), max(from, 1)-1)
	idx = idx[start:]
	if limit > 0 && len(idx) > limit {
		idx = idx[:limit]
	}
	out := make([]eventstore.Record, len(idx))
	for i, j := range idx {
		out[i] = copyRecord(d.log[j])
	}
	return out, nil
}

// ReadAll returns up to limit events of the global log with Position > after.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	if err := s.check(ctx, "read all"); err != nil {
		return nil, err
	}
	d := s.d
	d.mu.RLock()
	defer d.mu.RUnlock()
	recs := d.log[min(after, uint64(len(d.log))):]
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	out := make([]eventstore.Record, len(recs))
	for i := range recs {
		out[i] = copyRecord(recs[i])
	}
	return out, nil
}

// Subscribe calls fn for every event with Position > after, catching up and then live.
func (s *Store) Subscribe(ctx context.Context, after uint64, fn func(eventstore.Record) error) error {
	wake, stop := s.d.notify.Listen()
	defer stop()
	// Every commit notifies, so no polling is needed.
	return eventstore.Follow(ctx, s, after, wake, 0, fn)
}

// Head returns the position of the last committed event.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.check(ctx, "head"); err != nil {
		return 0, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	return uint64(len(s.d.log)), nil
}

// TamperData replaces the data of one stored event without fixing its hash. It is for tests
// only: the conformance suite uses it to check that verification finds the break.
func (s *Store) TamperData(stream string, version uint64, data []byte) error {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	idx := d.streams[stream]
	if version == 0 || version > uint64(len(idx)) {
		return fmt.Errorf("memory: tamper %s@%d: %w", stream, version, eventstore.ErrNotFound)
	}
	d.log[idx[version-1]].Data = bytes.Clone(data)
	return nil
}

// copyRecord copies the byte slices, so callers cannot change stored events.
func copyRecord(r eventstore.Record) eventstore.Record {
	r.Data = bytes.Clone(r.Data)
	r.Metadata = bytes.Clone(r.Metadata)
	return r
}
