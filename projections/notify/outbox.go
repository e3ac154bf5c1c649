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

// Enqueue inserts messages into the outbox inside the caller's transaction, many rows per
// statement. A key already there is left alone (ON CONFLICT DO NOTHING): that is what makes a
// replay or a rebuild enqueue nothing twice. Messages triggered before `expireBefore` (when
// not zero) are recorded as expired instead of sent.
func Enqueue(ctx context.Context, tx Execer, d sqldb.Dialect, msgs []model.Message, now, expireBefore time.Time) error {
	const cols = 9
	for len(msgs) > 0 {
		n := min(len(msgs), 200)
		var (
			b    strings.Builder
			args = make([]any, 0, n*cols)
		)
		b.WriteString(`INSERT INTO projections_outbox (dedup_key, document_id, channel, position, created_at, payload, status,
			enqueued_at, last_error) VALUES `)
		for i, m := range msgs[:n] {
			status := StatusPending
			switch {
			case m.NoContact:
				status = StatusUndeliverable
			case !expireBefore.IsZero() && m.CreatedAt.Before(expireBefore):
				status = StatusExpired
			}
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
			args = append(args, m.DedupKey, m.DocumentID, m.Channel, int64(m.Position), model.Micros(m.CreatedAt),
				string(m.Payload), status, now.UnixMicro(), "")
		}
		b.WriteString(" ON CONFLICT (dedup_key) DO NOTHING")
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("notify: enqueue %d messages: %w", n, err)
		}
		msgs = msgs[n:]
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
