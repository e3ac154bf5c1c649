package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/projections/internal/model"
)

// fmPos is a force-majeure period and the position that declared it.
type fmPos struct {
	f   deadline.ForceMajeure
	pos uint64
}

// group is one stream's part of a batch.
type group struct {
	stream      string
	kind        model.StreamKind
	id          uuid.UUID
	events      []int  // indexes of the batch's events of this stream (none for a stream recomputed for force majeure)
	first, last uint64 // versions of the batch's first and last event of the stream, quarantined ones included (0: none)
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
	// rebuild: messages are left unencoded; the commit drops those the outbox holds already
	// (a rebuild projects every notification again) and encodes the others.
	rebuild  bool
	recorded []time.Time // recorded times of the batch's events, for the apply-delay metric
}

// env is what the streams' rows depend on besides their events, with the periods of fms
// declared up to upTo. It is indexed once per set of periods (model.Env.Indexed), not per
// stream: fms only grows, in position order, so the set is known by its length.
func (a *applier) env(fms []fmPos, upTo uint64) model.Env {
	env := model.Env{Calendar: a.p.opts.Calendar, CONAddress: a.p.conAddress, Catalogue: a.p.opts.Catalogue,
		Hours: a.p.opts.OfficeHours}
	for _, f := range fms {
		if f.pos <= upTo {
			env.ForceMajeure = append(env.ForceMajeure, f.f)
		}
	}
	n := len(env.ForceMajeure)
	if c := a.envs; c != nil && c.n == n && (n == 0 || c.last == env.ForceMajeure[n-1].ID) {
		return c.env
	}
	env = env.Indexed()
	a.envs = &cachedEnv{n: n, env: env}
	if n > 0 {
		a.envs.last = env.ForceMajeure[n-1].ID
	}
	return env
}

// cachedEnv is the last env an applier built: for n periods, the last one's id last.
type cachedEnv struct {
	n    int
	last uuid.UUID
	env  model.Env
}

func declaresForceMajeure(recs []eventstore.Record) bool {
	for _, r := range recs {
		if strings.HasPrefix(r.StreamID, domain.ForceMajeurePrefix) {
			return true
		}
	}
	return false
}

// plan computes a batch's row changes and outbox messages, outside any transaction (so an
// SQLite write lock is held only while writing). Streams are projected in parallel; the
// result is assembled in stream order, so it does not depend on scheduling.
func (a *applier) plan(ctx context.Context, cp uint64, b decoded) (*batchPlan, error) {
	recs := b.recs
	end := recs[len(recs)-1].Position
	plan := &batchPlan{from: cp, to: end, events: len(recs), rebuild: a.writeBack, recorded: make([]time.Time, 0, len(recs))}
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
		g.events = append(g.events, i) // copied once, straight after the stream's earlier events, below
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
		all := make([]model.Event, len(ent.events), len(ent.events)+len(g.events))
		copy(all, ent.events)
		for _, j := range g.events {
			all = append(all, b.events[j])
			if a.p.opts.planHook != nil {
				a.p.opts.planHook(b.events[j].ID)
			}
		}
		res := model.Project(g.kind, g.id, all, after)
		r := &results[i]
		old := ent.rows[model.Notifications]
		for k, m := range res.Messages {
			if _, ok := old[k]; !ok {
				if !plan.rebuild {
					m = m.Encode()
				}
				r.messages = append(r.messages, m)
			}
		}
		r.entry = &entry{stream: g.stream, kind: g.kind, id: g.id, events: all, ver: max(ent.ver, g.last), rows: res.Rows,
			db: ent.db, dirty: true}
		if !a.writeBack {
			r.entry.flush(func(c model.Change) { r.changes = append(r.changes, c) })
		}
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

// flushPlan is a batch of no events that writes every stream's rows not yet written
// (rebuild), so that the tables are complete at checkpoint cp.
func (a *applier) flushPlan(cp uint64) *batchPlan {
	plan := &batchPlan{from: cp, to: cp, fms: a.fms, rebuild: a.writeBack}
	n := 0
	a.cache.each(func(e *entry) {
		if e.dirty {
			n += e.rows.Count() // at most one change a row: the slice grows no more
		}
	})
	plan.changes = make([]model.Change, 0, n)
	a.cache.each(func(e *entry) {
		e.flush(func(c model.Change) { plan.changes = append(plan.changes, c) })
	})
	return plan
}

// prior returns the stream as the tables hold it at checkpoint cp: from the cache, or read
// back from the store and projected again (rows are a function of the events, so this equals
// what the tables hold).
func (a *applier) prior(ctx context.Context, g *group, cp uint64, env model.Env) (*entry, error) {
	cached := a.cache.get(g.stream)
	if cached != nil {
		if g.first == 0 || g.first == cached.ver+1 {
			return cached, nil
		}
		// The cache does not continue into this batch (an event of the stream was quarantined
		// in a batch of its own since); read the stream back rather than trust it.
	}
	ent := &entry{stream: g.stream, kind: g.kind, id: g.id, rows: model.Rows{}}
	ent.db = ent.rows
	if cached != nil && cached.dirty {
		defer func() { ent.db = cached.db }() // the tables still hold what the cache last wrote
	}
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
	ent.db = ent.rows
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
// planned on top of it. In a rebuild, the rows of the streams it pushes out of the cache are
// written with it.
func (a *applier) adopt(plan *batchPlan) {
	for _, e := range plan.entries {
		a.cache.put(e, func(old *entry) {
			old.flush(func(c model.Change) { plan.changes = append(plan.changes, c) })
		})
	}
	a.fms = plan.fms
	for _, q := range plan.quarantined {
		a.skip[q.position] = true
	}
}
