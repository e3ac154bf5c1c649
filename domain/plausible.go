package domain

import (
	"slices"
	"time"

	"github.com/custody-ledger/custody/domain/calendar"
)

// Bounds of a plausible time (issue 10 §2). A time outside them is a client's mistake (a
// placeholder date, a swapped field, a wrong century), refused with a 400 naming the field
// before it can reach a deadline, a read model or a feed page.
var (
	// Epoch is the ledger's first day: no event occurred before it.
	Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, Almaty)
)

const (
	// MaxDelay bounds a delay's new date (P.27) after its notice: the pilot's longest
	// storage term is a month, so 90 days is generous.
	MaxDelay = 90 * 24 * time.Hour
	// MaxForceMajeure bounds one declared period (P.37): a year, a leap year's included.
	MaxForceMajeure = 366 * 24 * time.Hour
	// ForceMajeureLookback bounds how long before its notice a period may start: P.38 wants
	// the notice within 3 working days of onset; a month leaves room for a late notice, which
	// P.39 judges, without letting a period reach back to the ledger's first day.
	ForceMajeureLookback = 30 * 24 * time.Hour
)

// plausible checks an event's times against the bounds and the years of cal, the calendar
// the service runs with (an operator's override may add a year). A time whose year the
// working-day calendar lacks could only make an undetermined deadline: it is refused now,
// with the years the calendar holds.
func plausible(e Event, cal *calendar.Calendar) error {
	if e.OccurredAt.Before(Epoch) {
		return invalid("occurred_at", "lies before the ledger's epoch %s", Epoch.Format(time.DateOnly))
	}
	if err := inCalendar("occurred_at", e.OccurredAt, cal); err != nil {
		return err
	}
	switch p := e.Payload.(type) {
	case *DeliveryDelayedData:
		if p.NewDate.After(e.OccurredAt.Add(MaxDelay)) {
			return invalid("data.new_date", "lies more than %d days after the notice", int(MaxDelay.Hours()/24))
		}
		return inCalendar("data.new_date", p.NewDate, cal)
	case *ForceMajeureDeclaredData: // its members are the request's own: from, to
		if p.From.Before(e.OccurredAt.Add(-ForceMajeureLookback)) {
			return invalid("from", "starts more than %d days before the notice", int(ForceMajeureLookback.Hours()/24))
		}
		if p.To.Sub(p.From) > MaxForceMajeure {
			return invalid("to", "the period is longer than %d days", int(MaxForceMajeure.Hours()/24))
		}
		if err := inCalendar("from", p.From, cal); err != nil {
			return err
		}
		return inCalendar("to", p.To, cal)
	}
	return nil
}

// inCalendar refuses a time whose year (in Almaty) cal has no data for.
func inCalendar(field string, t time.Time, cal *calendar.Calendar) error {
	years := cal.Years()
	if y := t.In(Almaty).Year(); !slices.Contains(years, y) {
		return invalid(field, "lies in %d; the working-day calendar holds %d–%d only", y, years[0], years[len(years)-1])
	}
	return nil
}
