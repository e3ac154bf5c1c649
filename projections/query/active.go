package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/projections/internal/model"
)

// ActiveDeadline is a clock running on a document at a moment: started by then and not
// stopped by then. It is the projection's clock (the one /v1/overdue lists), so a document's
// view and the overdue list never compute a deadline twice.
type ActiveDeadline struct {
	Rule       deadline.RuleID
	Source     string
	StartedAt  time.Time
	StartEvent uuid.UUID
	// Deadline is the one that counts: the table's moved by force majeure, the earliest over
	// the charged organisations (P.39 moves it for some of them only).
	Deadline     time.Time
	BaseDeadline time.Time
	Charged      []domain.Org
	Breach       bool
	Holder       domain.Holder
	ForceMajeure []uuid.UUID
	// Undetermined: the deadline cannot be computed (e.g. a date outside the calendar).
	Undetermined bool
}

// ActiveDeadlines lists the clocks of document id running at when, in the order they started.
// A clock that starts when another runs out (cell_removal) is left out until it starts; one
// whose deadline cannot be computed is always listed, as undetermined.
func (q *Queries) ActiveDeadlines(ctx context.Context, id uuid.UUID, when time.Time) ([]ActiveDeadline, error) {
	gen, err := q.live(ctx)
	if err != nil {
		return nil, err
	}
	var out []ActiveDeadline
	err = q.each(ctx, fmt.Sprintf(`SELECT rule, start_event, start_at, deadline, adjusted, breach, source, charged,
		start_holder, force_majeure, error FROM %s WHERE document_id = $1 AND (stopped = 0 OR stopped_at > $2)
		ORDER BY start_at, rule, start_event, org`, model.Clocks.Name(gen)),
		[]any{id.String(), model.Micros(when)}, func(s rowScanner) error {
			var (
				rule, start, source, charged, hold, fm, errText string
				startAt, base, adj, breach                      int64
			)
			if err := s.Scan(&rule, &start, &startAt, &base, &adj, &breach, &source, &charged, &hold, &fm, &errText); err != nil {
				return err
			}
			a := ActiveDeadline{Rule: deadline.RuleID(rule), Source: source, StartedAt: at(startAt), Breach: breach == 1,
				BaseDeadline: at(base), Deadline: at(adj), Charged: decodeJSON[[]domain.Org](charged), Undetermined: errText != ""}
			a.StartEvent, _ = uuid.Parse(start)
			if h := holder(hold); h != nil {
				a.Holder = *h
			}
			for _, s := range decodeJSON[[]string](fm) {
				if id, err := uuid.Parse(s); err == nil {
					a.ForceMajeure = append(a.ForceMajeure, id)
				}
			}
			// One row per charged organisation: keep one clock, with the earliest deadline.
			if n := len(out); n > 0 && out[n-1].Rule == a.Rule && out[n-1].StartEvent == a.StartEvent {
				if a.Deadline.Before(out[n-1].Deadline) {
					out[n-1].Deadline = a.Deadline
				}
				out[n-1].ForceMajeure = union(out[n-1].ForceMajeure, a.ForceMajeure)
				return nil
			}
			out = append(out, a)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("query: active deadlines: %w", err)
	}
	return slices.DeleteFunc(out, func(a ActiveDeadline) bool { return !a.Undetermined && a.StartedAt.After(when) }), nil
}

func union(a, b []uuid.UUID) []uuid.UUID {
	for _, id := range b {
		if !slices.Contains(a, id) {
			a = append(a, id)
		}
	}
	return a
}
