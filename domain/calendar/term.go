package calendar

import (
	"fmt"
	"time"
)

// Unit is how a term is counted (DOMAIN.md, "How periods are counted").
type Unit string

const (
	Minutes          Unit = "minutes"             // a step's duration (A1–A3 §5), plain time
	Hours            Unit = "hours"               // a step's duration, plain time
	CalendarDays     Unit = "calendar_days"       // exactly N × 24 h from the moment (P.21, P.29)
	WorkingDays      Unit = "working_days"        // to 24:00 of the N-th working day after (A1 §5)
	Months           Unit = "months"              // to 24:00 of the same day number (P.35)
	NextWorkingDayAt Unit = "next_working_day_at" // Hour:00 of the next working day (P.10, P.17)
)

// Term is a period as the regulations state it, e.g. {3, working_days} or
// {unit: next_working_day_at, hour: 12}. It is data, so deadline tables and the service
// catalogue can be JSON.
type Term struct {
	N    int  `json:"n,omitempty"`
	Unit Unit `json:"unit"`
	Hour int  `json:"hour,omitempty"` // next_working_day_at only
}

// Validate checks the term is one the calendar can count.
func (t Term) Validate() error {
	switch t.Unit {
	case Minutes, Hours, CalendarDays, WorkingDays, Months:
		if t.N < 1 {
			return fmt.Errorf("calendar: term %q needs n ≥ 1, got %d", t.Unit, t.N)
		}
		if t.Hour != 0 {
			return fmt.Errorf("calendar: term %q takes no hour", t.Unit)
		}
	case NextWorkingDayAt:
		if t.N != 0 && t.N != 1 {
			return fmt.Errorf("calendar: term %q counts one day only, got n=%d", t.Unit, t.N)
		}
		if t.Hour < 0 || t.Hour > 24 {
			return fmt.Errorf("calendar: term %q hour %d outside 0..24", t.Unit, t.Hour)
		}
	default:
		return fmt.Errorf("calendar: unknown term unit %q", t.Unit)
	}
	return nil
}

// String says the term as a person would: "3 working days", "12:00 next working day".
func (t Term) String() string {
	if t.Unit == NextWorkingDayAt {
		return fmt.Sprintf("%02d:00 next working day", t.Hour)
	}
	unit := string(t.Unit)
	switch t.Unit {
	case CalendarDays:
		unit = "calendar days"
	case WorkingDays:
		unit = "working days"
	}
	if t.N == 1 && len(unit) > 1 && unit[len(unit)-1] == 's' {
		unit = unit[:len(unit)-1]
	}
	return fmt.Sprintf("%d %s", t.N, unit)
}

// Deadline returns the instant a term that starts at t runs out.
func (c *Calendar) Deadline(t time.Time, term Term) (time.Time, error) {
	if err := term.Validate(); err != nil {
		return time.Time{}, err
	}
	switch term.Unit {
	case Minutes:
		return t.Add(time.Duration(term.N) * time.Minute).In(Almaty), nil
	case Hours:
		return t.Add(time.Duration(term.N) * time.Hour).In(Almaty), nil
	case CalendarDays:
		return AddCalendarDays(t, term.N), nil
	case WorkingDays:
		return c.AddWorkingDays(t, term.N)
	case Months:
		return AddMonths(t, term.N), nil
	default: // NextWorkingDayAt; Validate let nothing else through
		return c.NextWorkingDayAt(t, term.Hour)
	}
}
