package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/safe"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Run elects this process the runner (standing by while another is), then follows the log
// into the live read models, runs the deadline watch and delivers notifications, until ctx
// ends (it then returns nil). If leadership is lost it stands by again.
func (p *Projections) Run(ctx context.Context) error {
	for {
		term, err := p.elect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		p.metrics.leader.Set(1)
		p.term.Store(term)
		p.log.Info("projections: elected runner", "owner", p.owner)
		err = safe.Call(func() error { return p.lead(term.Context()) })
		term.Release()
		p.term.Store(nil)
		p.metrics.leader.Set(0)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errStop) {
			return err
		}
		p.log.Warn("projections: standing by", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.opts.ElectionRetry):
		}
	}
}

// errStop wraps a failpoint's error: tests stop the runner where a crash would.
var errStop = errors.New("projections: stopped at a failpoint")

// lead runs the runner's parts until ctx ends or one fails.
func (p *Projections) lead(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := p.ensureLive(ctx); err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	run := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			// A panic in one part ends this term as an error does (the runner stands by and
			// is elected again), never the process.
			err := safe.Call(func() error { return fn(ctx) })
			if err != nil && ctx.Err() == nil {
				once.Do(func() { first = fmt.Errorf("%s: %w", name, err) })
				cancel()
			}
		})
	}
	run("apply", p.follow)
	if !p.opts.DisableWatch {
		run("watch", p.watch.Run)
	}
	if !p.opts.DisableDelivery {
		run("delivery", func(ctx context.Context) error {
			err := p.dispatcher.Run(ctx)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("%w: %w", errStop, err)
			}
			return err
		})
	}
	wg.Wait()
	return first
}

// ensureLive makes sure a live generation of this code's model version exists: the first
// runner creates one (built incrementally while queries already answer, or by a rebuild when
// the log is already long), a runner of newer code rebuilds (queries answer "unavailable"
// meanwhile, since they cannot read the old one).
func (p *Projections) ensureLive(ctx context.Context) error {
	for {
		g, err := sqldb.Live(ctx, p.db)
		if errors.Is(err, sqldb.ErrNoGeneration) {
			// A long log is built the fast way (large batches, indexes at the end); queries
			// answer "unavailable" until it is done, as they would with no tables at all.
			if head, herr := p.store.Head(ctx); herr == nil && head > uint64(p.opts.RebuildBatchSize) {
				if _, err := p.Rebuild(ctx); err != nil {
					return err
				}
				continue
			}
			_, err := sqldb.Create(ctx, p.db, p.dialect, sqldb.StatusLive, time.Now())
			if err != nil && !sqldb.IsLiveExists(err) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if g.ModelVersion != model.Version {
			p.log.Info("projections: read models of another version; rebuilding", "live", g.ModelVersion, "want", model.Version)
			if _, err := p.Rebuild(ctx); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

// follow applies the log to the live generation, batch by batch, until ctx ends. It wakes on
// the store's subscription and polls as a fallback.
func (p *Projections) follow(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	if head, err := p.store.Head(ctx); err == nil {
		go func() {
			_ = safe.Call(func() error {
				return p.store.Subscribe(ctx, head, func(eventstore.Record) error {
					select {
					case wake <- struct{}{}:
					default:
					}
					return nil
				})
			})
		}()
	}
	var a *applier
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := p.stepLive(ctx, &a)
		if errors.Is(err, errStop) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			p.log.Error("projections: batch failed; retrying", "err", err)
			a = nil // the cache may not match the tables any more
			n = 0
		}
		if err == nil && n > 0 {
			continue // look again at once: more may have come while catching up
		}
		t.Reset(p.opts.Poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-t.C:
		}
	}
}

// stepLive applies one batch to the live generation, switching appliers when a rebuild has
// switched generations.
func (p *Projections) stepLive(ctx context.Context, a **applier) (int, error) {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return 0, err
	}
	if g.ModelVersion != model.Version {
		return 0, fmt.Errorf("projections: live generation %d has model version %d, want %d", g.Gen, g.ModelVersion, model.Version)
	}
	if *a == nil || (*a).gen != g.Gen {
		na, err := p.newApplier(ctx, g.Gen)
		if err != nil {
			return 0, err
		}
		*a = na
	}
	n, err := (*a).apply(ctx, p.opts.BatchSize)
	if errors.Is(err, sqldb.ErrFenced) || errors.Is(err, errRetired) {
		p.log.Info("projections: checkpoint moved under this runner; reloading", "generation", g.Gen)
		*a = nil
		return 0, nil
	}
	if err != nil && p.opts.failpoint != nil && errors.Is(err, errFailpointHit) {
		return 0, fmt.Errorf("%w: %w", errStop, err)
	}
	return n, err
}

// errFailpointHit marks errors returned by a failpoint (tests).
var errFailpointHit = errors.New("failpoint")

// CatchUp applies the log to the live generation until it reaches the head, without electing
// (for tools and tests; the checkpoint fence keeps it safe beside a running runner).
func (p *Projections) CatchUp(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureLive(ctx); err != nil {
		return 0, err
	}
	var (
		a     *applier
		total int
	)
	for {
		n, err := p.stepLive(ctx, &a)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}
