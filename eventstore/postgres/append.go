package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custody-ledger/custody/eventstore"
)

// maxRaces bounds how often one append may lose a race with other appends to its streams
// before it gives up with ErrUnavailable (each lost race means another append succeeded).
const maxRaces = 50

// AppendMulti writes to several streams atomically, each part with its own expected version.
//
// The first attempt continues each stream from its head as this process last saw it (or
// from nothing, for NoStream): one round trip. If a head turns out stale, an event id is
// stored already, or a head is unknown, one read fetches the heads and any stored ids; the
// stored ids decide idempotent retries first, then the expected versions are checked.
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
	res, err := s.appendParts(ctx, parts)
	// Wake subscribers whether or not this append wrote: a failed attempt leaves a gap in
	// the positions that a reader may be waiting on (see read.go).
	s.committed()
	if err != nil {
		return nil, fmt.Errorf("postgres: append: %w", err)
	}
	return res, nil
}

func (s *Store) appendParts(ctx context.Context, parts []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	heads := make([]head, len(parts))
	known := true
	for i, p := range parts {
		h, ok := s.heads.get(p.StreamID)
		switch {
		case ok && p.Expected.Check(p.StreamID, h.version) == nil:
			heads[i] = h
		case !ok && p.Expected == eventstore.NoStream:
			// heads[i] is the empty stream; if the stream exists after all, the insert fails.
		default:
			known = false // unknown, or the expectation fails on what may be an old head
		}
	}
	ids := make([][16]byte, 0, len(parts)) // [16]byte: uuid.UUID would go through driver.Valuer and text
	for _, p := range parts {
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
	}
	var (
		failures, races int
		delay           = 5 * time.Millisecond
	)
	for {
		var err error
		if !known {
			var (
				stored map[uuid.UUID]eventstore.Record
				fresh  []head
			)
			if stored, fresh, err = s.lookup(ctx, parts, ids); err == nil {
				if res, done, err := resolve(parts, stored, fresh); done {
					return res, err
				}
				heads, known = fresh, true
			}
		}
		if known {
			var res []eventstore.AppendResult
			if res, err = s.write(ctx, parts, heads); err == nil {
				for i := range res {
					last := res[i].Records[len(res[i].Records)-1]
					s.heads.put(res[i].StreamID, head{version: last.Version, hash: last.Hash, at: last.RecordedAt})
				}
				return res, nil
			}
			for _, p := range parts {
				s.heads.drop(p.StreamID)
			}
			known = false
			if lostRace(err) {
				// Another append got there first (or stored our ids): look again at once;
				// every lost race is someone else's progress.
				if races++; races <= maxRaces {
					continue
				}
				return nil, eventstore.Unavailable(fmt.Errorf("lost %d races in a row: %w", races, err))
			}
		}
		if !retryable(err) {
			return nil, mapErr(ctx, err)
		}
		// A connection-level failure: back off, a bounded number of times.
		if failures++; failures >= maxAttempts || ctx.Err() != nil {
			return nil, mapErr(ctx, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, mapErr(ctx, err)
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// lostRace reports whether a write failed because another append got there first: a stream
// moved on (or was created) or an event id was stored meanwhile.
func lostRace(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == codeUniqueViolation || pgErr.Code == codeStaleHead)
}

// resolve decides an append from what the database holds: an idempotent retry gets the
// original results, reused ids a DuplicateConflictError, and a stream not at its expected
// version a VersionConflictError. done is false when the append should be written.
func resolve(parts []eventstore.StreamAppend, stored map[uuid.UUID]eventstore.Record, heads []head) ([]eventstore.AppendResult, bool, error) {
	res, retried, err := eventstore.MatchRetry(parts, stored)
	if err != nil || retried {
		return res, true, err
	}
	for i, p := range parts {
		if err := p.Expected.Check(p.StreamID, heads[i].version); err != nil {
			return nil, true, err
		}
	}
	return nil, false, nil
}

// head is where a stream ends: the version, hash and time of its last event.
type head struct {
	version uint64
	hash    eventstore.Hash
	at      time.Time
}

const headsSQL = `SELECT h.version, h.hash, h.recorded_at
  FROM unnest($1::text[]) WITH ORDINALITY AS s(id, ord)
  LEFT JOIN LATERAL (SELECT version, hash, recorded_at FROM events
                      WHERE stream_id = s.id ORDER BY version DESC LIMIT 1) h ON true
 ORDER BY s.ord`

// lookup reads, in one round trip, the stored records of any of ids and the heads of the
// parts' streams.
func (s *Store) lookup(ctx context.Context, parts []eventstore.StreamAppend, ids [][16]byte) (map[uuid.UUID]eventstore.Record, []head, error) {
	streams := make([]string, len(parts))
	for i, p := range parts {
		streams[i] = p.StreamID
	}
	var b pgx.Batch
	b.Queue("SELECT "+recordColumns+" FROM events WHERE event_id = ANY ($1)", ids)
	b.Queue(headsSQL, streams)
	br := s.pool.SendBatch(ctx, &b)
	defer br.Close()

	rows, err := br.Query()
	if err != nil {
		return nil, nil, err
	}
	recs, err := scanRecords(rows, 0)
	if err != nil {
		return nil, nil, err
	}
	stored := make(map[uuid.UUID]eventstore.Record, len(recs))
	for _, r := range recs {
		stored[r.EventID] = r
	}

	rows, err = br.Query()
	if err != nil {
		return nil, nil, err
	}
	heads := make([]head, 0, len(parts))
	for rows.Next() {
		var (
			version *int64
			hash    []byte
			at      *time.Time
		)
		if err := rows.Scan(&version, &hash, &at); err != nil {
			rows.Close()
			return nil, nil, err
		}
		var h head
		if version != nil {
			h.version, h.at = uint64(*version), at.UTC()
			if h.hash, err = toHash(hash); err != nil {
				rows.Close()
				return nil, nil, err
			}
		}
		heads = append(heads, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(heads) != len(parts) {
		return nil, nil, fmt.Errorf("postgres: read %d stream heads for %d streams", len(heads), len(parts))
	}
	return stored, heads, br.Close()
}

const appendSQL = `SELECT custody_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

// appendOneSQL is appendSQL for a single event, with scalar parameters: encoding one-element
// arrays cost the client more than the rest of the call. $11..$13 (the head) are NULL for a
// new stream.
const appendOneSQL = `SELECT custody_append(ARRAY[0], ARRAY[$1::text], ARRAY[$2::bigint], ARRAY[$3::uuid],
       ARRAY[$4::text], ARRAY[$5::int], ARRAY[$6::bytea], ARRAY[$7::bytea], ARRAY[$8::bytea], ARRAY[$9::bytea],
       $10, CASE WHEN $11::text IS NULL THEN '{}' ELSE ARRAY[$11::text] END,
       CASE WHEN $11::text IS NULL THEN '{}' ELSE ARRAY[$12::bigint] END,
       CASE WHEN $11::text IS NULL THEN '{}' ELSE ARRAY[$13::bytea] END, $14)`

// write seals the parts' events onto the given heads (version, hash chain, recorded time)
// and stores them with one call of custody_append, in the statement's implicit transaction.
func (s *Store) write(ctx context.Context, parts []eventstore.StreamAppend, heads []head) ([]eventstore.AppendResult, error) {
	// The recorded time is this process's clock, but never before the time of a stream's
	// last event: a stream's times do not go backwards even if clocks disagree.
	at := time.Now().UTC().Truncate(time.Microsecond)
	for _, h := range heads {
		if h.at.After(at) {
			at = h.at
		}
	}
	n := 0
	for _, p := range parts {
		n += len(p.Events)
	}
	out := make([]eventstore.AppendResult, len(parts))
	recs := make([]*eventstore.Record, 0, n) // in request order
	for i, p := range parts {
		rs := make([]eventstore.Record, len(p.Events))
		prev, v := heads[i].hash, heads[i].version
		for j, e := range p.Events {
			v++
			rs[j] = eventstore.Record{
				StreamID: p.StreamID, Version: v, EventID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion,
				Data: orNil(bytes.Clone(e.Data)), Metadata: orNil(bytes.Clone(e.Metadata)), RecordedAt: at,
			}
			eventstore.Seal(prev, &rs[j])
			prev = rs[j].Hash
			recs = append(recs, &rs[j])
		}
		out[i] = eventstore.AppendResult{StreamID: p.StreamID, Version: v, Records: rs}
	}

	var first int64
	if n == 1 {
		r := recs[0]
		var (
			hSid  *string
			hVer  *int64
			hHash []byte
		)
		if h := heads[0]; h.version > 0 {
			v := int64(h.version)
			hSid, hVer, hHash = &r.StreamID, &v, h.hash[:]
		}
		if err := s.pool.QueryRow(ctx, appendOneSQL, r.StreamID, int64(r.Version), [16]byte(r.EventID), r.Type, int32(r.SchemaVersion),
			notNil(r.Data), notNil(r.Metadata), r.PrevHash[:], r.Hash[:], at, hSid, hVer, hHash, s.hold).Scan(&first); err != nil {
			return nil, err
		}
		r.Position = uint64(first)
		return out, nil
	}

	// Rows go sorted by stream (stable, so each stream's versions ascend): every append
	// locks index entries in the same order. Each row carries its offset in request order.
	order := make([]int, n)
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(recs[a].StreamID, recs[b].StreamID) })
	var (
		offs  = make([]int32, n)
		sids  = make([]string, n)
		vers  = make([]int64, n)
		ids   = make([][16]byte, n)
		types = make([]string, n)
		svs   = make([]int32, n)
		data  = make([][]byte, n)
		meta  = make([][]byte, n)
		prevs = make([][]byte, n)
		hashs = make([][]byte, n)
	)
	for k, idx := range order {
		r := recs[idx]
		offs[k], sids[k], vers[k], ids[k], types[k], svs[k] = int32(idx), r.StreamID, int64(r.Version), r.EventID, r.Type, int32(r.SchemaVersion)
		data[k], meta[k] = notNil(r.Data), notNil(r.Metadata) // a nil element would be SQL NULL
		prevs[k], hashs[k] = r.PrevHash[:], r.Hash[:]
	}
	hSids, hVers, hHashes := []string{}, []int64{}, [][]byte{}
	for i, h := range heads {
		if h.version > 0 {
			hSids, hVers, hHashes = append(hSids, parts[i].StreamID), append(hVers, int64(h.version)), append(hHashes, h.hash[:])
		}
	}
	if err := s.pool.QueryRow(ctx, appendSQL, offs, sids, vers, ids, types, svs, data, meta, prevs, hashs, at,
		hSids, hVers, hHashes, s.hold).Scan(&first); err != nil {
		return nil, err
	}
	for k, r := range recs {
		r.Position = uint64(first) + uint64(k)
	}
	return out, nil
}

func toHash(b []byte) (eventstore.Hash, error) {
	var h eventstore.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("postgres: stored hash has %d bytes", len(b))
	}
	copy(h[:], b)
	return h, nil
}

func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// orNil returns nil for empty payloads, so records read back compare equal to the ones an
// append returned.
func orNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
