package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/eventstore"
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
	fms    []fmPos // periods declared up to the checkpoint, in position order
}

func (p *Projections) newApplier(ctx context.Context, gen int64) (*applier, error) {
	a := &applier{p: p, gen: gen, writer: sqldb.NewWriter(gen), cache: newLRU(p.opts.CacheStreams)}
	rows, err := sqldb.ReadRows(ctx, p.db, model.ForceMajeure, gen, "")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		f, pos, err := model.FMFromRow(r)
		if err != nil {
			return nil, err
		}
		a.fms = append(a.fms, fmPos{f, pos})
	}
	slices.SortFunc(a.fms, func(x, y fmPos) int { return compareU64(x.pos, y.pos) })
	return a, nil
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
	}{{commands.DocumentPrefix, model.KindDocument}, {commands.RegistryPrefix, model.KindRegistry},
		{commands.ForceMajeurePrefix, model.KindForceMajeure}, {commands.DisputePrefix, model.KindDispute}} {
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
	stream string
	kind   model.StreamKind
	id     uuid.UUID
	events []model.Event // the batch's events of this stream (none for a stream recomputed for force majeure)
}

// batchPlan is what a batch writes.
type batchPlan struct {
	from, to uint64
	changes  []model.Change
	messages []model.Message
	entries  []*entry
	fms      []fmPos
	events   int
	recorded []time.Time // recorded times of the batch's events, for the apply-delay metric
}

func (a *applier) env(fms []fmPos, upTo uint64) model.Env {
	env := model.Env{Calendar: a.p.opts.Calendar, CONAddress: a.p.conAddress}
	for _, f := range fms {
		if f.pos <= upTo {
			env.ForceMajeure = append(env.ForceMajeure, f.f)
		}
	}
	return env
}

// step applies at most limit events after the checkpoint and reports how many it read.
func (a *applier) step(ctx context.Context, limit int) (int, error) {
	cp, status, err := sqldb.Position(ctx, a.p.db, a.gen)
	if err != nil {
		return 0, err
	}
	if status != sqldb.StatusLive && status != sqldb.StatusBuilding {
		return 0, errRetired
	}
	recs, err := a.p.store.ReadAll(ctx, cp, limit)
	if err != nil {
		return 0, fmt.Errorf("projections: read the log after %d: %w", cp, err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	plan, err := a.plan(ctx, cp, recs)
	if err != nil {
		return 0, err
	}
	if err := a.commit(ctx, plan); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// plan computes a batch's row changes and outbox messages, outside any transaction (so an
// SQLite write lock is held only while writing).
func (a *applier) plan(ctx context.Context, cp uint64, recs []eventstore.Record) (*batchPlan, error) {
	end := recs[len(recs)-1].Position
	plan := &batchPlan{from: cp, to: end, events: len(recs)}
	var groups []*group
	byStream := map[string]*group{}
	var newFMs []fmPos
	for _, r := range recs {
		if r.Position <= cp {
			return nil, fmt.Errorf("projections: the store returned position %d after %d", r.Position, cp)
		}
		plan.recorded = append(plan.recorded, r.RecordedAt)
		kind, id := classify(r.StreamID)
		if kind == model.KindOther {
			continue // not a stream any read model reads (the checkpoint still passes it)
		}
		e, err := toEvent(r)
		if err != nil {
			return nil, err
		}
		g := byStream[r.StreamID]
		if g == nil {
			g = &group{stream: r.StreamID, kind: kind, id: id}
			byStream[r.StreamID] = g
			groups = append(groups, g)
		}
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
			s := commands.DocumentStream(d)
			if byStream[s] == nil {
				g := &group{stream: s, kind: model.KindDocument, id: d}
				byStream[s] = g
				groups = append(groups, g)
			}
		}
	}
	before, after := a.env(a.fms, cp), a.env(plan.fms, end)
	for _, g := range groups {
		ent, err := a.prior(ctx, g, cp, before)
		if err != nil {
			return nil, err
		}
		all := append(slices.Clone(ent.events), g.events...)
		res := model.Project(g.kind, g.id, all, after)
		model.Diff(ent.rows, res.Rows, func(c model.Change) { plan.changes = append(plan.changes, c) })
		old := ent.rows[model.Notifications]
		for k, m := range res.Messages {
			if _, ok := old[k]; !ok {
				plan.messages = append(plan.messages, m)
			}
		}
		plan.entries = append(plan.entries, &entry{stream: g.stream, kind: g.kind, id: g.id, events: all, rows: res.Rows})
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
		if len(g.events) == 0 || g.events[0].Version == ent.version()+1 {
			return ent, nil
		}
		// The cache does not continue into this batch (it cannot happen while one applier owns
		// the generation); read the stream back rather than trust it.
	}
	ent := &entry{stream: g.stream, kind: g.kind, id: g.id, rows: model.Rows{}}
	limit := 0
	if len(g.events) > 0 {
		if g.events[0].Version == 1 {
			return ent, nil // the stream starts in this batch
		}
		limit = int(g.events[0].Version - 1)
	}
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
		e, err := toEvent(r)
		if err != nil {
			return nil, err
		}
		ent.events = append(ent.events, e)
	}
	if len(g.events) > 0 && ent.version()+1 != g.events[0].Version {
		return nil, fmt.Errorf("projections: %s: have versions up to %d at position %d, the batch starts at %d",
			g.stream, ent.version(), cp, g.events[0].Version)
	}
	a.p.metrics.cacheMisses.Inc()
	ent.rows = model.Project(g.kind, g.id, ent.events, env).Rows
	return ent, nil
}

// affected lists the documents with a clock that period f may move: started before it ends,
// deadline after it begins (or not computable).
func (a *applier) affected(ctx context.Context, f deadline.ForceMajeure) ([]uuid.UUID, error) {
	rows, err := a.p.db.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT document_id FROM %s
		WHERE start_at < $1 AND (adjusted > $2 OR error <> '') ORDER BY document_id`, model.Clocks.Name(a.gen)),
		model.Micros(f.To), model.Micros(f.From))
	if err != nil {
		return nil, fmt.Errorf("projections: documents under force majeure %s: %w", f.ID, err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if id, err := uuid.Parse(s); err == nil {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// commit writes a batch and its checkpoint in one transaction.
func (a *applier) commit(ctx context.Context, plan *batchPlan) error {
	start := time.Now()
	tx, err := a.p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: begin batch: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := sqldb.Advance(ctx, tx, a.gen, plan.from, plan.to); err != nil {
		return err
	}
	if err := a.writer.Apply(ctx, tx, plan.changes); err != nil {
		return err
	}
	now := a.p.opts.Now()
	var expire time.Time
	if a.p.opts.NotifyMaxAge > 0 {
		expire = now.Add(-a.p.opts.NotifyMaxAge)
	}
	if err := notify.Enqueue(ctx, tx, plan.messages, now, expire); err != nil {
		return err
	}
	if err := a.p.failpoint("after-apply"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: commit batch %d..%d: %w", plan.from+1, plan.to, err)
	}
	for _, e := range plan.entries {
		a.cache.put(e)
	}
	a.fms = plan.fms
	a.p.observe(plan, time.Since(start))
	if len(plan.messages) > 0 {
		a.p.dispatcher.Wake()
	}
	return a.p.failpoint("after-commit")
}
