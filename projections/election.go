package projections

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// leaderLockKey is the first half of the PostgreSQL advisory lock; the second is
// hashtext(current_schema()), so each schema (one store per test) elects its own runner.
const leaderLockKey = 1886547818

// leadership is held while ctx lives; release gives it up.
type leadership struct {
	ctx     context.Context
	release func()
}

// elect blocks until this process is the runner, or ctx ends. On PostgreSQL it takes a
// session advisory lock on a dedicated connection (released by the server the moment that
// connection or process dies); on SQLite it takes a lease row with an expiry, renewed while
// held. The checkpoint fence (sqldb.Advance) keeps batches exactly-once even in the moment a
// lost leader has not noticed yet.
func (p *Projections) elect(ctx context.Context) (*leadership, error) {
	for {
		l, err := p.tryElect(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("projections: election failed", "err", err)
		}
		if l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(p.opts.ElectionRetry):
		}
	}
}

func (p *Projections) tryElect(ctx context.Context) (*leadership, error) {
	if p.dialect == sqldb.Postgres {
		return p.tryAdvisory(ctx)
	}
	return p.tryLease(ctx)
}

func (p *Projections) tryAdvisory(ctx context.Context) (*leadership, error) {
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: election connection: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, leaderLockKey).Scan(&got); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("projections: try advisory lock: %w", err)
	}
	if !got {
		_ = conn.Close()
		return nil, nil
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // a dead connection has lost the lock: stop leading at once
		defer close(done)
		t := time.NewTicker(p.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(lctx, p.opts.LeaseTTL/3)
				err := conn.PingContext(pctx)
				pcancel()
				if err != nil && lctx.Err() == nil {
					p.log.Warn("projections: lost the election connection; standing down", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	return &leadership{ctx: lctx, release: func() {
		cancel()
		<-done
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		_, _ = conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, leaderLockKey)
		_ = conn.Close()
	}}, nil
}

func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lease takes or renews the runner lease; it reports whether this owner holds it.
func (p *Projections) lease(ctx context.Context, db *sql.DB) (bool, error) {
	now := time.Now()
	res, err := db.ExecContext(ctx, `INSERT INTO projections_lease (name, owner, expires_at) VALUES ('runner', $1, $2)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		WHERE projections_lease.owner = excluded.owner OR projections_lease.expires_at < $3`,
		p.owner, now.Add(p.opts.LeaseTTL).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("projections: lease: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (p *Projections) tryLease(ctx context.Context) (*leadership, error) {
	ok, err := p.lease(ctx, p.db)
	if err != nil || !ok {
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(p.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				held, err := p.lease(lctx, p.db)
				if lctx.Err() != nil {
					return
				}
				if err != nil || !held {
					p.log.Warn("projections: lost the runner lease; standing down", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	return &leadership{ctx: lctx, release: func() {
		cancel()
		<-done
		uctx, ucancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ucancel()
		_, _ = p.db.ExecContext(uctx, `DELETE FROM projections_lease WHERE name = 'runner' AND owner = $1`, p.owner)
	}}, nil
}
