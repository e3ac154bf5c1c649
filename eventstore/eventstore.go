// Package eventstore is the port through which the ledger stores events: append-only streams
// with optimistic concurrency, a global log in commit order, idempotency by event id and a
// SHA-256 hash chain per stream. Adapters live in subpackages (memory, sqlite, postgres, esdb)
// and all pass the one conformance suite in eventstore/storetest.
package eventstore

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ExpectedVersion states what the writer believes the stream's current version is.
// Versions count events: a stream with n events is at version n, its first event has
// version 1. Values >= 0 demand that exact version (0 = the stream has no events).
type ExpectedVersion int64

const (
	// Any appends whatever the stream's version.
	Any ExpectedVersion = -1
	// StreamExists appends only to a stream that has at least one event.
	StreamExists ExpectedVersion = -2
	// NoStream appends only to a stream with no events; it equals Exact(0).
	NoStream ExpectedVersion = 0
)

// Exact demands that the stream is at version v.
func Exact(v uint64) ExpectedVersion { return ExpectedVersion(v) }

// EventData is an event proposed for appending. ID is chosen by the client and is the
// idempotency key: re-sending the same ID with the same content returns the original
// result and writes nothing; the same ID with different content is a DuplicateConflictError.
type EventData struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Data          []byte // canonical bytes (compact JSON); stored and hashed exactly as given
	Metadata      []byte // optional; stored and hashed exactly as given
}

// Record is a stored event.
type Record struct {
	StreamID      string
	Version       uint64 // 1-based position within the stream
	Position      uint64 // global position, strictly increasing in commit order, starting at 1
	EventID       uuid.UUID
	Type          string
	SchemaVersion int
	Data          []byte
	Metadata      []byte
	RecordedAt    time.Time // server clock, UTC, truncated to microseconds
	PrevHash      Hash      // zero hash for the first event of a stream
	Hash          Hash
}

// StreamAppend is one stream's part of an append.
type StreamAppend struct {
	StreamID string
	Expected ExpectedVersion
	Events   []EventData
}

// AppendResult reports what an append stored (or, for an idempotent retry, what the
// original append stored).
type AppendResult struct {
	StreamID string
	Version  uint64   // the stream's version after the append
	Records  []Record // the records of this append, in order
}

// Store is the event store port. AppendOne writes to one stream through AppendMulti.
type Store interface {
	// AppendMulti writes to several streams atomically: all or nothing. Each part has its own
	// expected version. A stream may appear at most once.
	AppendMulti(ctx context.Context, appends ...StreamAppend) ([]AppendResult, error)
	// ReadStream returns up to limit events of a stream with Version >= from, oldest first.
	// A stream with no events gives ErrNotFound. limit <= 0 means no limit.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]Record, error)
	// ReadAll returns up to limit events of the global log with Position > after, in commit
	// order. It never returns a record while an earlier position may still commit.
	// limit <= 0 means no limit.
	ReadAll(ctx context.Context, after uint64, limit int) ([]Record, error)
	// Subscribe calls fn for every event with Position > after, in order, exactly once,
	// first catching up and then live, until ctx ends (returns ctx.Err()) or fn fails
	// (returns fn's error).
	Subscribe(ctx context.Context, after uint64, fn func(Record) error) error
	// Head returns the position of the last committed event (0 if none).
	Head(ctx context.Context) (uint64, error)
	Close() error
}

// AppendOne writes events to one stream atomically: AppendMulti with one part.
func AppendOne(ctx context.Context, s Store, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error) {
	res, err := s.AppendMulti(ctx, StreamAppend{StreamID: stream, Expected: expected, Events: events})
	if err != nil {
		return AppendResult{}, err
	}
	return res[0], nil
}
