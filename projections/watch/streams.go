package watch

import (
	"context"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
)

// clocked is what the watch needs of a stream with clocks: a document's, or an application's
// (DOMAIN.md, Other services; its rules are services.Rules).
type clocked struct {
	events []domain.Event
	clocks []deadline.Clock
	last   time.Time
	// holder is who answers for the clock at its deadline.
	holder func(c deadline.Clock, at time.Time) domain.Holder
	append func(ctx context.Context, e domain.Event) error
}

// load reads the stream the deadline k belongs to and computes its clocks.
func (w *Watch) load(ctx context.Context, k key, fms []deadline.ForceMajeure) (clocked, error) {
	if services.IsRule(k.rule) {
		a, stored, err := w.Service.Application(ctx, k.doc)
		if err != nil {
			return clocked{}, fmt.Errorf("deadline watch: load application %s: %w", k.doc, err)
		}
		sc := clocked{events: make([]domain.Event, len(stored)), last: a.LastOccurred}
		for i, s := range stored {
			sc.events[i] = s.Event
		}
		env := services.Env{Catalogue: w.Service.Catalogue(), Calendar: w.Calendar, Hours: w.Hours, ForceMajeure: fms}
		for _, c := range services.Clocks(sc.events, env) {
			sc.clocks = append(sc.clocks, c.Clock)
		}
		// The position that held the step: its unit and, for the review, the executor.
		sc.holder = func(c deadline.Clock, _ time.Time) domain.Holder { return c.Holder }
		sc.append = func(ctx context.Context, e domain.Event) error {
			_, err := w.Service.AppendApplicationEvent(ctx, Actor, e, nil)
			return err
		}
		return sc, nil
	}
	rp, stored, err := w.Service.Replay(ctx, k.doc) // one fold for the state and the intervals
	if err != nil {
		return clocked{}, fmt.Errorf("deadline watch: load document %s: %w", k.doc, err)
	}
	st := rp.State
	sc := clocked{events: make([]domain.Event, len(stored)), last: st.LastOccurred}
	for i, s := range stored {
		sc.events[i] = s.Event
	}
	sc.clocks = deadline.Clocks(sc.events, w.Calendar, fms, st.City)
	sc.holder = func(_ deadline.Clock, at time.Time) domain.Holder {
		if iv, ok := domain.HolderAt(rp.Intervals, at); ok {
			return iv.Holder
		}
		if st.Holder != nil {
			return *st.Holder
		}
		return domain.Holder{}
	}
	sc.append = func(ctx context.Context, e domain.Event) error {
		_, err := w.Service.AppendEvent(ctx, Actor, e, nil)
		return err
	}
	return sc, nil
}
