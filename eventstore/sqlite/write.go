package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/eventstore"
)

// maxGroup bounds how many appends share one transaction.
const maxGroup = 64

// ErrClosed is returned by appends on a closed Store.
var ErrClosed = errors.New("sqlite: store closed")

// request is one append waiting for the writer.
type request struct {
	ctx   context.Context
	parts []eventstore.StreamAppend
	res   []eventstore.AppendResult
	err   error
	done  chan struct{}
}

// AppendMulti writes to several streams atomically.
func (s *Store) AppendMulti(ctx context.Context, parts ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(parts); err != nil {
		return nil, fmt.Errorf("sqlite: append: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: append: %w", err)
	}
	r := &request{ctx: ctx, parts: parts, done: make(chan struct{})}
	select {
	case s.requests <- r:
	case <-ctx.Done():
		return nil, fmt.Errorf("sqlite: append: %w", ctx.Err())
	case <-s.stop:
		return nil, fmt.Errorf("sqlite: append: %w", ErrClosed)
	}
	// Once the writer has the request it runs to the end (it is never more than one group
	// away): returning on cancellation now could leave the caller unsure whether the events
	// were stored.
	<-r.done
	if r.err != nil {
		return nil, fmt.Errorf("sqlite: append: %w", r.err)
	}
	return r.res, nil
}

// writeLoop is the single writer: it takes a request, gathers those already waiting, and
// commits them in one transaction, so concurrent appends share one fsync.
func (s *Store) writeLoop() {
	defer close(s.stopped)
	for {
		var group []*request
		select {
		case r := <-s.requests:
			group = append(group, r)
		case <-s.stop:
			return
		}
	gather:
		for len(group) < maxGroup {
			select {
			case r := <-s.requests:
				group = append(group, r)
			default:
				break gather
			}
		}
		wrote, err := s.commitGroup(group)
		if err != nil && len(group) > 1 {
			// Something failed that is not a conflict. Run the requests one by one, so each
			// fails only for its own reasons.
			for _, r := range group {
				r.res, r.err = nil, nil
				w, _ := s.commitGroup([]*request{r})
				wrote = wrote || w
			}
		}
		if wrote {
			s.notify.Notify()
		}
		for _, r := range group {
			close(r.done)
		}
	}
}

// commitGroup writes the requests in one transaction and reports whether anything was
// written. A request that fails its own checks (version or duplicate conflict) fails alone,
// before it writes anything; any other failure fails the whole group, writes nothing and is
// returned.
func (s *Store) commitGroup(group []*request) (bool, error) {
	// A request cancelled before its turn is refused, and nothing of it is written.
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return false, nil
	}
	failAll := func(err error) (bool, error) {
		err = mapErr(err)
		for _, r := range live {
			r.res, r.err = nil, err
		}
		return false, err
	}
	// The requests' contexts may end while the group commits; the group must not.
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return failAll(err)
	}
	defer func() { _ = tx.Rollback() }()
	w, err := newTxWriter(ctx, tx)
	if err != nil {
		return failAll(err)
	}
	defer w.close()
	wrote := false
	for _, r := range live {
		res, did, err := w.append(ctx, r.parts)
		var vc *eventstore.VersionConflictError
		var dc *eventstore.DuplicateConflictError
		switch {
		case errors.As(err, &vc), errors.As(err, &dc):
			r.err = err // checked before any write: the others go on
		case err != nil:
			return failAll(err)
		default:
			r.res = res
			wrote = wrote || did
		}
	}
	if !wrote {
		return false, nil // only retries and conflicts: nothing to commit
	}
	if err := tx.Commit(); err != nil {
		return failAll(err)
	}
	return true, nil
}

// txWriter appends inside one transaction.
type txWriter struct {
	tx          *sql.Tx
	head        uint64
	insertEvent *sql.Stmt
	upsertTip   *sql.Stmt
	now         time.Time
}

func newTxWriter(ctx context.Context, tx *sql.Tx) (*txWriter, error) {
	w := &txWriter{tx: tx, now: time.Now()}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&w.head); err != nil {
		return nil, err
	}
	var err error
	if w.insertEvent, err = tx.PrepareContext(ctx, `INSERT INTO events
        (position, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if w.upsertTip, err = tx.PrepareContext(ctx, `INSERT INTO streams (stream_id, version, last_hash) VALUES (?, ?, ?)
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_hash = excluded.last_hash`); err != nil {
		_ = w.insertEvent.Close()
		return nil, err
	}
	return w, nil
}

func (w *txWriter) close() {
	_ = w.insertEvent.Close()
	_ = w.upsertTip.Close()
}

// append checks one request (idempotency first, then expected versions) and, if it passes,
// writes it. Conflicts are returned before anything is written. It reports whether it wrote.
func (w *txWriter) append(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, bool, error) {
	// Idempotency is decided on the table (unique event_id), inside the write lock.
	stored, err := lookupIDs(ctx, w.tx, parts)
	if err != nil {
		return nil, false, err
	}
	if res, retry, err := eventstore.MatchRetry(parts, stored); err != nil || retry {
		return res, false, err
	}

	type tip struct {
		version uint64
		hash    eventstore.Hash
	}
	tips := make([]tip, len(parts))
	for i, p := range parts {
		var hash []byte
		err := w.tx.QueryRowContext(ctx, `SELECT version, last_hash FROM streams WHERE stream_id = ?`, p.StreamID).
			Scan(&tips[i].version, &hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, false, err
		default:
			copy(tips[i].hash[:], hash)
		}
		if err := p.Expected.Check(p.StreamID, tips[i].version); err != nil {
			return nil, false, err
		}
	}

	results := make([]eventstore.AppendResult, len(parts))
	for k, p := range parts {
		prev := tips[k].hash
		recs := make([]eventstore.Record, len(p.Events))
		for i, e := range p.Events {
			w.head++
			recs[i] = eventstore.Record{
				StreamID:      p.StreamID,
				Version:       tips[k].version + uint64(i) + 1,
				Position:      w.head,
				EventID:       e.ID,
				Type:          e.Type,
				SchemaVersion: e.SchemaVersion,
				Data:          e.Data,
				Metadata:      e.Metadata,
				RecordedAt:    w.now,
			}
			eventstore.Seal(prev, &recs[i])
			prev = recs[i].Hash
		}
		last := recs[len(recs)-1]
		// The stream row first: events reference it.
		if _, err := w.upsertTip.ExecContext(ctx, p.StreamID, last.Version, last.Hash[:]); err != nil {
			return nil, false, err
		}
		for i := range recs {
			r := &recs[i]
			data := r.Data
			if data == nil {
				data = []byte{} // NOT NULL; nil and empty hash the same
			}
			if _, err := w.insertEvent.ExecContext(ctx, r.Position, r.StreamID, r.Version, r.EventID[:], r.Type,
				r.SchemaVersion, data, r.Metadata, r.RecordedAt.UnixMicro(), r.PrevHash[:], r.Hash[:]); err != nil {
				return nil, false, err
			}
			// The caller may reuse its buffers after we return.
			r.Data, r.Metadata = cloneBytes(r.Data), cloneBytes(r.Metadata)
		}
		results[k] = eventstore.AppendResult{StreamID: p.StreamID, Version: last.Version, Records: recs}
	}
	return results, true, nil
}
