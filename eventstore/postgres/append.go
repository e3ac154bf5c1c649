package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custody-ledger/custody/eventstore"
)

// Append writes events to one stream atomically.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.AppendMulti(ctx, eventstore.StreamAppend{StreamID: stream, Expected: expected, Events: events})
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return res[0], nil
}

// AppendMulti writes to several streams atomically, each part with its own expected version.
func (s *Store) AppendMulti(ctx context.Context, parts ...eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(parts); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: append: %w", err)
	}
	if s.isClosed() {
		return nil, errClosed
	}
	args := newAppendArgs(parts, s.hold)
	res, err := retry(ctx, func() ([]eventstore.AppendResult, error) { return s.appendOnce(ctx, parts, args) })
	// Wake subscribers whether or not this append wrote: a failed attempt may have left a gap
	// in the positions that a reader is waiting on (see read.go).
	s.committed()
	if err != nil {
		return nil, fmt.Errorf("postgres: append: %w", err)
	}
	return res, nil
}

// appendArgs are custody_append's arguments, built once per request.
type appendArgs struct {
	streams  []string
	expected []int64
	counts   []int32
	ids      []uuid.UUID
	types    []string
	svs      []int32
	data     [][]byte
	meta     [][]byte
	hold     bool
}

func newAppendArgs(parts []eventstore.StreamAppend, hold bool) *appendArgs {
	n := 0
	for _, p := range parts {
		n += len(p.Events)
	}
	a := &appendArgs{
		streams: make([]string, len(parts)), expected: make([]int64, len(parts)), counts: make([]int32, len(parts)),
		ids: make([]uuid.UUID, 0, n), types: make([]string, 0, n), svs: make([]int32, 0, n),
		data: make([][]byte, 0, n), meta: make([][]byte, 0, n), hold: hold,
	}
	for i, p := range parts {
		a.streams[i], a.expected[i], a.counts[i] = p.StreamID, int64(p.Expected), int32(len(p.Events))
		for _, e := range p.Events {
			a.ids = append(a.ids, e.ID)
			a.types = append(a.types, e.Type)
			a.svs = append(a.svs, int32(e.SchemaVersion))
			a.data = append(a.data, notNil(e.Data)) // a nil element would be SQL NULL
			a.meta = append(a.meta, notNil(e.Metadata))
		}
	}
	return a
}

func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const appendSQL = `SELECT status, conflict_part, conflict_version, first_position, recorded_at,
       prev_versions, prev_hashes, last_hashes
  FROM custody_append($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// appendOnce is one round trip: custody_append checks, allocates, chains and inserts in the
// statement's implicit transaction.
func (s *Store) appendOnce(ctx context.Context, parts []eventstore.StreamAppend, a *appendArgs) ([]eventstore.AppendResult, error) {
	var (
		status          int32
		conflictPart    *int32
		conflictVersion *int64
		firstPosition   *int64
		recordedAt      *time.Time
		prevVersions    []int64
		prevHashes      [][]byte
		lastHashes      [][]byte
	)
	err := s.pool.QueryRow(ctx, appendSQL, a.streams, a.expected, a.counts, a.ids, a.types, a.svs, a.data, a.meta, a.hold).
		Scan(&status, &conflictPart, &conflictVersion, &firstPosition, &recordedAt, &prevVersions, &prevHashes, &lastHashes)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation {
			// Another append stored one of our event ids (or created our stream) between our
			// check and our insert; the next attempt sees it.
			return nil, fmt.Errorf("%w: %w", errLostRace, err)
		}
		return nil, err
	}
	switch status {
	case 0:
		return s.sealed(parts, uint64(*firstPosition), *recordedAt, prevVersions, prevHashes, lastHashes)
	case 1:
		return s.resolveRetry(ctx, parts, a.ids)
	case 2:
		p := parts[*conflictPart-1]
		return nil, &eventstore.VersionConflictError{StreamID: p.StreamID, Expected: p.Expected, Actual: uint64(*conflictVersion)}
	default:
		return nil, fmt.Errorf("custody_append returned status %d", status)
	}
}

// sealed builds the records the database stored from the request and what custody_append
// reported, and checks that the database chained them exactly as eventstore.ChainHash does.
func (s *Store) sealed(parts []eventstore.StreamAppend, first uint64, at time.Time,
	prevVersions []int64, prevHashes, lastHashes [][]byte) ([]eventstore.AppendResult, error) {
	at = at.UTC()
	out := make([]eventstore.AppendResult, len(parts))
	pos := first
	for i, p := range parts {
		prev, err := toHash(prevHashes[i])
		if err != nil {
			return nil, err
		}
		v := uint64(prevVersions[i])
		recs := make([]eventstore.Record, len(p.Events))
		for j, e := range p.Events {
			v++
			recs[j] = eventstore.Record{
				StreamID: p.StreamID, Version: v, Position: pos, EventID: e.ID, Type: e.Type,
				SchemaVersion: e.SchemaVersion, Data: orNil(bytes.Clone(e.Data)), Metadata: orNil(bytes.Clone(e.Metadata)), RecordedAt: at,
			}
			eventstore.Seal(prev, &recs[j])
			prev = recs[j].Hash
			pos++
		}
		if last, err := toHash(lastHashes[i]); err != nil || last != prev {
			// The events are committed; this says custody_append and eventstore.CanonicalBytes
			// disagree, which VerifyStream would report as a broken chain.
			return nil, fmt.Errorf("postgres: hash chain of %s computed by the database differs from eventstore.ChainHash", p.StreamID)
		}
		out[i] = eventstore.AppendResult{StreamID: p.StreamID, Version: v, Records: recs}
	}
	return out, nil
}

// resolveRetry handles a request some of whose event ids are stored already: an exact
// re-send gets the original results, anything else a DuplicateConflictError.
func (s *Store) resolveRetry(ctx context.Context, parts []eventstore.StreamAppend, ids []uuid.UUID) ([]eventstore.AppendResult, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+recordColumns+" FROM events WHERE event_id = ANY ($1)", ids)
	if err != nil {
		return nil, err
	}
	recs, err := scanRecords(rows, len(ids))
	if err != nil {
		return nil, err
	}
	stored := make(map[uuid.UUID]eventstore.Record, len(recs))
	for _, r := range recs {
		stored[r.EventID] = r
	}
	res, retried, err := eventstore.MatchRetry(parts, stored)
	if err != nil {
		return nil, err
	}
	if !retried {
		return nil, fmt.Errorf("%w: stored event ids vanished", errLostRace) // cannot happen: events are never deleted
	}
	return res, nil
}

func toHash(b []byte) (eventstore.Hash, error) {
	var h eventstore.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("postgres: stored hash has %d bytes", len(b))
	}
	copy(h[:], b)
	return h, nil
}

// orNil returns nil for empty payloads, so records read back compare equal to the ones an
// append returned.
func orNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
