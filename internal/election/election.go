// Package election makes one process of many the leader of a store: a session advisory
// lock on PostgreSQL, a lease row with an expiry on SQLite. The projection runner and the
// transparency sequencer each elect their own leader through it.
package election

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// Config names one election.
type Config struct {
	DB       *sql.DB
	Postgres bool
	// LockKey is the first half of the PostgreSQL advisory lock; the second is
	// hashtext(current_schema()), so each schema (one store per test) elects its own leader.
	LockKey int64
	// LeaseTable has columns (name PRIMARY KEY, owner, expires_at microseconds); LeaseName is
	// this election's row in it. SQLite only.
	LeaseTable string
	LeaseName  string
	Owner      string        // this process, from NewOwner
	TTL        time.Duration // the lease's lifetime; the hold is checked every TTL/3
	Retry      time.Duration // how often a stand-by tries again
	Logger     *slog.Logger
	Who        string // prefixes log lines and errors ("projections")
}

// NewOwner names this process in a lease row.
func NewOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Elect blocks until this process leads, or ctx ends. It returns a context that lives while
// the leadership holds and the release that gives it up. On PostgreSQL the advisory lock is
// held by a dedicated connection (released by the server the moment that connection or
// process dies), pinged every TTL/3; on SQLite the lease row is renewed every TTL/3. Callers
// fence their writes (checkpoints, tree size) for the moment a lost leader has not noticed.
func Elect(ctx context.Context, c Config) (context.Context, func(), error) {
	for {
		lctx, release, err := TryElect(ctx, c)
		if err != nil && ctx.Err() == nil {
			c.Logger.Warn(c.Who+": election failed", "err", err)
		}
		if lctx != nil {
			return lctx, release, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(c.Retry):
		}
	}
}

// TryElect tries once; a nil context with a nil error means another process leads.
func TryElect(ctx context.Context, c Config) (context.Context, func(), error) {
	var (
		keep   func(context.Context) error // checks, every TTL/3, that we still lead
		unlock func(context.Context)
	)
	if c.Postgres {
		conn, err := c.DB.Conn(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: election connection: %w", c.Who, err)
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, c.LockKey).Scan(&got); err != nil {
			_ = conn.Close()
			return nil, nil, fmt.Errorf("%s: try advisory lock: %w", c.Who, err)
		}
		if !got {
			_ = conn.Close()
			return nil, nil, nil
		}
		keep = func(ctx context.Context) error { // a dead connection has lost the lock
			pctx, cancel := context.WithTimeout(ctx, c.TTL/3)
			defer cancel()
			return conn.PingContext(pctx)
		}
		unlock = func(ctx context.Context) {
			_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, c.LockKey)
			_ = conn.Close()
		}
	} else {
		held, err := lease(ctx, c)
		if err != nil || !held {
			return nil, nil, err
		}
		keep = func(ctx context.Context) error {
			held, err := lease(ctx, c)
			if err == nil && !held {
				err = fmt.Errorf("%s: the lease was taken by another process", c.Who)
			}
			return err
		}
		unlock = func(ctx context.Context) {
			_, _ = c.DB.ExecContext(ctx, `DELETE FROM `+c.LeaseTable+` WHERE name = $1 AND owner = $2`, c.LeaseName, c.Owner)
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(c.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				// No timeout on the SQLite renewal: it may wait for the runner's own write
				// transaction, and standing down for that would make leadership flap.
				if err := keep(lctx); err != nil && lctx.Err() == nil {
					c.Logger.Warn(c.Who+": lost the election; standing down", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	return lctx, func() {
		cancel()
		<-done
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		unlock(uctx)
	}, nil
}

// lease takes or renews the lease row; it reports whether this owner holds it.
func lease(ctx context.Context, c Config) (bool, error) {
	now := time.Now()
	t := c.LeaseTable
	res, err := c.DB.ExecContext(ctx, `INSERT INTO `+t+` (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE `+t+`.owner = excluded.owner OR `+t+`.expires_at < $4`,
		c.LeaseName, c.Owner, now.Add(c.TTL).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("%s: lease: %w", c.Who, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
