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

			aterm, err := election.TryElect(ctx, a)
			require.NoError(t, err)
			require.NotNil(t, aterm, "the first process leads")
			assert.True(t, aterm.Held())
			bterm, err := election.TryElect(ctx, b)
			require.NoError(t, err)
			assert.Nil(t, bterm, "the second stands by while the first leads")
			oterm, err := election.TryElect(ctx, other)
			require.NoError(t, err)
			require.NotNil(t, oterm, "another election is independent")
			oterm.Release()

			aterm.Release()
			require.Error(t, aterm.Context().Err(), "a released leadership's context ends")
			assert.False(t, aterm.Held())
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			bterm, err = election.Elect(wctx, b)
			require.NoError(t, err, "the stand-by leads once the leader released")
			defer bterm.Release()

			if pg { // the leader's session dies: the server drops the lock, the leader notices
				_, err = db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
					WHERE locktype = 'advisory' AND classid = 7 AND granted AND objid = hashtext(current_schema())::oid`)
			} else { // another process took the lease row
				_, err = db.ExecContext(ctx, `UPDATE lease SET owner = 'someone else' WHERE name = 'one'`)
			}
			require.NoError(t, err)
			select {
			case <-bterm.Context().Done():
			case <-time.After(5 * time.Second):
				t.Fatal("a leader that lost its hold did not stand down")
			}
		})
	}
}

// TestExpiredLeaseIsNotHeld: on SQLite a leader whose renewal cannot be written (another
// connection holds the write lock) is not held from the moment its lease expires, since a
// stand-by may take an expired lease; once the renewal gets through and nobody took the
// lease, it holds again, without ending the term.
func TestExpiredLeaseIsNotHeld(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "e.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	db, blocker := open(), open()
	_, err := db.ExecContext(ctx, `CREATE TABLE lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)`)
	require.NoError(t, err)
	const ttl = 300 * time.Millisecond
	cfg := election.Config{DB: db, LeaseTable: "lease", LeaseName: "one", Owner: election.NewOwner(), TTL: ttl,
		Retry: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), Who: "test"}
	term, err := election.TryElect(ctx, cfg)
	require.NoError(t, err)
	require.NotNil(t, term)
	defer term.Release()

	// Another process holds the write lock for longer than the lease lives.
	conn, err := blocker.Conn(ctx)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	_, err = conn.ExecContext(ctx, `BEGIN IMMEDIATE`)
	require.NoError(t, err)
	// Any renewal written before the lock was taken expires by locked+ttl.
	locked := time.Now()
	time.Sleep(time.Until(locked.Add(ttl + 10*time.Millisecond)))
	assert.False(t, term.Held(), "a lease past its expiry is not held while its renewal waits")
	assert.NoError(t, term.Context().Err(), "waiting for the write lock does not end the term")
	_, err = conn.ExecContext(ctx, `ROLLBACK`)
	require.NoError(t, err)

	deadline := time.Now().Add(5 * time.Second)
	for !term.Held() {
		require.True(t, time.Now().Before(deadline), "the renewal got through, and nobody took the lease")
		time.Sleep(10 * time.Millisecond)
	}
	assert.NoError(t, term.Context().Err())
}
