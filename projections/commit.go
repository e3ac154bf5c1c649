package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/notify"
)

// commit writes a batch and its checkpoint in one transaction.
func (a *applier) commit(ctx context.Context, plan *batchPlan) error {
	start := time.Now()
	// One connection for the whole batch, so the PostgreSQL bulk path can COPY on it inside
	// the transaction.
	conn, err := a.p.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("projections: begin batch: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if a.p.dialect == sqldb.SQLite {
		// The default page cache (2 MB) is far smaller than the read models: writes then read
		// pages back through the OS for every row. Per connection, so set it each time.
		if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -65536"); err != nil {
			return fmt.Errorf("projections: cache size: %w", err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: begin batch: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if plan.rebuild && a.p.dialect == sqldb.Postgres {
		// A generation being built is never resumed (a crash leaves it to be dropped), and the
		// switch to it commits synchronously, which makes every batch before it durable: no
		// batch needs to wait for its own WAL flush. The outbox rows a server crash could lose
		// with it are enqueued again by the next rebuild (delivery is at least once anyway).
		if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return fmt.Errorf("projections: begin batch: %w", err)
		}
	}
	if err := sqldb.Advance(ctx, tx, a.gen, plan.from, plan.to); err != nil {
		return err
	}
	if err := a.writer.Apply(ctx, tx, conn, plan.changes); err != nil {
		return err
	}
	now := a.p.opts.Now()
	var expire time.Time
	if a.p.opts.NotifyMaxAge > 0 {
		expire = now.Add(-a.p.opts.NotifyMaxAge)
	}
	msgs := plan.messages
	if plan.rebuild && a.lookupQueued {
		if msgs, err = notify.Unqueued(ctx, tx, a.p.dialect, msgs); err != nil {
			return err
		}
	}
	if a.p.dialect == sqldb.Postgres && len(msgs) >= notify.CopyMin && sqldb.IsPgx(conn) {
		err = notify.EnqueueCopy(ctx, tx, conn, msgs, now, expire)
	} else {
		err = notify.Enqueue(ctx, tx, a.p.dialect, msgs, now, expire)
	}
	if err != nil {
		return err
	}
	if err := a.p.failpoint("after-apply"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: commit batch %d..%d: %w", plan.from+1, plan.to, err)
	}
	a.stats.enqueued.Add(int64(len(msgs)))
	a.p.observe(plan, time.Since(start))
	a.logQuarantined(plan)
	if len(plan.messages) > 0 {
		a.p.dispatcher.Wake()
	}
	return a.p.failpoint("after-commit")
}
