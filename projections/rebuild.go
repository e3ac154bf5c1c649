package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/notify"
)

// RebuildStats reports a rebuild.
type RebuildStats struct {
	Generation      int64         `json:"generation"`
	Events          int           `json:"events"`
	Position        uint64        `json:"position"`
	Duration        time.Duration `json:"duration"`
	EventsPerSecond float64       `json:"events_per_second"`
	// Where the time went: reading the log, computing rows, writing and committing them,
	// building the deferred indexes, making UNLOGGED tables LOGGED (RebuildUnlogged); how many
	// rows were written and streams read back.
	Read, Plan, Commit, Index, Logged time.Duration
	Rows, StreamReads                 int
}

// Rebuild builds every read model from position zero into a new generation of tables and,
// once it has caught up with the head, makes it the live one in one transaction. Queries keep
// answering from the old generation meanwhile; a running runner moves to the new one at its
// next batch. The generation retired before the previous one is dropped (the previous one is
// kept so that a query that just read its number still finds its tables). The outbox is
// shared: a rebuild enqueues nothing that was enqueued before.
func (p *Projections) Rebuild(ctx context.Context) (RebuildStats, error) {
	start := time.Now()
	// A rebuild killed outright leaves its tables behind; one started over a day ago is dead.
	if gens, err := sqldb.Generations(ctx, p.db); err == nil {
		for _, g := range gens {
			if g.Status == sqldb.StatusBuilding && g.CreatedAt.Before(start.Add(-24*time.Hour)) {
				if err := sqldb.Drop(ctx, p.db, g.Gen); err != nil {
					p.log.Warn("projections: drop abandoned generation", "generation", g.Gen, "err", err)
				}
			}
		}
	}
	var gen int64
	var err error
	if p.opts.RebuildUnlogged {
		gen, err = sqldb.CreateUnlogged(ctx, p.db, p.dialect, start)
	} else {
		gen, err = sqldb.Create(ctx, p.db, p.dialect, sqldb.StatusBuilding, start)
	}
	if err != nil {
		return RebuildStats{}, err
	}
	st := RebuildStats{Generation: gen}
	fail := func(err error) (RebuildStats, error) {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := sqldb.Drop(dctx, p.db, gen); derr != nil {
			p.log.Warn("projections: drop unfinished generation", "generation", gen, "err", derr)
		}
		return st, err
	}
	a, err := p.newApplier(ctx, gen)
	if err != nil {
		return fail(err)
	}
	a.writeBack, a.writer.Direct = true, true
	// A first build finds the outbox empty: looking its keys up would find nothing.
	empty, err := notify.Empty(ctx, p.db)
	if err != nil {
		return fail(err)
	}
	a.lookupQueued = !empty
	n, err := a.apply(ctx, p.opts.RebuildBatchSize)
	st.Events += n
	if err != nil {
		return fail(fmt.Errorf("projections: rebuild generation %d: %w", gen, err))
	}
	ti := time.Now()
	// The deferred indexes and the planner's statistics (issue 15); the outbox's only when
	// this build filled it: a rebuild over an existing outbox adds next to nothing to it, and
	// vacuuming it reads all of it.
	if err := sqldb.Finish(ctx, p.db, p.dialect, gen, a.stats.enqueued.Load() > 0); err != nil {
		return fail(err)
	}
	st.Index = time.Since(ti)
	// Catch up with what was appended while the indexes were built.
	n, err = a.apply(ctx, p.opts.RebuildBatchSize)
	st.Events += n
	if err != nil {
		return fail(fmt.Errorf("projections: rebuild generation %d: %w", gen, err))
	}
	if p.opts.RebuildUnlogged && p.dialect == sqldb.Postgres {
		tl := time.Now()
		if err := sqldb.SetLogged(ctx, p.db, gen); err != nil {
			return fail(err)
		}
		st.Logged = time.Since(tl)
	}
	pos, _, err := sqldb.Position(ctx, p.db, gen)
	if err != nil {
		return fail(err)
	}
	prev, prevErr := sqldb.Live(ctx, p.db)
	if err := sqldb.Switch(ctx, p.db, gen, time.Now()); err != nil {
		return fail(err)
	}
	st.Position, st.Duration = pos, time.Since(start)
	st.Read, st.Plan, st.Commit, st.Rows, st.StreamReads = a.stats.read, a.stats.plan, a.stats.commit, a.stats.rows, int(a.stats.streamReads.Load())
	if s := st.Duration.Seconds(); s > 0 {
		st.EventsPerSecond = float64(st.Events) / s
	}
	gens, err := sqldb.Generations(ctx, p.db)
	if err == nil {
		for _, g := range gens {
			if g.Status == sqldb.StatusRetired && (prevErr != nil || g.Gen != prev.Gen) {
				if err := sqldb.Drop(ctx, p.db, g.Gen); err != nil {
					p.log.Warn("projections: drop retired generation", "generation", g.Gen, "err", err)
				}
			}
		}
	}
	p.log.Info("projections: rebuilt", "generation", gen, "events", st.Events, "position", pos,
		"seconds", st.Duration.Seconds(), "events_per_second", int(st.EventsPerSecond))
	return st, nil
}
