package transparency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// sequencerLockKey is the first half of the sequencer's PostgreSQL advisory lock (the
// projection runner's is 1886547818); the second is hashtext(current_schema()), so each
// schema elects its own sequencer.
const sequencerLockKey = 1886547819

// elect blocks until this process is the sequencer, or ctx ends; it returns a context that
// lives while the leadership holds and a release. It is the projection runner's election
// (projections/election.go) on the sequencer's own lock: an advisory lock on a dedicated
// PostgreSQL connection, a lease row renewed every third of its TTL on SQLite. The tree's
// size fence keeps a leader that lost without noticing from writing anything.
func (s *Sequencer) elect(ctx context.Context) (context.Context, func(), error) {
	for {
		lctx, release, err := s.tryElect(ctx)
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("transparency: election failed", "err", err)
		}
		if lctx != nil {
			return lctx, release, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(s.opts.ElectionRetry):
		}
	}
}

func (s *Sequencer) tryElect(ctx context.Context) (context.Context, func(), error) {
	db := s.log.db
	var (
		keep   func(context.Context) error // checks, every third of the TTL, that we still lead
		unlock func(context.Context)
	)
	if s.log.dialect == sqldb.Postgres {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("transparency: election connection: %w", err)
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext(current_schema()))`, sequencerLockKey).Scan(&got); err != nil || !got {
			_ = conn.Close()
			return nil, nil, err
		}
		keep = conn.PingContext
		unlock = func(ctx context.Context) {
			_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, sequencerLockKey)
			_ = conn.Close()
		}
	} else {
		lease := func(ctx context.Context) error {
			now := time.Now()
			res, err := db.ExecContext(ctx, `INSERT INTO tlog_lease (name, owner, expires_at) VALUES ('sequencer', $1, $2)
				ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
				WHERE tlog_lease.owner = excluded.owner OR tlog_lease.expires_at < $3`,
				s.owner, now.Add(s.opts.LeaseTTL).UnixMicro(), now.UnixMicro())
			if err != nil {
				return fmt.Errorf("transparency: lease: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("transparency: the lease is held by another process (%v)", err)
			}
			return nil
		}
		if err := lease(ctx); err != nil {
			return nil, nil, nil // held elsewhere, or the database is busy: try again later
		}
		keep = lease
		unlock = func(ctx context.Context) {
			_, _ = db.ExecContext(ctx, `DELETE FROM tlog_lease WHERE name = 'sequencer' AND owner = $1`, s.owner)
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				kctx, kcancel := context.WithTimeout(lctx, s.opts.LeaseTTL/3)
				err := keep(kctx)
				kcancel()
				if err != nil && lctx.Err() == nil {
					s.opts.Logger.Warn("transparency: lost the sequencer election; standing down", "err", err)
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

func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
