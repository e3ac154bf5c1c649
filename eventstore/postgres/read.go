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

// The global order (see the package doc): positions follow transaction ids, so a position
// that is missing between two visible events A and B belongs to a transaction whose id lies
// between theirs, or to none that is still running (a failed append, a crash). A reader stops
// at the first such gap that a transaction in flight in its snapshot (pg_current_snapshot, the
// statement's own) could own; an in-flight transaction that sits at no gap (another store's,
// or no append at all) holds nobody back.

// ReadAll's statements run in one round trip, in one REPEATABLE READ transaction, so they
// share a snapshot: the in-flight transaction ids (xip) with the transaction id of the last
// event at or below $1 (pred; 0 if none), then the page, each event with its transaction id.
// cutPage finds the first gap in the page that an in-flight transaction could own.
const (
	readMetaSQL = `SELECT array(SELECT x::text::bigint FROM pg_snapshot_xip(pg_current_snapshot()) AS x),
       coalesce((SELECT e.txid FROM events e WHERE e.position <= $1 ORDER BY e.position DESC LIMIT 1), 0)`
	readPageSQL = `SELECT ` + recordColumns + `, txid FROM events WHERE position > $1 ORDER BY position LIMIT $2`
)

// ReadAll returns up to limit events with Position > after in commit order, never passing a
// position that an in-flight transaction may still fill.
func (s *Store) ReadAll(ctx context.Context, after uint64, limit int) ([]eventstore.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read log: %w", err)
	}
	from := int64(min(after, 1<<62))
	recs, err := retry(ctx, func() ([]eventstore.Record, error) {
		var b pgx.Batch
		b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
		b.Queue(readMetaSQL, from)
		b.Queue(readPageSQL, from, limitArg(limit))
		b.Queue("COMMIT")
		br := s.pool.SendBatch(ctx, &b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
		var (
			xip   []int64
			pred  int64
			txids []int64
		)
		if err := br.QueryRow().Scan(&xip, &pred); err != nil {
			return nil, err
		}
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		recs, err := scanRecordsWith(rows, max(limit, 0), func(_ int, scan func(...any) error) error {
			var tx int64
			err := scan(&tx)
			txids = append(txids, tx)
			return err
		})
		if err != nil {
			return nil, err
		}
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
		return recs[:cutPage(uint64(from), recs, txids, pred, xip)], br.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read log after %d: %w", after, err)
	}
	return recs, nil
}

// cutPage returns how many of a page's records a reader may take: those before the first gap
// in positions (from after on) that a transaction in flight could own, one whose id lies
// between the transaction ids of the events on either side (pred for the event at or below
// after).
func cutPage(after uint64, recs []eventstore.Record, txids []int64, pred int64, xip []int64) int {
	if len(xip) == 0 {
		return len(recs)
	}
	prevPos, prevTx := after, pred
	for i, r := range recs {
		if r.Position > prevPos+1 {
			for _, x := range xip {
				if x > prevTx && x < txids[i] {
					return i
				}
			}
		}
		prevPos, prevTx = r.Position, txids[i]
	}
	return len(recs)
}

// headSQL is the same cut over the whole log: for each transaction in flight, hi is the first
// event after it (custody_first_after, a search on the primary key) and lo the event just
// before hi; positions missing between them may be that transaction's.
const headSQL = `WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
cut AS MATERIALIZED (
  SELECT min(coalesce(lo.position, 0)) AS p
    FROM snap, pg_snapshot_xip(snap.s) AS x(xid)
    CROSS JOIN LATERAL (SELECT custody_first_after(x.xid::text::bigint) AS position) hi
    LEFT JOIN LATERAL (SELECT e.position FROM events e
                        WHERE e.position < hi.position ORDER BY e.position DESC LIMIT 1) lo ON true
   WHERE hi.position > coalesce(lo.position, 0) + 1)
SELECT coalesce((SELECT p FROM cut), (SELECT max(position) FROM events), 0)`

// Head returns the last position ReadAll would return now (0 if none).
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("postgres: head: %w", err)
	}
	head, err := retry(ctx, func() (int64, error) {
		var head int64
		err := s.pool.QueryRow(ctx, headSQL).Scan(&head)
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
	return scanRecordsWith(rows, sizeHint, nil)
}

// scanRecordsWith scans records; extra, when set, scans the columns after a record's (row i)
// with the scan it is given, which takes their destinations.
func scanRecordsWith(rows pgx.Rows, sizeHint int, extra func(i int, scan func(...any) error) error) ([]eventstore.Record, error) {
	defer rows.Close()
	recs := make([]eventstore.Record, 0, min(sizeHint, 4096))
	var (
		version, position int64
		id                [16]byte // not uuid.UUID: pgx would scan that through sql.Scanner and text
		sv                int32
		at                time.Time
		prev, hash        []byte
	)
	var r eventstore.Record
	dest := []any{&r.StreamID, &version, &position, &id, &r.Type, &sv, &r.Data, &r.Metadata, &at, &prev, &hash}
	base := len(dest)
	for i := 0; rows.Next(); i++ {
		r = eventstore.Record{}
		var err error
		if extra == nil {
			err = rows.Scan(dest...)
		} else {
			err = extra(i, func(more ...any) error { return rows.Scan(append(dest[:base], more...)...) })
		}
		if err != nil {
			return nil, err
		}
		r.Version, r.Position, r.EventID, r.SchemaVersion = uint64(version), uint64(position), id, int(sv)
		r.Data, r.Metadata, r.RecordedAt = orNil(r.Data), orNil(r.Metadata), at.UTC()
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
