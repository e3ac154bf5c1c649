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
	"github.com/jackc/pgx/v5/pgxpool"

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
	return errors.Is(err, errStaleHead) || errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation
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

// The append is one plain SQL statement in its own implicit transaction: no PL/pgSQL and no
// EXCEPTION block (a subtransaction on every call). Its CTEs run in the order their data
// depend on each other: l takes the position lock, a takes the transaction id and the
// positions, u releases the lock; then the rows go in, all or none: when a head the append
// continues from is no longer stored with its hash, the filter drops every row and the client
// reads zero rows back (errStaleHead). The lock is a session lock held for microseconds, so
// concurrent appends still share WAL flushes; should the statement fail between lock and
// unlock (a cancellation), write releases it on that connection, or the connection goes, and
// the lock with its session. With hold (the benchmarks' "serialised" design) the lock is a
// transaction lock kept until commit.
const (
	lockCTE = `l AS MATERIALIZED (SELECT k, %s(k) FROM (SELECT (1668641652::bigint << 32) | 'events_position_seq'::regclass::oid::bigint AS k) c)`
	// unlockSQL is run by write after a failed statement; false (not held) is harmless.
	unlockSQL = `SELECT pg_advisory_unlock((1668641652::bigint << 32) | 'events_position_seq'::regclass::oid::bigint)`
	columns   = `position, txid, tx_events, stream_id, version, event_id, type, schema_version, data, metadata, recorded_at, prev_hash, hash`
)

// appendOneSQL writes one event, with scalar parameters: $1 stream, $2 version, $3 id, $4
// type, $5 schema version, $6 data, $7 metadata, $8 prev hash, $9 hash, $10 recorded at, and
// the head it continues from, $11 version and $12 hash (NULL for a new stream).
func appendOneSQL(hold bool) string {
	return `WITH ` + lockAllocUnlock(hold, `1`) + `
INSERT INTO events (` + columns + `)
SELECT a.first, a.tx, 1, $1, $2, $3, $4, $5, $6, $7, $10, $8, $9
  FROM a, u
 WHERE $11::bigint IS NULL
    OR EXISTS (SELECT 1 FROM events e WHERE e.stream_id = $1 AND e.version = $11 AND e.hash = $12)
RETURNING position`
}

// appendManySQL writes several events, as arrays in the order rows are inserted (sorted by
// stream, so concurrent appends lock index entries in one order and cannot deadlock): $1 each
// event's offset from the first position (request order), $2 streams, $3 versions, $4 ids, $5
// types, $6 schema versions, $7 data, $8 metadata, $9 prev hashes, $10 hashes, $11 recorded
// at; $12-$14 the heads (stream, version, hash) the existing streams continue from. It
// returns how many rows went in and the first position.
func appendManySQL(hold bool) string {
	return `WITH ` + lockAllocUnlock(hold, `cardinality($4::uuid[])`) + `,
ins AS (INSERT INTO events (` + columns + `)
        SELECT a.first + x.off, a.tx, CASE WHEN x.off = 0 THEN a.n END, x.sid, x.ver, x.id, x.typ, x.sv, x.d, x.m, $11, x.ph, x.h
          FROM a, u, unnest($1::int[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::int[], $7::bytea[], $8::bytea[],
                            $9::bytea[], $10::bytea[]) AS x(off, sid, ver, id, typ, sv, d, m, ph, h)
         WHERE NOT EXISTS (SELECT 1 FROM unnest($12::text[], $13::bigint[], $14::bytea[]) AS hd(sid, ver, hash)
                            WHERE NOT EXISTS (SELECT 1 FROM events e
                                               WHERE e.stream_id = hd.sid AND e.version = hd.ver AND e.hash = hd.hash))
        RETURNING position)
SELECT count(*), COALESCE(min(position), 0) FROM ins`
}

// lockAllocUnlock is the statements' common head: CTEs l (lock), a (tx, first, n: the
// transaction id, the first position, how many) and u (unlock), n being an SQL expression.
func lockAllocUnlock(hold bool, n string) string {
	lock, unlock := "pg_advisory_lock", `pg_advisory_unlock(l.k)`
	if hold {
		lock, unlock = "pg_advisory_xact_lock", `true`
	}
	return fmt.Sprintf(lockCTE, lock) + `,
a AS MATERIALIZED (SELECT tx, first, n, CASE WHEN n > 1 THEN setval('events_position_seq', first + n - 1) END AS last
                     FROM (SELECT pg_current_xact_id()::text::bigint AS tx, nextval('events_position_seq') AS first,
                                  ` + n + ` AS n FROM l) x),
u AS MATERIALIZED (SELECT ` + unlock + ` FROM l, a)`
}

var (
	appendOne  = [2]string{appendOneSQL(false), appendOneSQL(true)}
	appendMany = [2]string{appendManySQL(false), appendManySQL(true)}
)

// errStaleHead: a head the append continued from is no longer stored with that hash.
var errStaleHead = errors.New("a stream is no longer at the version this append continues from")

// write seals the parts' events onto the given heads (version, hash chain, recorded time)
// and stores them with one statement, in its implicit transaction.
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

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	hold := 0
	if s.hold {
		hold = 1
	}
	var first int64
	if n == 1 {
		r := recs[0]
		var (
			hVer  *int64
			hHash []byte
		)
		if h := heads[0]; h.version > 0 {
			v := int64(h.version)
			hVer, hHash = &v, h.hash[:]
		}
		err := conn.QueryRow(ctx, appendOne[hold], r.StreamID, int64(r.Version), [16]byte(r.EventID), r.Type, int32(r.SchemaVersion),
			notNil(r.Data), notNil(r.Metadata), r.PrevHash[:], r.Hash[:], at, hVer, hHash).Scan(&first)
		if err != nil {
			return nil, failed(conn, err)
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
	var inserted int
	if err := conn.QueryRow(ctx, appendMany[hold], offs, sids, vers, ids, types, svs, data, meta, prevs, hashs, at,
		hSids, hVers, hHashes).Scan(&inserted, &first); err != nil {
		return nil, failed(conn, err)
	}
	if inserted != n {
		return nil, errStaleHead
	}
	for k, r := range recs {
		r.Position = uint64(first) + uint64(k)
	}
	return out, nil
}

// failed turns a failed append statement into its error, releasing the position lock should
// the statement have stopped while holding it (a cancellation at the wrong moment); a broken
// connection took the lock with its session.
func failed(conn *pgxpool.Conn, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errStaleHead // the head filter dropped the row
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code != codeUniqueViolation && !conn.Conn().IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(ctx, unlockSQL); uerr != nil {
			_ = conn.Conn().Close(ctx) // the session, and its lock, go with it
		}
	}
	return err
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
