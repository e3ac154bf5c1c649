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
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/safe"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/notify"
)

// errRetired: the generation an applier writes is no longer live or being built.
var errRetired = errors.New("projections: generation retired")

type fmPos struct {
	f   deadline.ForceMajeure
	pos uint64
}

// applier applies the log to one generation's tables, batch by batch.
type applier struct {
	p      *Projections
	gen    int64
	writer *sqldb.Writer
	cache  *lru
	fms    []fmPos         // periods declared up to the checkpoint, in position order
	skip   map[uint64]bool // positions quarantined in this generation, up to the checkpoint
	stats  phases
}

// phases accumulates where an applier's time went (the stages overlap).
type phases struct {
	mu                 sync.Mutex
	read, plan, commit time.Duration
	rows               int
	streamReads        atomic.Int64
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
	a.cache, a.fms, a.skip = newLRU(a.p.opts.CacheStreams), nil, map[uint64]bool{}
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
	e, err := domain.Decode(r.Data)
	if err != nil {
		return model.Event{}, fmt.Errorf("projections: decode %s@%d (position %d): %w", r.StreamID, r.Version, r.Position, err)
	}
	return model.Event{Event: e, Position: r.Position, Version: r.Version, RecordedAt: r.RecordedAt}, nil
}

// group is one stream's part of a batch.
type group struct {
	stream      string
	kind        model.StreamKind
	id          uuid.UUID
	events      []model.Event // the batch's events of this stream (none for a stream recomputed for force majeure)
	first, last uint64        // versions of the batch's first and last event of the stream, quarantined ones included (0: none)
}

// batchPlan is what a batch writes.
type batchPlan struct {
	from, to    uint64
	changes     []model.Change
	messages    []model.Message
	entries     []*entry
	fms         []fmPos
	quarantined []quarantined
	events      int
	recorded    []time.Time // recorded times of the batch's events, for the apply-delay metric
}

func (a *applier) env(fms []fmPos, upTo uint64) model.Env {
	env := model.Env{Calendar: a.p.opts.Calendar, CONAddress: a.p.conAddress, Catalogue: a.p.opts.Catalogue,
		Hours: a.p.opts.OfficeHours}
	for _, f := range fms {
		if f.pos <= upTo {
			env.ForceMajeure = append(env.ForceMajeure, f.f)
		}
	}
	return env
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
		committed = cp
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
				committed = plan.to
				applied += plan.events
				a.stats.commit += time.Since(t)
				a.stats.rows += len(plan.changes)
			}
			cond.Broadcast()
			mu.Unlock()
		}
	}()
	// waitCommitted blocks until every batch up to pos is committed (or one failed).
	waitCommitted := func(pos uint64) error {
		mu.Lock()
		defer mu.Unlock()
		for committed < pos && cerr == nil {
			cond.Wait()
		}
		return cerr
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
			if err := waitCommitted(from); err != nil {
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
		select {
		case plans <- plan:
		case <-ctx.Done():
			return finish(ctx.Err())
		}
		from = plan.to
		if len(b.recs) < limit {
			break
		}
	}
	return finish(ctx.Err())
}

func declaresForceMajeure(recs []eventstore.Record) bool {
	for _, r := range recs {
		if strings.HasPrefix(r.StreamID, domain.ForceMajeurePrefix) {
			return true
		}
	}
	return false
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

// plan computes a batch's row changes and outbox messages, outside any transaction (so an
// SQLite write lock is held only while writing). Streams are projected in parallel; the
// result is assembled in stream order, so it does not depend on scheduling.
func (a *applier) plan(ctx context.Context, cp uint64, b decoded) (*batchPlan, error) {
	recs := b.recs
	end := recs[len(recs)-1].Position
	plan := &batchPlan{from: cp, to: end, events: len(recs)}
	var groups []*group
	byStream := map[string]*group{}
	var newFMs []fmPos
	for i, r := range recs {
		plan.recorded = append(plan.recorded, r.RecordedAt)
		kind, id := classify(r.StreamID)
		if kind == model.KindOther {
			continue // not a stream any read model reads (the checkpoint still passes it)
		}
		g := byStream[r.StreamID]
		if g == nil {
			g = &group{stream: r.StreamID, kind: kind, id: id, first: r.Version}
			byStream[r.StreamID] = g
			groups = append(groups, g)
		}
		g.last = r.Version
		if b.bad[i] != nil {
			plan.quarantine(r, b.bad[i])
			continue
		}
		e := b.events[i]
		g.events = append(g.events, e)
		if kind == model.KindForceMajeure {
			if f, ok := deadline.FromEvent(e.Event); ok {
				newFMs = append(newFMs, fmPos{f, r.Position})
			}
		}
	}
	plan.fms = append(slices.Clone(a.fms), newFMs...)
	// A new force-majeure period moves the deadlines of clocks it overlaps: recompute those
	// documents too, even without events of their own in this batch.
	for _, f := range newFMs {
		docs, err := a.affected(ctx, f.f)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			s, kind := domain.DocumentStream(d.id), model.KindDocument
			if d.application {
				s, kind = domain.ApplicationStream(d.id), model.KindApplication
			}
			if byStream[s] == nil {
				g := &group{stream: s, kind: kind, id: d.id}
				byStream[s] = g
				groups = append(groups, g)
			}
		}
	}
	before, after := a.env(a.fms, cp), a.env(plan.fms, end)
	type result struct {
		changes  []model.Change
		messages []model.Message
		entry    *entry
	}
	results := make([]result, len(groups))
	err := parallel(len(groups), func(i int) error {
		g := groups[i]
		ent, err := a.prior(ctx, g, cp, before)
		if err != nil {
			return err
		}
		all := append(slices.Clone(ent.events), g.events...)
		if a.p.opts.planHook != nil {
			for _, e := range g.events {
				a.p.opts.planHook(e.ID)
			}
		}
		res := model.Project(g.kind, g.id, all, after)
		r := &results[i]
		model.Diff(ent.rows, res.Rows, func(c model.Change) { r.changes = append(r.changes, c) })
		old := ent.rows[model.Notifications]
		for k, m := range res.Messages {
			if _, ok := old[k]; !ok {
				r.messages = append(r.messages, m.Encode())
			}
		}
		r.entry = &entry{stream: g.stream, kind: g.kind, id: g.id, events: all, ver: max(ent.ver, g.last), rows: res.Rows}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		plan.changes = append(plan.changes, r.changes...)
		plan.messages = append(plan.messages, r.messages...)
		plan.entries = append(plan.entries, r.entry)
	}
	slices.SortFunc(plan.messages, func(x, y model.Message) int {
		if c := compareU64(x.Position, y.Position); c != 0 {
			return c
		}
		return strings.Compare(x.DedupKey, y.DedupKey)
	})
	return plan, nil
}

// prior returns the stream as the tables hold it at checkpoint cp: from the cache, or read
// back from the store and projected again (rows are a function of the events, so this equals
// what the tables hold).
func (a *applier) prior(ctx context.Context, g *group, cp uint64, env model.Env) (*entry, error) {
	if ent := a.cache.get(g.stream); ent != nil {
		if g.first == 0 || g.first == ent.ver+1 {
			return ent, nil
		}
		// The cache does not continue into this batch (an event of the stream was quarantined
		// in a batch of its own since); read the stream back rather than trust it.
	}
	ent := &entry{stream: g.stream, kind: g.kind, id: g.id, rows: model.Rows{}}
	limit := 0
	if g.first > 0 {
		if g.first == 1 {
			return ent, nil // the stream starts in this batch
		}
		limit = int(g.first - 1)
	}
	a.stats.streamReads.Add(1)
	recs, err := a.p.store.ReadStream(ctx, g.stream, 1, limit)
	if errors.Is(err, eventstore.ErrNotFound) {
		return ent, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projections: read %s: %w", g.stream, err)
	}
	for _, r := range recs {
		if r.Position > cp {
			break
		}
		ent.ver = r.Version
		if a.skip[r.Position] {
			continue // quarantined: left out, as when it was applied
		}
		e, err := toEvent(r)
		if err != nil {
			continue // it was quarantined when applied: nothing gets past an undecodable event otherwise
		}
		ent.events = append(ent.events, e)
	}
	if g.first > 0 && ent.ver+1 != g.first {
		return nil, fmt.Errorf("projections: %s: have versions up to %d at position %d, the batch starts at %d",
			g.stream, ent.ver, cp, g.first)
	}
	a.p.metrics.cacheMisses.Inc()
	ent.rows = model.Project(g.kind, g.id, ent.events, env).Rows
	return ent, nil
}

// affected lists the documents with a clock that period f may move: in its region (when it
// names one), started before it ends, deadline after it begins (or not computable).
// clockStream is a stream with clocks: a document's, or an application's (DOMAIN.md, Other
// services), told apart by its rules.
type clockStream struct {
	id          uuid.UUID
	application bool
}

func (a *applier) affected(ctx context.Context, f deadline.ForceMajeure) ([]clockStream, error) {
	// Range scans on (stopped, adjusted) and (error) rather than one OR that scans everything.
	c, d := model.Clocks.Name(a.gen), model.Documents.Name(a.gen)
	region := ""
	args := []any{model.Micros(f.To), model.Micros(f.From)}
	if f.Region != "" {
		region = " AND c.document_id IN (SELECT document_id FROM " + d + " WHERE city = $3)"
		args = append(args, f.Region)
	}
	rows, err := a.p.db.QueryContext(ctx, fmt.Sprintf(`
		SELECT c.document_id, c.rule FROM %s c WHERE c.stopped = 0 AND c.adjusted > $2 AND c.start_at < $1%s
		UNION SELECT c.document_id, c.rule FROM %s c WHERE c.stopped = 1 AND c.adjusted > $2 AND c.start_at < $1%s
		UNION SELECT c.document_id, c.rule FROM %s c WHERE c.error > ''`, c, region, c, region, c), args...)
	if err != nil {
		return nil, fmt.Errorf("projections: documents under force majeure %s: %w", f.ID, err)
	}
	defer rows.Close()
	seen := map[uuid.UUID]bool{}
	var out []clockStream
	for rows.Next() {
		var s, rule string
		if err := rows.Scan(&s, &rule); err != nil {
			return nil, err
		}
		if id, err := uuid.Parse(s); err == nil && !seen[id] {
			seen[id] = true
			out = append(out, clockStream{id: id, application: services.IsRule(deadline.RuleID(rule))})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(x, y clockStream) int { return strings.Compare(x.id.String(), y.id.String()) })
	return out, nil
}

// adopt makes a planned batch the applier's state, before it is committed: the next batch is
// planned on top of it.
func (a *applier) adopt(plan *batchPlan) {
	for _, e := range plan.entries {
		a.cache.put(e)
	}
	a.fms = plan.fms
	for _, q := range plan.quarantined {
		a.skip[q.position] = true
	}
}

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
	if err := notify.Enqueue(ctx, tx, a.p.dialect, plan.messages, now, expire); err != nil {
		return err
	}
	if err := a.p.failpoint("after-apply"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: commit batch %d..%d: %w", plan.from+1, plan.to, err)
	}
	a.p.observe(plan, time.Since(start))
	a.logQuarantined(plan)
	if len(plan.messages) > 0 {
		a.p.dispatcher.Wake()
	}
	return a.p.failpoint("after-commit")
}
