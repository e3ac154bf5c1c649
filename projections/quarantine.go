package projections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/safe"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Whatever the write side accepted, the runner must not stop on it: an event that does not
// decode, or that a projection fails on (a panic while planning, rows the database refuses),
// is quarantined: skipped by this generation, with a row naming it and the error, never its
// payload. Decoding errors are found per event; any other failure of a batch is narrowed down
// by applying that batch's events one at a time.

// quarantined is an event a generation skipped.
type quarantined struct {
	position, version uint64
	stream, typ, err  string
}

// maxErrorText bounds the error kept in a quarantine row.
const maxErrorText = 1000

// quarantine adds an event the batch skips.
func (plan *batchPlan) quarantine(r eventstore.Record, cause error) {
	msg := cause.Error()
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText]
	}
	q := quarantined{position: r.Position, version: r.Version, stream: r.StreamID, typ: r.Type, err: msg}
	plan.quarantined = append(plan.quarantined, q)
	row := model.Row{int64(q.position), q.stream, int64(q.version), q.typ, q.err, model.Micros(r.RecordedAt)}
	plan.changes = append(plan.changes, model.Change{Table: model.Quarantine, Key: model.Quarantine.Key(row), Row: row})
}

// logQuarantined logs a committed batch's quarantined events, once: position and names, never
// the payload.
func (a *applier) logQuarantined(plan *batchPlan) {
	for _, q := range plan.quarantined {
		a.p.log.Error("projections: event quarantined; the read models skip it until a fix and a rebuild",
			"generation", a.gen, "position", q.position, "stream", q.stream, "version", q.version, "type", q.typ, "err", q.err)
	}
}

// eventError: a batch failed on its events (a panic, or rows the database refused), not
// because the store or the database did not answer. to is the batch's last position.
type eventError struct {
	to  uint64
	err error
}

func (e *eventError) Error() string { return e.err.Error() }
func (e *eventError) Unwrap() error { return e.err }

// commitBatch commits a pipelined batch; a failure that is not the fence, a failpoint or the
// end of ctx is put on the batch's events.
func (a *applier) commitBatch(ctx context.Context, plan *batchPlan) error {
	err := safe.Call(func() error { return a.commit(ctx, plan) })
	if err == nil || ctx.Err() != nil || errors.Is(err, sqldb.ErrFenced) || errors.Is(err, errFailpointHit) {
		return err
	}
	return &eventError{to: plan.to, err: err}
}

// apply is catchUp that does not stop on an event: when a batch fails on its events, it
// goes back to the checkpoint, applies that batch's events one at a time (quarantining any that
// fails alone) and carries on.
func (a *applier) apply(ctx context.Context, limit int) (int, error) {
	total := 0
	for {
		n, err := a.catchUp(ctx, limit)
		total += n
		var ee *eventError
		if err == nil || ctx.Err() != nil || !errors.As(err, &ee) {
			return total, err
		}
		if a.writeBack {
			// The tables lack the rows not written back yet, so the checkpoint is no place to
			// go back to: start the generation over, writing every batch through, and narrow
			// the failure down as a live runner does.
			a.p.log.Warn("projections: a rebuild batch failed on its events; building again, writing every batch",
				"generation", a.gen, "up_to", ee.to)
			if err := sqldb.Restart(ctx, a.p.db, a.gen); err != nil {
				return total, err
			}
			a.writeBack, a.writer.Direct, total = false, false, 0
			if err := a.reset(ctx); err != nil {
				return total, err
			}
			continue
		}
		a.p.log.Warn("projections: a batch failed on its events; applying them one at a time",
			"generation", a.gen, "up_to", ee.to)
		if err := a.reset(ctx); err != nil {
			return total, err
		}
		n, err = a.isolate(ctx, ee.to)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// isolate applies the events after the checkpoint up to position `to`, one per batch.
func (a *applier) isolate(ctx context.Context, to uint64) (int, error) {
	n := 0
	for {
		cp, status, err := sqldb.Position(ctx, a.p.db, a.gen)
		if err != nil {
			return n, err
		}
		if status != sqldb.StatusLive && status != sqldb.StatusBuilding {
			return n, errRetired
		}
		if cp >= to {
			return n, nil
		}
		recs, err := a.p.store.ReadAll(ctx, cp, 1)
		if err != nil {
			return n, fmt.Errorf("projections: read the log after %d: %w", cp, err)
		}
		if len(recs) == 0 {
			return n, nil
		}
		b := decoded{recs: recs}
		if err := a.decode(&b, cp); err != nil {
			return n, err
		}
		if err := a.applyAlone(ctx, cp, b); err != nil {
			return n, err
		}
		n++
	}
}

// commitAttempts is how often a batch of one event is committed before its event is
// quarantined, with commitBackoff between attempts, so that a passing database fault does not
// quarantine a good event.
var (
	commitAttempts = 4
	commitBackoff  = 500 * time.Millisecond
)

// applyAlone applies one event as a batch of its own. If planning it panics, or the database
// keeps refusing its rows while it answers, the event is quarantined instead.
func (a *applier) applyAlone(ctx context.Context, cp uint64, b decoded) error {
	plan, err := a.plan(ctx, cp, b)
	if err != nil && !safe.IsPanic(err) {
		return err
	}
	if err == nil {
		for attempt := 1; ; attempt++ {
			err = safe.Call(func() error { return a.commit(ctx, plan) })
			if err == nil {
				a.adopt(plan)
				return nil
			}
			if ctx.Err() != nil || errors.Is(err, sqldb.ErrFenced) || errors.Is(err, errFailpointHit) {
				return err
			}
			if attempt == commitAttempts {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * commitBackoff):
			}
		}
		// A database that does not answer is no reason to quarantine.
		if _, _, perr := sqldb.Position(ctx, a.p.db, a.gen); perr != nil {
			return err
		}
	}
	r := b.recs[0]
	q := &batchPlan{from: cp, to: r.Position, events: 1, fms: a.fms, recorded: []time.Time{r.RecordedAt}}
	q.quarantine(r, err)
	if err := a.commit(ctx, q); err != nil {
		return err
	}
	a.adopt(q)
	return nil
}

// Quarantined is an event the live read models skip (see `custody projections quarantine`).
type Quarantined struct {
	Position   uint64    `json:"position"`
	Stream     string    `json:"stream"`
	Version    uint64    `json:"version"`
	Type       string    `json:"type"`
	Error      string    `json:"error"`
	RecordedAt time.Time `json:"recorded_at"`
}

// Quarantine lists the events the live generation skipped, in log order.
func (p *Projections) Quarantine(ctx context.Context) ([]Quarantined, error) {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return nil, err
	}
	rows, err := sqldb.ReadRows(ctx, p.db, model.Quarantine, g.Gen, "")
	if err != nil {
		return nil, err
	}
	out := make([]Quarantined, 0, len(rows))
	for _, r := range rows {
		out = append(out, Quarantined{Position: uint64(r[0].(int64)), Stream: r[1].(string), Version: uint64(r[2].(int64)),
			Type: r[3].(string), Error: r[4].(string), RecordedAt: model.Time(r[5].(int64), time.UTC)})
	}
	slices.SortFunc(out, func(x, y Quarantined) int { return compareU64(x.Position, y.Position) })
	return out, nil
}

// QuarantineCount counts the events the live generation skipped.
func (p *Projections) QuarantineCount(ctx context.Context) (int, error) {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return 0, err
	}
	var n int
	err = p.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+model.Quarantine.Name(g.Gen)).Scan(&n)
	return n, err
}
