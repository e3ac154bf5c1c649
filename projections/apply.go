package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/safe"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// errRetired: the generation an applier writes is no longer live or being built.
var errRetired = errors.New("projections: generation retired")

// applier applies the log to one generation's tables, batch by batch.
type applier struct {
	p      *Projections
	gen    int64
	writer *sqldb.Writer
	cache  *lru
	fms    []fmPos         // periods declared up to the checkpoint, in position order
	skip   map[uint64]bool // positions quarantined in this generation, up to the checkpoint
	envs   *cachedEnv      // the last env built (see env)
	stats  phases
	// writeBack (rebuild): a stream's rows are written when it leaves the cache, before a
	// force-majeure query and when caught up, not after every batch that touches it; a
	// generation being built is read by no one, and most streams then reach the tables once,
	// as inserts copied straight in.
	writeBack bool
	// lookupQueued (rebuild): drop the messages the outbox holds before enqueueing (see
	// notify.Unqueued); off when it was empty as the rebuild began.
	lookupQueued bool
}

// phases accumulates where an applier's time went (the stages overlap).
type phases struct {
	mu                 sync.Mutex
	read, plan, commit time.Duration
	rows               int
	streamReads        atomic.Int64
	enqueued           atomic.Int64 // outbox messages inserted (or offered, when another process raced)
}

func (p *phases) addRead(d time.Duration) {
	p.mu.Lock()
	p.read += d
	p.mu.Unlock()
}

func (p *Projections) newApplier(ctx context.Context, gen int64) (*applier, error) {
	a := &applier{p: p, gen: gen, writer: sqldb.NewWriter(gen, p.dialect)}
	if p.opts.bulkRows > 0 {
		a.writer.BulkRows = p.opts.bulkRows
	}
	return a, a.reset(ctx)
}

// reset loads what the applier keeps between batches from the tables, dropping what it had:
// after a failed batch its cache may have run ahead of them.
func (a *applier) reset(ctx context.Context) error {
	a.cache, a.fms, a.skip, a.envs = newLRU(a.p.opts.CacheStreams), nil, map[uint64]bool{}, nil
	rows, err := sqldb.ReadRows(ctx, a.p.db, model.ForceMajeure, a.gen, "")
	if err != nil {
		return err
	}
	for _, r := range rows {
		f, pos, err := model.FMFromRow(r)
		if err != nil {
			return err
		}
		a.fms = append(a.fms, fmPos{f, pos})
	}
	slices.SortFunc(a.fms, func(x, y fmPos) int { return compareU64(x.pos, y.pos) })
	rows, err = sqldb.ReadRows(ctx, a.p.db, model.Quarantine, a.gen, "")
	if err != nil {
		return err
	}
	for _, r := range rows {
		a.skip[uint64(r[0].(int64))] = true
	}
	return nil
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func classify(stream string) (model.StreamKind, uuid.UUID) {
	for _, k := range []struct {
		prefix string
		kind   model.StreamKind
	}{{domain.DocumentPrefix, model.KindDocument}, {domain.RegistryPrefix, model.KindRegistry},
		{domain.ForceMajeurePrefix, model.KindForceMajeure}, {domain.DisputePrefix, model.KindDispute},
		{domain.ApplicationPrefix, model.KindApplication}} {
		if strings.HasPrefix(stream, k.prefix) {
			id, err := uuid.Parse(stream[len(k.prefix):])
			if err != nil {
				return model.KindOther, uuid.Nil
			}
			return k.kind, id
		}
	}
	return model.KindOther, uuid.Nil
}

func toEvent(r eventstore.Record) (model.Event, error) {
	e, err := domain.DecodeStored(r.Data) // lenient: the write side validated it
	if err != nil {
		return model.Event{}, fmt.Errorf("projections: decode %s@%d (position %d): %w", r.StreamID, r.Version, r.Position, err)
	}
	return model.Event{Event: e, Position: r.Position, Version: r.Version, RecordedAt: r.RecordedAt}, nil
}

// decoded is a batch read from the log, its events decoded (in parallel, by the reader).
type decoded struct {
	recs   []eventstore.Record
	events []model.Event // events[i] decodes recs[i]; zero for streams no read model reads
	bad    []error       // bad[i]: why recs[i] does not decode (it is quarantined)
	err    error
}

// catchUp applies the log after the checkpoint, in batches of limit, until a batch comes back
// short (caught up), and returns how many events it applied. It is a pipeline: a reader goroutine reads and decodes ahead, the caller's
// goroutine plans each batch (streams in parallel) and a committer goroutine writes them, each
// in its own transaction, in order; so reading, computing and writing overlap. A batch that
// declares force majeure waits until everything before it is committed, since it queries the
// tables. On any error the applier must be discarded: its cache ran ahead of the tables.
func (a *applier) catchUp(ctx context.Context, limit int) (int, error) {
	cp, status, err := sqldb.Position(ctx, a.p.db, a.gen)
	if err != nil {
		return 0, err
	}
	if status != sqldb.StatusLive && status != sqldb.StatusBuilding {
		return 0, errRetired
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	reads := make(chan decoded, 1)
	go a.reader(ctx, cp, limit, reads)

	var (
		mu        sync.Mutex
		cond      = sync.NewCond(&mu)
		sent      int // batches handed to the committer
		committed int // of which committed
		applied   int // events committed
		cerr      error
		plans     = make(chan *batchPlan, 1)
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		for plan := range plans {
			t := time.Now()
			err := a.commitBatch(ctx, plan)
			mu.Lock()
			if err != nil && cerr == nil {
				cerr = err
				cancel()
			}
			if err == nil {
				committed++
				applied += plan.events
				a.stats.commit += time.Since(t)
				a.stats.rows += len(plan.changes)
			}
			cond.Broadcast()
			mu.Unlock()
		}
	}()
	send := func(plan *batchPlan) error {
		select {
		case plans <- plan:
			sent++
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// waitCommitted blocks until every batch sent is committed (or one failed).
	waitCommitted := func() error {
		mu.Lock()
		defer mu.Unlock()
		for committed < sent && cerr == nil {
			cond.Wait()
		}
		return cerr
	}
	// flush writes the rows a rebuild has not written yet (see writeBack).
	flush := func(cp uint64) error {
		if !a.writeBack {
			return nil
		}
		if plan := a.flushPlan(cp); len(plan.changes) > 0 {
			return send(plan)
		}
		return nil
	}
	finish := func(err error) (int, error) {
		close(plans)
		<-done
		cancel()
		for range reads { // let the reader end before returning
		}
		mu.Lock()
		defer mu.Unlock()
		if cerr != nil {
			return applied, cerr
		}
		return applied, err
	}

	from := cp
	for b := range reads {
		if b.err != nil {
			return finish(b.err)
		}
		if len(b.recs) == 0 {
			break
		}
		if declaresForceMajeure(b.recs) {
			// affected queries the tables: everything before this batch must be in them.
			if err := flush(from); err != nil {
				return finish(err)
			}
			if err := waitCommitted(); err != nil {
				return finish(err)
			}
		}
		t := time.Now()
		plan, err := a.plan(ctx, from, b)
		if safe.IsPanic(err) {
			err = &eventError{to: b.recs[len(b.recs)-1].Position, err: err}
		}
		if err != nil {
			return finish(err)
		}
		a.stats.plan += time.Since(t)
		// The next batch is planned on top of this one: adopt it now; a failed commit
		// discards the applier.
		a.adopt(plan)
		if err := send(plan); err != nil {
			return finish(err)
		}
		from = plan.to
		if len(b.recs) < limit {
			break
		}
	}
	if ctx.Err() == nil {
		if err := flush(from); err != nil {
			return finish(err)
		}
	}
	return finish(ctx.Err())
}

// reader reads batches after position `after` and decodes them, until a batch comes back short.
func (a *applier) reader(ctx context.Context, after uint64, limit int, out chan<- decoded) {
	defer close(out)
	for {
		t := time.Now()
		var recs []eventstore.Record
		err := safe.Call(func() (err error) { recs, err = a.p.store.ReadAll(ctx, after, limit); return err })
		if err != nil {
			err = fmt.Errorf("projections: read the log after %d: %w", after, err)
		}
		b := decoded{recs: recs, err: err}
		if err == nil {
			b.err = a.decode(&b, after)
		}
		a.stats.addRead(time.Since(t))
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if b.err != nil || len(recs) < limit {
			return
		}
		after = recs[len(recs)-1].Position
	}
}

// decode decodes a batch's events on every CPU: JSON decoding is most of a rebuild's work. An
// event that does not decode is marked bad, not an error: it is quarantined.
func (a *applier) decode(b *decoded, after uint64) error {
	b.events, b.bad = make([]model.Event, len(b.recs)), make([]error, len(b.recs))
	for i, r := range b.recs {
		if r.Position <= after || (i > 0 && r.Position <= b.recs[i-1].Position) {
			return fmt.Errorf("projections: the store returned position %d after %d", r.Position, after)
		}
	}
	return parallel(len(b.recs), func(i int) error {
		r := b.recs[i]
		if kind, _ := classify(r.StreamID); kind == model.KindOther {
			return nil
		}
		b.bad[i] = safe.Call(func() (err error) {
			b.events[i], err = toEvent(r)
			return err
		})
		return nil
	})
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines and returns the first error; a panic in
// fn is returned as a *safe.Panic, never left to end the process.
func parallel(n int, f func(i int) error) error {
	fn := func(i int) error { return safe.Call(func() error { return f(i) }) }
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		once sync.Once
		ferr error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { ferr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return ferr
}
