// Package sqlite is the embedded event store: one SQLite file, zero set-up, through the pure-Go
// driver modernc.org/sqlite. The file runs in WAL mode with synchronous=FULL, so an append is
// on disk before it is acknowledged. One writer goroutine commits at a time, in BEGIN IMMEDIATE
// transactions, so global positions commit in order and a reader can never pass a position
// that is still to commit. Appends that arrive while a commit is being synced are written
// together in the next transaction (group commit), each with its own checks. The schema is applied on Open from embedded, versioned migrations.
//
// The read models share the file through DB. Every transaction on that handle starts with
// BEGIN IMMEDIATE (it takes the write lock at once, so it never fails half-way for a stale
// snapshot); read with plain queries, which run concurrently with writers under WAL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/migrate"
)

const (
	// busyTimeout is how long a connection waits for another's lock before SQLITE_BUSY
	// (reported as eventstore.ErrUnavailable).
	busyTimeout = 10 * time.Second
	// maxConns bounds the pool; readers run in parallel under WAL, writers queue.
	maxConns = 8
	// pollInterval is how often a subscriber looks for events written by another process
	// (writes through this Store wake subscribers at once).
	pollInterval = time.Second
	// idChunk bounds the ids looked up per query (SQLite limits bound parameters).
	idChunk = 500
)

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	db       *sql.DB
	requests chan *request // to the writer goroutine (see write.go)
	stop     chan struct{} // closed by Close
	stopped  chan struct{} // closed when the writer has finished
	once     sync.Once
	notify   eventstore.Notifier
}

var _ eventstore.Store = (*Store)(nil)

// Open opens (creating it and its parent directories if needed) the event store at path, a
// file name such as ./data/custody.db, and applies any pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := OpenDB(ctx, path)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, requests: make(chan *request), stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := migrate.Up(ctx, db, migrate.SQLite, Migrations()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, mapErr(err))
	}
	go s.writeLoop()
	return s, nil
}

// Option changes how OpenDB opens a file.
type Option func(*options)

type options struct{ rebuildable bool }

// Rebuildable is for a file whose contents are rebuilt from data kept elsewhere, such as the
// transparency log's tree (rebuilt from the store's log): it runs with synchronous=NORMAL. In
// WAL mode a commit is then not fsynced, only SQLite's WAL checkpoints are, so a power loss or
// an operating-system crash (not a crash of the process) may roll back the last transactions,
// though it never leaves the file inconsistent. The store's own file always runs with FULL.
func Rebuildable() Option { return func(o *options) { o.rebuildable = true } }

// OpenDB opens (creating it and its parent directories if needed) the SQLite file at path
// with the settings the store runs on (WAL, synchronous=FULL, BEGIN IMMEDIATE transactions;
// NORMAL with Rebuildable), for data kept in a file of its own beside the store's, such as the
// transparency log's tree, whose writes then never wait for the appends' write lock nor hold it.
func OpenDB(ctx context.Context, path string, opts ...Option) (*sql.DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	sync := synchronousFull // fsync the WAL on every commit: acknowledged means durable
	if o.rebuildable {
		sync = synchronousNormal
	}
	q.Add("_pragma", fmt.Sprintf("synchronous(%d)", sync))
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns) // opening a connection re-runs the pragmas; keep them
	if err := check(ctx, db, sync); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// SQLite's values of PRAGMA synchronous.
const (
	synchronousNormal = 1
	synchronousFull   = 2
)

// check makes sure the settings that durability depends on took effect: WAL, and synchronous
// at least want.
func check(ctx context.Context, db *sql.DB, want int) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return mapErr(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %s, want wal", mode)
	}
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return mapErr(err)
	}
	if sync < want {
		return fmt.Errorf("synchronous is %d, want %d", sync, want)
	}
	return nil
}

// DB returns the database handle, for the read models that live in the same file.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database. Running subscriptions end with an error.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.stopped // the writer finishes the group it is committing
	err := s.db.Close()
	s.notify.Notify() // wake subscribers so they notice
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// lookupIDs returns the stored records of any of the request's event ids.
func lookupIDs(ctx context.Context, tx *sql.Tx, parts []eventstore.StreamAppend) (map[uuid.UUID]eventstore.Record, error) {
	var ids []any
	for _, p := range parts {
		for _, e := range p.Events {
			ids = append(ids, e.ID[:])
		}
	}
	var stored map[uuid.UUID]eventstore.Record
	for len(ids) > 0 {
		n := min(len(ids), idChunk)
		chunk := ids[:n]
		ids = ids[n:]
		recs, err := query(ctx, tx, 0, `SELECT `+columns+` FROM events WHERE event_id IN (?`+strings.Repeat(", ?", n-1)+`)`, chunk...)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if stored == nil {
				stored = map[uuid.UUID]eventstore.Record{}
			}
			stored[r.EventID] = r
		}
	}
	return stored, nil
}

const columns = `position, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at, prev_hash, hash`

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// query runs a SELECT of columns and scans the records; sizeHint (the LIMIT, if any) saves
// regrowing the result.
func query(ctx context.Context, q querier, sizeHint int, sqlText string, args ...any) ([]eventstore.Record, error) {
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []eventstore.Record
	if sizeHint > 0 {
		out = make([]eventstore.Record, 0, min(sizeHint, 4096))
	}
	for rows.Next() {
		var (
			r                 eventstore.Record
			id, prev, hash    sql.RawBytes
			recordedAt        int64
			version, position int64
			schemaVersion     int64
			data, metadata    sql.RawBytes // valid until Next: copied below
			streamID, typ     string
		)
		if err := rows.Scan(&position, &streamID, &version, &id, &typ, &schemaVersion, &data, &metadata,
			&recordedAt, &prev, &hash); err != nil {
			return nil, err
		}
		if len(id) != len(r.EventID) || len(prev) != len(r.PrevHash) || len(hash) != len(r.Hash) {
			return nil, fmt.Errorf("event at position %d: malformed id or hash", position)
		}
		r.Position, r.StreamID, r.Version = uint64(position), streamID, uint64(version)
		copy(r.EventID[:], id)
		r.Type, r.SchemaVersion = typ, int(schemaVersion)
		r.Data, r.Metadata = cloneBytes(data), cloneBytes(metadata)
		r.RecordedAt = time.UnixMicro(recordedAt).UTC()
		copy(r.PrevHash[:], prev)
		copy(r.Hash[:], hash)
		out = append(out, r)
	}
	return out, rows.Err()
}

// sqlLimit turns "limit <= 0 means no limit" into SQLite's LIMIT -1.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}

// ReadStream returns up to limit events of a stream with Version >= from.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	recs, err := query(ctx, s.db, limit, `SELECT `+columns+` FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?`,
		stream, int64(min(from, 1<<62)), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: read stream %s: %w", stream, mapErr(err))
	}
	if len(recs) == 0 {
		// Tell a missing stream from a read past the end of an existing one.
		var one int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM streams WHERE stream_id = ?`, stream).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlite: read stream %s: %w", stream, eventstore.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: read stream %s: %w", stream, mapErr(err))
		}
	}
	return recs, nil
}

// ReadAll returns up to limit events of the global log with Position > after.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	recs, err := query(ctx, s.db, limit, `SELECT `+columns+` FROM events WHERE position > ? ORDER BY position LIMIT ?`,
		int64(min(after, 1<<62)), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: read all after %d: %w", after, mapErr(err))
	}
	return recs, nil
}

// Subscribe calls fn for every event with Position > after, catching up and then live.
func (s *Store) Subscribe(ctx context.Context, after uint64, fn func(eventstore.Record) error) error {
	wake, stop := s.notify.Listen()
	defer stop()
	return eventstore.Follow(ctx, s, after, wake, pollInterval, fn)
}

// Head returns the position of the last committed event (0 if none).
func (s *Store) Head(ctx context.Context) (uint64, error) {
	var head uint64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&head); err != nil {
		return 0, fmt.Errorf("sqlite: head: %w", mapErr(err))
	}
	return head, nil
}

// mapErr marks lock contention as eventstore.ErrUnavailable, which callers may retry.
func mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return eventstore.Unavailable(err)
		}
	}
	return err
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
