// Package notify delivers the notifications of DOMAIN.md (P.25, P.27, P.28, P.34) from the
// transactional outbox (table projections_outbox, written in the projection's batch
// transaction) through a Watermill publisher: the in-process Go channel (default), an HTTP
// webhook signed with HMAC-SHA256, or NATS JetStream.
//
// Delivery is at least once and every message carries its dedup key (document id, trigger
// event id, channel: metadata "dedup_key", the message UUID, the webhook's
// X-Custody-Dedup-Key header, JetStream's Nats-Msg-Id), so a consumer drops the one repeat a
// crash between publishing and marking the row delivered can cause. The outbox itself holds
// each key once, so neither a retried batch nor a rebuild enqueues anything twice.
package notify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Outbox row statuses.
const (
	StatusPending       = "pending"
	StatusDelivered     = "delivered"
	StatusPoison        = "poison"        // failed MaxAttempts times; moved to the poison queue
	StatusUndeliverable = "undeliverable" // no recipient contact (a ЦОН-route document)
	StatusExpired       = "expired"       // older than the projections' NotifyMaxAge when triggered
)

// Execer is a *sql.Tx or *sql.DB.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Queryer is a *sql.Tx or *sql.DB.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Unqueued returns the messages whose dedup key the outbox does not hold yet, in order. A
// rebuild projects every notification again and almost all are there already: looking their
// keys up costs less than encoding and sending each payload for ON CONFLICT DO NOTHING to
// drop. Enqueue still guards against a key another process adds meanwhile.
func Unqueued(ctx context.Context, q Queryer, d sqldb.Dialect, msgs []model.Message) ([]model.Message, error) {
	if len(msgs) == 0 {
		return msgs, nil
	}
	known := map[string]bool{}
	scan := func(rows *sql.Rows, err error) error {
		if err != nil {
			return fmt.Errorf("notify: look up queued keys: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return fmt.Errorf("notify: look up queued keys: %w", err)
			}
			known[k] = true
		}
		return rows.Err()
	}
	if d == sqldb.Postgres {
		keys := make([]string, len(msgs))
		for i, m := range msgs {
			keys[i] = m.DedupKey
		}
		if err := scan(q.QueryContext(ctx, `SELECT dedup_key FROM projections_outbox WHERE dedup_key = ANY($1)`, keys)); err != nil {
			return nil, err
		}
	} else {
		for rest := msgs; len(rest) > 0; {
			n := min(len(rest), 500)
			args := make([]any, n)
			for i, m := range rest[:n] {
				args[i] = m.DedupKey
			}
			query := `SELECT dedup_key FROM projections_outbox WHERE dedup_key IN (?` + strings.Repeat(", ?", n-1) + `)`
			if err := scan(q.QueryContext(ctx, query, args...)); err != nil {
				return nil, err
			}
			rest = rest[n:]
		}
	}
	if len(known) == 0 {
		return msgs, nil
	}
	out := make([]model.Message, 0, len(msgs)-len(known))
	for _, m := range msgs {
		if !known[m.DedupKey] {
			out = append(out, m)
		}
	}
	return out, nil
}

// Empty reports whether the outbox holds no message at all (a first build: Unqueued would find
// nothing).
func Empty(ctx context.Context, q Queryer) (bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT 1 FROM projections_outbox LIMIT 1`)
	if err != nil {
		return false, fmt.Errorf("notify: look at the outbox: %w", err)
	}
	defer rows.Close()
	empty := !rows.Next()
	return empty, rows.Err()
}

// Enqueue inserts messages into the outbox inside the caller's transaction, many rows per
// statement. A key already there is left alone (ON CONFLICT DO NOTHING): that is what makes a
// replay or a rebuild enqueue nothing twice. Messages triggered before `expireBefore` (when
// not zero) are recorded as expired instead of sent. A message not encoded yet (Payload nil)
// is encoded here.
func Enqueue(ctx context.Context, tx Execer, d sqldb.Dialect, msgs []model.Message, now, expireBefore time.Time) error {
	cols := len(outboxColumns)
	for len(msgs) > 0 {
		n := min(len(msgs), 200)
		var (
			b    strings.Builder
			args = make([]any, 0, n*cols)
		)
		b.WriteString(`INSERT INTO projections_outbox (` + strings.Join(outboxColumns, ", ") + `) VALUES `)
		for i, m := range msgs[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				if d == sqldb.SQLite {
					b.WriteString("?") // SQLite looks $n up by name: quadratic in wide statements
				} else {
					fmt.Fprintf(&b, "$%d", i*cols+j+1)
				}
			}
			b.WriteString(")")
			args = append(args, outboxRow(m, now, expireBefore)...)
		}
		b.WriteString(" ON CONFLICT (dedup_key) DO NOTHING")
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("notify: enqueue %d messages: %w", n, err)
		}
		msgs = msgs[n:]
	}
	return nil
}

// outboxColumns are the columns a message is enqueued into, in outboxRow's order.
var outboxColumns = []string{"dedup_key", "document_id", "channel", "position", "created_at", "payload", "status",
	"enqueued_at", "last_error"}

// outboxRow is a message's row as enqueued (encoded if it is not yet), with the status it
// starts in.
func outboxRow(m model.Message, now, expireBefore time.Time) []any {
	status := StatusPending
	switch {
	case m.NoContact:
		status = StatusUndeliverable
	case !expireBefore.IsZero() && m.CreatedAt.Before(expireBefore):
		status = StatusExpired
	}
	m = m.Encode()
	return []any{m.DedupKey, m.DocumentID, m.Channel, int64(m.Position), model.Micros(m.CreatedAt),
		string(m.Payload), status, now.UnixMicro(), ""}
}

// CopyMin is how many messages make EnqueueCopy cheaper than Enqueue: a first build enqueues
// every notification of the log, thousands a batch, and a multi-row INSERT of them is one
// bind message of megabytes, built by growing a buffer.
const CopyMin = 128

// EnqueueCopy is Enqueue on PostgreSQL through COPY into a staging table (the session's,
// emptied at commit) and one INSERT ... SELECT ... ON CONFLICT DO NOTHING, in the transaction
// open on conn (a pgx connection), tx.
func EnqueueCopy(ctx context.Context, tx Execer, conn *sql.Conn, msgs []model.Message, now, expireBefore time.Time) error {
	const stage = "projections_outbox_stage"
	if len(msgs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS `+stage+` (LIKE projections_outbox INCLUDING DEFAULTS)
		ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("notify: staging table: %w", err)
	}
	rows := make([][]any, len(msgs))
	for i, m := range msgs {
		rows[i] = outboxRow(m, now, expireBefore)
	}
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection: %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{stage}, outboxColumns, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: copy %d messages: %w", len(msgs), err)
	}
	cols := strings.Join(outboxColumns, ", ")
	if _, err := tx.ExecContext(ctx, `INSERT INTO projections_outbox (`+cols+`) SELECT `+cols+` FROM `+stage+
		` ON CONFLICT (dedup_key) DO NOTHING`); err != nil {
		return fmt.Errorf("notify: enqueue %d messages: %w", len(msgs), err)
	}
	return nil
}

// Counts returns how many outbox rows are in each status.
func Counts(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT status, COUNT(*) FROM projections_outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("notify: count outbox: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			s string
			n int64
		)
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("notify: count outbox: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}
