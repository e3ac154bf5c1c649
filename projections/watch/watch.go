// Package watch is the ledger's deadline watch: it turns passing time into DeadlineMissed
// events (DOMAIN.md, Deadlines), appended through commands like any other writer, with the
// system actor.
//
// Each tick reads from the read model the deadlines that passed and are not recorded yet
// (query.Due), checks each against the document's own events (deadline.Clocks with the
// declared force-majeure periods, so a stale read model never records a wrong miss), and
// appends one DeadlineMissed per document, rule and deadline. The event id is derived from
// those three (EventID), so a retry, a restart or a second instance appends nothing twice:
// the store answers a repeat with the first record, or a duplicate conflict when the body
// differs (another instance saw a later event), which the watch takes as "already recorded".
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/safe"
	"github.com/custody-ledger/custody/projections/query"
)

// Actor is who records DeadlineMissed: the ledger itself.
var Actor = domain.Actor{Role: domain.RoleSystem, Org: domain.OrgLedger}

var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/custody-ledger/custody/deadline-watch"))

// EventID is the id of the DeadlineMissed event for a document, rule and deadline.
func EventID(doc uuid.UUID, rule deadline.RuleID, at time.Time) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(doc.String()+"|"+string(rule)+"|"+at.UTC().Format(time.RFC3339Nano)))
}

// Source is what the watch reads: query.Queries.
type Source interface {
	Due(ctx context.Context, now time.Time, limit int) ([]query.Due, error)
	ForceMajeure(ctx context.Context) ([]deadline.ForceMajeure, error)
}

// Watch appends DeadlineMissed events as deadlines pass.
type Watch struct {
	Source   Source
	Service  *commands.Service
	Calendar *calendar.Calendar   // default calendar.Default()
	Hours    services.OfficeHours // office hours of application clocks; zero: the default
	Now      func() time.Time     // injectable clock; default time.Now
	Interval time.Duration        // between ticks, default 30s
	Batch    int                  // deadlines per tick, default 500
	Logger   *slog.Logger
	Appended prometheus.Counter // optional

	// refused remembers deadlines the document no longer accepts (it moved to a state that
	// takes no DeadlineMissed), so they are not retried every tick.
	refused map[uuid.UUID]bool
}

// Result counts what a tick did.
type Result struct {
	Appended int // newly appended
	Already  int // recorded before (by this or another instance)
	Skipped  int // not (or no longer) a miss per the document's events, or refused
	Failed   int // could not be checked (the document's stream does not load, a panic): tried again next tick
}

func (w *Watch) defaults() {
	if w.Calendar == nil {
		w.Calendar = calendar.Default()
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Interval <= 0 {
		w.Interval = 30 * time.Second
	}
	if w.Batch <= 0 {
		w.Batch = 500
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	if w.refused == nil {
		w.refused = map[uuid.UUID]bool{}
	}
}

// Run ticks until ctx ends.
func (w *Watch) Run(ctx context.Context) error {
	w.defaults()
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if err := safe.Call(func() error { _, err := w.Tick(ctx); return err }); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, query.ErrUnavailable) {
				w.Logger.Warn("deadline watch: tick failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

type key struct {
	doc   uuid.UUID
	rule  deadline.RuleID
	start uuid.UUID
	at    int64
}

// Tick records the deadlines passed by now.
func (w *Watch) Tick(ctx context.Context) (Result, error) {
	w.defaults()
	now := w.Now()
	var res Result
	due, err := w.Source.Due(ctx, now, w.Batch)
	if err != nil || len(due) == 0 {
		return res, err
	}
	fms, err := w.Source.ForceMajeure(ctx)
	if err != nil {
		return res, err
	}
	groups := map[key][]domain.Org{}
	var order []key
	for _, d := range due {
		k := key{d.DocumentID, d.Rule, d.StartEvent, d.Deadline.UnixMicro()}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], d.Org)
	}
	for _, k := range order {
		var outcome outcome
		err := safe.Call(func() (err error) {
			outcome, err = w.record(ctx, now, k, groups[k], fms)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			// One document the watch cannot check must not keep it from the others.
			w.Logger.Warn("deadline watch: cannot check a deadline", "document_id", k.doc, "rule", k.rule, "err", err)
			res.Failed++
			continue
		}
		switch outcome {
		case appended:
			res.Appended++
		case already:
			res.Already++
		default:
			res.Skipped++
		}
	}
	return res, nil
}

type outcome int

const (
	skipped outcome = iota
	appended
	already
)

// record appends one DeadlineMissed after checking the miss against the document's events.
func (w *Watch) record(ctx context.Context, now time.Time, k key, orgs []domain.Org, fms []deadline.ForceMajeure) (outcome, error) {
	at := time.UnixMicro(k.at).UTC()
	id := EventID(k.doc, k.rule, at)
	if w.refused[id] {
		return skipped, nil
	}
	sc, err := w.load(ctx, k, fms)
	if err != nil {
		return skipped, err
	}
	if slices.ContainsFunc(sc.events, func(e domain.Event) bool { return e.ID == id }) {
		return already, nil
	}
	var clock *deadline.Clock
	for _, c := range sc.clocks {
		if c.Rule == k.rule && c.StartEvent == k.start && c.Err == nil {
			clock = &c
			break
		}
	}
	if clock == nil {
		return skipped, nil // the read model is ahead of or behind the stream; the next tick sees it right
	}
	var charged []domain.Org
	for _, o := range clock.Breached(now) {
		if slices.Contains(orgs, o) && clock.AdjustedFor[o].Equal(at) {
			charged = append(charged, o)
		}
	}
	if len(charged) == 0 {
		return skipped, nil
	}
	holder := sc.holder(*clock, at)
	occurred := at
	if sc.last.After(occurred) {
		occurred = sc.last // a stream's time never goes back
	}
	e := domain.Event{ID: id, DocumentID: k.doc, Type: domain.DeadlineMissed, OccurredAt: occurred, Actor: Actor,
		Payload: &domain.DeadlineMissedData{Rule: string(k.rule), Deadline: at, Holder: holder, ChargedTo: charged, Source: clock.Source}}
	err = sc.append(ctx, e)
	var dup *eventstore.DuplicateConflictError
	var tr *domain.TransitionError
	switch {
	case err == nil:
		if w.Appended != nil {
			w.Appended.Inc()
		}
		w.Logger.Info("deadline watch: deadline missed", "document_id", k.doc, "rule", k.rule,
			"deadline", at.In(domain.Almaty).Format(time.RFC3339), "charged", charged)
		return appended, nil
	case errors.As(err, &dup):
		return already, nil
	case errors.As(err, &tr):
		w.refused[id] = true
		return skipped, nil
	}
	return skipped, fmt.Errorf("deadline watch: append for %s %s: %w", k.doc, k.rule, err)
}
