package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custody-ledger/custody/eventstore"
)

const recordColumns = `stream_id, version, position, event_id, type, schema_version, data, metadata,
       recorded_at, prev_hash, hash`

// ReadStream returns up to limit events of a stream with Version >= from, oldest first.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read stream: %w", err)
	}
	recs, err := retry(ctx, func() ([]eventstore.Record, error) {
		rows, err := s.pool.Query(ctx, "SELECT "+recordColumns+` FROM events
			WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`, stream, int64(min(from, 1<<62)), limitArg(limit))
		if err != nil {
			return nil, err
		}
		recs, err := scanRecords(rows, max(limit, 0))
		if err != nil {
			return nil, err
		}
		if n := len(recs); n > 0 {
			if limit <= 0 || n < limit { // read to the end: remember the head for appends
				last := recs[n-1]
				s.heads.put(stream, head{version: last.Version, hash: last.Hash, at: last.RecordedAt})
			}
			return recs, nil
		}
		// Nothing read: an empty page of an existing stream, or no stream at all.
		var exists bool
		err = s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)", stream).Scan(&exists)
		if err == nil && !exists {
			err = eventstore.ErrNotFound
		}
		return nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read stream %s: %w", stream, err)
	}
	return recs, nil
}

// safeCut is the heart of the global order (see the package doc). For every transaction that
// is in flight in the statement's snapshot it finds the committed appends with the nearest
// lower (lo) and higher (hi) transaction ids; since positions follow transaction ids, a gap
// between the end of lo and the start of hi may be that transaction's, still to commit, so
// readers stop at the end of lo. Without such a gap the in-flight transaction holds no
// position below what is visible (it is another store's, or no append at all) and does not
// hold readers back. cut.p is NULL when nothing blocks.
const safeCut = `snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
cut AS MATERIALIZED (
  SELECT min(coalesce(lo.last, 0)) AS p
    FROM snap, pg_snapshot_xip(snap.s) AS x(xid)
    JOIN LATERAL (SELECT e.position FROM events e
                   WHERE e.tx_events IS NOT NULL AND e.txid > x.xid::text::bigint
                   ORDER BY e.txid LIMIT 1) hi ON true
    LEFT JOIN LATERAL (SELECT e.position + e.tx_events - 1 AS last FROM events e
                   WHERE e.tx_events IS NOT NULL AND e.txid < x.xid::text::bigint
                   ORDER BY e.txid DESC LIMIT 1) lo ON true
   WHERE hi.position > coalesce(lo.last, 0) + 1)`

// ReadAll returns up to limit events with Position > after in commit order, never passing a
// position that an in-flight transaction may still fill.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read log: %w", err)
	}
	recs, err := retry(ctx, func() ([]eventstore.Record, error) {
		rows, err := s.pool.Query(ctx, "WITH "+safeCut+"\nSELECT "+recordColumns+` FROM events
			WHERE position > $1 AND position <= coalesce((SELECT p FROM cut), 9223372036854775807)
			ORDER BY position LIMIT $2`, int64(min(after, 1<<62)), limitArg(limit))
		if err != nil {
			return nil, err
		}
		return scanRecords(rows, max(limit, 0))
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read log after %d: %w", after, err)
	}
	return recs, nil
}

// Head returns the last position ReadAll would return now (0 if none).
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("postgres: head: %w", err)
	}
	head, err := retry(ctx, func() (int64, error) {
		var head int64
		err := s.pool.QueryRow(ctx, "WITH "+safeCut+`
			SELECT coalesce((SELECT p FROM cut), (SELECT max(position) FROM events), 0)`).Scan(&head)
		return head, err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: head: %w", err)
	}
	return uint64(head), nil
}

// limitArg maps the port's "limit <= 0 means no limit" to LIMIT NULL.
func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	l := int64(limit)
	return &l
}

func scanRecords(rows pgx.Rows, sizeHint int) ([]eventstore.Record, error) {
	defer rows.Close()
	recs := make([]eventstore.Record, 0, min(sizeHint, 4096))
	var (
		version, position int64
		id                [16]byte // not uuid.UUID: pgx would scan that through sql.Scanner and text
		sv                int32
		at                time.Time
		prev, hash        []byte
	)
	for rows.Next() {
		var r eventstore.Record
		if err := rows.Scan(&r.StreamID, &version, &position, &id, &r.Type, &sv, &r.Data, &r.Metadata,
			&at, &prev, &hash); err != nil {
			return nil, err
		}
		r.Version, r.Position, r.EventID, r.SchemaVersion = uint64(version), uint64(position), id, int(sv)
		r.Data, r.Metadata, r.RecordedAt = orNil(r.Data), orNil(r.Metadata), at.UTC()
		var err error
		if r.PrevHash, err = toHash(prev); err != nil {
			return nil, err
		}
		if r.Hash, err = toHash(hash); err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return recs, nil
}
