package migrate

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"time"
)

// The migration lock. On PostgreSQL a session advisory lock keyed on the search_path (one
// database holds many stores, one per schema); it needs no table, so nothing is created
// before it is held. On SQLite a lease row: goose works through connections of its own, which
// a write lock held here would block. A lease expires, so a process killed while migrating
// does not lock the file for ever; the holder renews it while it works.
const (
	leaseTTL   = 30 * time.Second
	leaseRenew = 10 * time.Second
	leaseRetry = 20 * time.Millisecond // between tries of the lock or the lease
)

const pgLockKey = `hashtextextended('custody.migrate:' || current_setting('search_path'), 0)`

func lock(ctx context.Context, db *sql.DB, d Dialect) (unlock func(), err error) {
	if d == Postgres {
		return pgLock(ctx, db)
	}
	return sqliteLease(ctx, db)
}

func pgLock(ctx context.Context, db *sql.DB) (func(), error) {
	// Try and poll rather than wait in pg_advisory_lock: a waiter would hold a connection of
	// a pool that the holder needs a second one of for goose.
	var conn *sql.Conn
	for {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		var ok bool
		if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+pgLockKey+`)`).Scan(&ok); err != nil {
			_ = c.Close()
			return nil, err
		}
		if ok {
			conn = c
			break
		}
		_ = c.Close()
		if err := sleep(ctx, leaseRetry); err != nil {
			return nil, err
		}
	}
	return func() {
		// A fresh context: the lock must go even if ctx has ended. If unlocking fails, the
		// connection is dropped, and the lock with its session.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock(`+pgLockKey+`)`); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		_ = conn.Close()
	}, nil
}

func sqliteLease(ctx context.Context, db *sql.DB) (func(), error) {
	// CREATE TABLE IF NOT EXISTS is atomic on SQLite: it runs under the file's write lock.
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS custody_migrate_lease (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL -- Unix microseconds
)`); err != nil {
		return nil, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	owner := hex.EncodeToString(b)
	take := func(ctx context.Context) (bool, error) {
		now := time.Now()
		res, err := db.ExecContext(ctx, `INSERT INTO custody_migrate_lease (id, owner, expires_at) VALUES (1, $1, $2)
ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE custody_migrate_lease.owner = excluded.owner OR custody_migrate_lease.expires_at < $3`,
			owner, now.Add(leaseTTL).UnixMicro(), now.UnixMicro())
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	for {
		ok, err := take(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		if err := sleep(ctx, leaseRetry); err != nil {
			return nil, err
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { // renew while the migrations run
		defer close(done)
		t := time.NewTicker(leaseRenew)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_, _ = take(context.Background())
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// On failure the lease expires by itself.
		_, _ = db.ExecContext(uctx, `DELETE FROM custody_migrate_lease WHERE owner = $1`, owner)
	}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("wait for the migration lock: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
