package election_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/custody-ledger/custody/internal/election"
	"github.com/custody-ledger/custody/internal/pgtest"
)

// TestOneLeaderPerElection: of two processes one leads and the other stands by until the
// leader releases; another election (lock key / lease name) is independent; a leader whose
// hold is lost (PostgreSQL: its connection dies; SQLite: its lease row is taken) stands down.
func TestOneLeaderPerElection(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var db *sql.DB
			var err error
			if pg {
				db, err = sql.Open("pgx", pgtest.Schema(t))
			} else {
				db, err = sql.Open("sqlite", filepath.Join(t.TempDir(), "e.db")+"?_pragma=busy_timeout(5000)")
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			_, err = db.ExecContext(ctx, `CREATE TABLE lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)`)
			require.NoError(t, err)
			cfg := func(key int64, lease string) election.Config {
				return election.Config{DB: db, Postgres: pg, LockKey: key, LeaseTable: "lease", LeaseName: lease,
					Owner: election.NewOwner(), TTL: 300 * time.Millisecond, Retry: 10 * time.Millisecond,
					Logger: slog.New(slog.DiscardHandler), Who: "test"}
			}
			a, b, other := cfg(7, "one"), cfg(7, "one"), cfg(8, "two")

			actx, arelease, err := election.TryElect(ctx, a)
			require.NoError(t, err)
			require.NotNil(t, actx, "the first process leads")
			bctx, _, err := election.TryElect(ctx, b)
			require.NoError(t, err)
			assert.Nil(t, bctx, "the second stands by while the first leads")
			octx, orelease, err := election.TryElect(ctx, other)
			require.NoError(t, err)
			require.NotNil(t, octx, "another election is independent")
			orelease()

			arelease()
			require.Error(t, actx.Err(), "a released leadership's context ends")
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			bctx, brelease, err := election.Elect(wctx, b)
			require.NoError(t, err, "the stand-by leads once the leader released")
			defer brelease()

			if pg { // the leader's session dies: the server drops the lock, the leader notices
				_, err = db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
					WHERE locktype = 'advisory' AND classid = 7 AND granted AND objid = hashtext(current_schema())::oid`)
			} else { // another process took the lease row
				_, err = db.ExecContext(ctx, `UPDATE lease SET owner = 'someone else' WHERE name = 'one'`)
			}
			require.NoError(t, err)
			select {
			case <-bctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("a leader that lost its hold did not stand down")
			}
		})
	}
}
