package notify_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/notify"
)

// pgReadModels is a PostgreSQL schema of its own with the read models' tables (the outbox).
func pgReadModels(t *testing.T) *sql.DB {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.Schema(t))
	require.NoError(t, err)
	db := stdlib.OpenDBFromPool(s.Pool())
	t.Cleanup(func() { _ = db.Close(); _ = s.Close() })
	require.NoError(t, sqldb.Migrate(ctx, db, sqldb.Postgres))
	return db
}

// TestUnqueued: of messages some of which the outbox holds, Unqueued keeps exactly the others,
// in order, across more keys than one SQLite statement looks up.
func TestUnqueued(t *testing.T) {
	sqliteDB, queued := outbox(t, 3)
	pg := func(t *testing.T) *sql.DB {
		ctx := context.Background()
		db := pgReadModels(t)
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, notify.Enqueue(ctx, tx, sqldb.Postgres, queued, time.Now(), time.Time{}))
		require.NoError(t, tx.Commit())
		return db
	}
	for _, c := range []struct {
		name    string
		dialect sqldb.Dialect
		db      func(t *testing.T) *sql.DB
	}{{"sqlite", sqldb.SQLite, func(*testing.T) *sql.DB { return sqliteDB }}, {"postgres", sqldb.Postgres, pg}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			db := c.db(t)
			var all, want []model.Message
			for i := range 1200 {
				if i%400 == 7 {
					all = append(all, queued[i/400])
					continue
				}
				doc := uuid.New()
				m := model.Message{DedupKey: model.DedupKey(doc, uuid.New(), model.ChannelSMS1414), DocumentID: doc.String(),
					Channel: model.ChannelSMS1414, Position: uint64(100 + i), CreatedAt: time.Now(), Payload: []byte(`{}`)}
				all = append(all, m)
				want = append(want, m)
			}
			tx, err := db.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback() }()
			got, err := notify.Unqueued(ctx, tx, c.dialect, all)
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.NoError(t, notify.Enqueue(ctx, tx, c.dialect, got, time.Now(), time.Time{}))
			got, err = notify.Unqueued(ctx, tx, c.dialect, all)
			require.NoError(t, err)
			require.Empty(t, got, "every message is queued now")
		})
	}
}

// TestEnqueueCopyEqualsEnqueue: on PostgreSQL, enqueueing through COPY leaves the outbox as
// the multi-row INSERT does: statuses (pending, undeliverable, expired), payloads, and a key
// already queued left alone.
func TestEnqueueCopyEqualsEnqueue(t *testing.T) {
	ctx := context.Background()
	db := pgReadModels(t)
	empty, err := notify.Empty(ctx, db)
	require.NoError(t, err)
	require.True(t, empty)

	now := time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC)
	var msgs []model.Message
	for i := range notify.CopyMin + 72 {
		doc := uuid.New()
		msgs = append(msgs, model.Message{DedupKey: model.DedupKey(doc, uuid.New(), model.ChannelSMS1414), DocumentID: doc.String(),
			Channel: model.ChannelSMS1414, Position: uint64(i + 1), CreatedAt: now.Add(-time.Duration(i) * time.Hour),
			Payload: []byte(`{"n":` + string(rune('0'+i%10)) + `}`), NoContact: i%7 == 3})
	}
	old := msgs[5]
	old.Payload = []byte(`{"queued":"before"}`)
	dump := func() [][]any {
		rows, err := db.QueryContext(ctx, `SELECT dedup_key, document_id, channel, position, created_at, payload, status,
			attempts, next_attempt_at, last_error, enqueued_at, delivered_at FROM projections_outbox ORDER BY dedup_key`)
		require.NoError(t, err)
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			var k, d, c, p, st, le string
			var pos, cr, at, nx, en, de int64
			require.NoError(t, rows.Scan(&k, &d, &c, &pos, &cr, &p, &st, &at, &nx, &le, &en, &de))
			out = append(out, []any{k, d, c, pos, cr, p, st, at, nx, le, en, de})
		}
		require.NoError(t, rows.Err())
		return out
	}
	enqueue := func(copy bool) [][]any {
		_, err := db.ExecContext(ctx, `DELETE FROM projections_outbox`)
		require.NoError(t, err)
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		defer func() { _ = conn.Close() }()
		tx, err := conn.BeginTx(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, notify.Enqueue(ctx, tx, sqldb.Postgres, []model.Message{old}, now, time.Time{}))
		expire := now.Add(-100 * time.Hour)
		if copy {
			require.NoError(t, notify.EnqueueCopy(ctx, tx, conn, msgs, now, expire))
		} else {
			require.NoError(t, notify.Enqueue(ctx, tx, sqldb.Postgres, msgs, now, expire))
		}
		require.NoError(t, tx.Commit())
		return dump()
	}
	want := enqueue(false)
	require.Len(t, want, len(msgs))
	statuses := map[any]int{}
	for _, r := range want {
		statuses[r[6]]++
	}
	require.Len(t, statuses, 3, "pending, undeliverable and expired: %v", statuses)
	require.Equal(t, want, enqueue(true))
	empty, err = notify.Empty(ctx, db)
	require.NoError(t, err)
	require.False(t, empty)
}
