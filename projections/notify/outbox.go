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
	"time"

	"github.com/custody-ledger/custody/projections/internal/model"
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

// Enqueue inserts messages into the outbox inside the caller's transaction. A key already
// there is left alone (ON CONFLICT DO NOTHING): that is what makes a replay or a rebuild
// enqueue nothing twice. Messages triggered before `expireBefore` (when not zero) are
// recorded as expired instead of sent.
func Enqueue(ctx context.Context, tx Execer, msgs []model.Message, now, expireBefore time.Time) error {
	for _, m := range msgs {
		status := StatusPending
		switch {
		case m.NoContact:
			status = StatusUndeliverable
		case !expireBefore.IsZero() && m.CreatedAt.Before(expireBefore):
			status = StatusExpired
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO projections_outbox
			(dedup_key, document_id, channel, position, created_at, payload, status, attempts, next_attempt_at, last_error, enqueued_at, delivered_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, '', $8, 0) ON CONFLICT (dedup_key) DO NOTHING`,
			m.DedupKey, m.DocumentID, m.Channel, int64(m.Position), model.Micros(m.CreatedAt), string(m.Payload), status,
			now.UnixMicro()); err != nil {
			return fmt.Errorf("notify: enqueue %s: %w", m.DedupKey, err)
		}
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
