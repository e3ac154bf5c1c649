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
	"sync/atomic"
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

// Term is one leadership. It lasts until its context ends and, on SQLite, is held only while
// the lease it last wrote has not expired: a stand-by may take an expired lease, so Held
// counts the leader out at the expiry by the clock, even while its renewal is still waiting.
type Term struct {
	ctx     context.Context
	release func()
	expires atomic.Int64 // the lease's expiry, unix microseconds; 0 for PostgreSQL's lock
}

// Context lives while the term holds; the leader's work runs under it.
func (t *Term) Context() context.Context { return t.ctx }

// Release gives the leadership up (the lock is unlocked, the lease row deleted).
func (t *Term) Release() { t.release() }

// Held reports whether this process leads now.
func (t *Term) Held() bool {
	if t.ctx.Err() != nil {
		return false
	}
	e := t.expires.Load()
	return e == 0 || time.Now().UnixMicro() < e
}

// Elect blocks until this process leads, or ctx ends. On PostgreSQL the advisory lock is
// held by a dedicated connection (released by the server the moment that connection or
// process dies), pinged every TTL/3; on SQLite the lease row is renewed every TTL/3. Callers
// fence their writes (checkpoints, tree size) for the moment a lost leader has not noticed.
func Elect(ctx context.Context, c Config) (*Term, error) {
	for {
		t, err := TryElect(ctx, c)
		if err != nil && ctx.Err() == nil {
			c.Logger.Warn(c.Who+": election failed", "err", err)
		}
		if t != nil {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.Retry):
		}
	}
}

// TryElect tries once; a nil term with a nil error means another process leads.
func TryElect(ctx context.Context, c Config) (*Term, error) {
	t := &Term{}
	var (
		keep   func(context.Context) error // checks, every TTL/3, that we still lead
		unlock func(context.Context)
	)
	if c.Postgres {
		conn, err := c.DB.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: election connection: %w", c.Who, err)
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, c.LockKey).Scan(&got); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("%s: try advisory lock: %w", c.Who, err)
		}
		if !got {
			_ = conn.Close()
			return nil, nil
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
		expires, err := lease(ctx, c)
		if err != nil || expires == 0 {
			return nil, err
		}
		t.expires.Store(expires)
		keep = func(ctx context.Context) error {
			// No timeout: the renewal may wait for the leader's own write transaction, and
			// ending the term for that would roll the transaction back and could make a lone
			// process redo it forever. Held is false meanwhile if the lease runs out.
			expires, err := lease(ctx, c)
			if err == nil && expires == 0 {
				return fmt.Errorf("%s: the lease was taken by another process", c.Who)
			}
			if err == nil {
				t.expires.Store(expires)
			}
			return err
		}
		unlock = func(ctx context.Context) {
			_, _ = c.DB.ExecContext(ctx, `DELETE FROM `+c.LeaseTable+` WHERE name = $1 AND owner = $2`, c.LeaseName, c.Owner)
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	t.ctx = lctx
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(c.TTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
				if err := keep(lctx); err != nil && lctx.Err() == nil {
					c.Logger.Warn(c.Who+": lost the election; standing down", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	t.release = func() {
		cancel()
		<-done
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		unlock(uctx)
	}
	return t, nil
}

// lease takes or renews the lease row. It returns the expiry it wrote (unix microseconds),
// or 0 when another owner holds an unexpired lease.
func lease(ctx context.Context, c Config) (int64, error) {
	now := time.Now()
	expires := now.Add(c.TTL).UnixMicro()
	t := c.LeaseTable
	res, err := c.DB.ExecContext(ctx, `INSERT INTO `+t+` (name, owner, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE `+t+`.owner = excluded.owner OR `+t+`.expires_at < $4`,
		c.LeaseName, c.Owner, expires, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("%s: lease: %w", c.Who, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		return 0, err
	}
	return expires, nil
}
