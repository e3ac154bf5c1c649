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

// TestUnqueued: of messages some of which the outbox holds, Unqueued keeps exactly the others,
// in order, across more keys than one SQLite statement looks up.
func TestUnqueued(t *testing.T) {
	sqliteDB, queued := outbox(t, 3)
	pg := func(t *testing.T) *sql.DB {
		ctx := context.Background()
		s, err := postgres.Open(ctx, pgtest.Schema(t))
		require.NoError(t, err)
		db := stdlib.OpenDBFromPool(s.Pool())
		t.Cleanup(func() { _ = db.Close(); _ = s.Close() })
		require.NoError(t, sqldb.Migrate(ctx, db, sqldb.Postgres))
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
