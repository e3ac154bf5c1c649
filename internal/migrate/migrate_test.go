package migrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/custody-ledger/custody/internal/migrate"
	"github.com/custody-ledger/custody/internal/pgtest"
)

func component(files ...string) migrate.Component {
	fsys := fstest.MapFS{}
	for i, body := range files {
		name := []string{"0001_a.sql", "0002_b.sql", "0003_c.sql"}[i]
		fsys[name] = &fstest.MapFile{Data: []byte("-- +goose Up\n" + body)}
	}
	return migrate.Component{Name: "t", FS: fsys}
}

func databases(t *testing.T) map[migrate.Dialect]*sql.DB {
	lite, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "t.db")+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = lite.Close() })
	pg, err := sql.Open("pgx", pgtest.Schema(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Close() })
	return map[migrate.Dialect]*sql.DB{migrate.SQLite: lite, migrate.Postgres: pg}
}

func TestUpAppliesPendingOnceAndRefusesNewer(t *testing.T) {
	for d, db := range databases(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			require.NoError(t, migrate.Up(ctx, db, d, component(`CREATE TABLE a (x INTEGER);`)))
			require.NoError(t, migrate.Up(ctx, db, d, component(`CREATE TABLE a (x INTEGER);`,
				`INSERT INTO a VALUES (1);`)))
			require.NoError(t, migrate.Up(ctx, db, d, component(`CREATE TABLE a (x INTEGER);`,
				`INSERT INTO a VALUES (1);`)))
			var n int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM a`).Scan(&n))
			assert.Equal(t, 1, n, "0002 ran once")

			err := migrate.Up(ctx, db, d, component(`CREATE TABLE a (x INTEGER);`))
			assert.ErrorContains(t, err, "database schema version 2 is newer than this program's 1")
		})
	}
}

func TestLegacyVersionsAreAdopted(t *testing.T) {
	for d, db := range databases(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			_, err := db.ExecContext(ctx, `CREATE TABLE old_versions (version BIGINT NOT NULL)`)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, `INSERT INTO old_versions VALUES (1)`)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, `CREATE TABLE a (x INTEGER)`) // what version 1 made
			require.NoError(t, err)
			c := component(`CREATE TABLE a (x INTEGER);`, `INSERT INTO a VALUES (2);`)
			c.Legacy = migrate.MaxVersionIn("old_versions", "")
			require.NoError(t, migrate.Up(ctx, db, d, c))
			var x int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT x FROM a`).Scan(&x))
			assert.Equal(t, 2, x, "only 0002 ran")

			c = component(`CREATE TABLE b (x INTEGER);`)
			c.Name, c.Legacy = "other", migrate.MaxVersionIn("old_versions", "")
			_, err = db.ExecContext(ctx, `INSERT INTO old_versions VALUES (5)`)
			require.NoError(t, err)
			assert.ErrorContains(t, migrate.Up(ctx, db, d, c), "applied version 2, which this program does not have")
		})
	}
}

// A lease left by a process killed while migrating expires; a live one is waited for.
func TestSQLiteLease(t *testing.T) {
	db := databases(t)[migrate.SQLite]
	ctx := t.Context()
	require.NoError(t, migrate.Up(ctx, db, migrate.SQLite, component(`CREATE TABLE a (x INTEGER);`)))

	_, err := db.ExecContext(ctx, `INSERT INTO custody_migrate_lease VALUES (1, 'someone', $1)`,
		time.Now().Add(time.Minute).UnixMicro())
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, migrate.Up(short, db, migrate.SQLite, component(`CREATE TABLE a (x INTEGER);`)), context.DeadlineExceeded)

	_, err = db.ExecContext(ctx, `UPDATE custody_migrate_lease SET expires_at = $1`, time.Now().Add(-time.Second).UnixMicro())
	require.NoError(t, err)
	require.NoError(t, migrate.Up(ctx, db, migrate.SQLite, component(`CREATE TABLE a (x INTEGER);`)))
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM custody_migrate_lease`).Scan(&n))
	assert.Zero(t, n, "released")
}

// The PostgreSQL lock is waited for, not failed on.
func TestPostgresLockWaits(t *testing.T) {
	db := databases(t)[migrate.Postgres]
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended('custody.migrate:' || current_setting('search_path'), 0))`)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- migrate.Up(ctx, db, migrate.Postgres, component(`CREATE TABLE a (x INTEGER);`)) }()
	select {
	case err := <-done:
		t.Fatalf("Up ran under someone else's lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_unlock_all()`)
	require.NoError(t, err)
	require.NoError(t, <-done)
}
