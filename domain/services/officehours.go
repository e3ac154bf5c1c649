// Package services runs the terms of the civil-registration services of seed 003 (DOMAIN.md,
// Other services) as deadline clocks: each step of an application, the service and provider
// terms and the extension notice, counted from the service catalogue's data in the unit's
// office hours. It is pure: events, the catalogue, the calendar, office hours and
// force-majeure periods all come in as arguments.
package services

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/custody-ledger/custody/domain/calendar"
)

// Hours are a unit's office hours on a working day, "HH:MM" in Asia/Almaty.
type Hours struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

func (h Hours) minutes() (open, close int, err error) {
	parse := func(s string) (int, error) {
		t, err := time.Parse("15:04", s)
		if err != nil {
			return 0, fmt.Errorf("office hours: %q is not HH:MM", s)
		}
		return t.Hour()*60 + t.Minute(), nil
	}
	if open, err = parse(h.Open); err != nil {
		return 0, 0, err
	}
	if close, err = parse(h.Close); err != nil {
		return 0, 0, err
	}
	if close <= open {
		return 0, 0, fmt.Errorf("office hours: close %s is not after open %s", h.Close, h.Open)
	}
	return open, close, nil
}

// OfficeHours are office hours as data: a default and per-unit exceptions. Working days are
// the calendar's (Monday–Friday without holidays, with moved days).
type OfficeHours struct {
	Default Hours            `json:"default"`
	Units   map[string]Hours `json:"units,omitempty"`
}

// DefaultHours is Monday–Friday 09:00–18:00 (DOMAIN.md, Other services).
var DefaultHours = OfficeHours{Default: Hours{Open: "09:00", Close: "18:00"}}

// Validate checks every entry.
func (o OfficeHours) Validate() error {
	if _, _, err := o.Default.minutes(); err != nil {
		return fmt.Errorf("default: %w", err)
	}
	for u, h := range o.Units {
		if _, _, err := h.minutes(); err != nil {
			return fmt.Errorf("unit %s: %w", u, err)
		}
	}
	return nil
}

// For returns a unit's hours.
func (o OfficeHours) For(unit string) Hours {
	if h, ok := o.Units[unit]; ok {
		return h
	}
	if o.Default.Open == "" {
		return DefaultHours.Default
	}
	return o.Default
}

// ParseOfficeHours reads an operator's office-hours file (JSON: default and units), strictly.
func ParseOfficeHours(data []byte) (OfficeHours, error) {
	var o OfficeHours
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return OfficeHours{}, fmt.Errorf("office hours: %w", err)
	}
	if o.Default == (Hours{}) {
		return OfficeHours{}, errors.New("office hours: default is required")
	}
	if err := o.Validate(); err != nil {
		return OfficeHours{}, err
	}
	return o, nil
}

// LoadOfficeHours reads an office-hours file.
func LoadOfficeHours(path string) (OfficeHours, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return OfficeHours{}, fmt.Errorf("office hours: %w", err)
	}
	return ParseOfficeHours(data)
}

// maxDays bounds the walk over days off (the longest run of days off is far shorter).
const maxDays = 400

// AddWorkingTime returns when d of working time, counted in the hours h on the calendar's
// working days, has passed since start (A1–A3 §5: minute and hour terms). A start outside
// office hours counts from the next opening.
func AddWorkingTime(cal *calendar.Calendar, h Hours, start time.Time, d time.Duration) (time.Time, error) {
	return AddWorkingTimeExcept(cal, h, start, d, nil)
}

// Span is a stretch of time [From, To).
type Span struct{ From, To time.Time }

// AddWorkingTimeExcept is AddWorkingTime with the office time inside the spans not counted:
// the clock of a minute or hour term stands still while force majeure suspends it, and runs
// again at its end if the office is open then, else at the next opening (docs/services.md).
// The spans may overlap and come in any order.
func AddWorkingTimeExcept(cal *calendar.Calendar, h Hours, start time.Time, d time.Duration, off []Span) (time.Time, error) {
	open, close, err := h.minutes()
	if err != nil {
		return time.Time{}, err
	}
	t := start.In(calendar.Almaty)
	remaining := d
	for range maxDays + 2*len(off) {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, calendar.Almaty)
		working, err := cal.IsWorkingDay(day)
		if err != nil {
			return time.Time{}, err
		}
		if working {
			from, to := day.Add(time.Duration(open)*time.Minute), day.Add(time.Duration(close)*time.Minute)
			if t.Before(from) {
				t = from
			}
			for t.Before(to) {
				s, ok := nextSpan(off, t)
				if ok && !s.From.After(t) {
					t = s.To.In(calendar.Almaty) // suspended: the clock stands still until the span ends
					continue
				}
				end := to
				if ok && s.From.Before(to) {
					end = s.From
				}
				if remaining <= end.Sub(t) {
					return t.Add(remaining), nil
				}
				remaining -= end.Sub(t)
				t = end
			}
			if t.After(to) && !sameDay(t, day) {
				continue // a span ended on a later day: go on from its end, on that day
			}
		}
		t = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, calendar.Almaty)
	}
	return time.Time{}, fmt.Errorf("office hours: no end within %d days", maxDays)
}

// nextSpan returns, of the spans not yet over at t, the one that begins first.
func nextSpan(off []Span, t time.Time) (Span, bool) {
	var best Span
	found := false
	for _, s := range off {
		if !s.To.After(t) || !s.To.After(s.From) {
			continue
		}
		if !found || s.From.Before(best.From) {
			best, found = s, true
		}
	}
	return best, found
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// WorkingTimeBetween is the working time in the hours h between from and to: how long a step
// took by the measure of its term.
func WorkingTimeBetween(cal *calendar.Calendar, h Hours, from, to time.Time) (time.Duration, error) {
	open, close, err := h.minutes()
	if err != nil {
		return 0, err
	}
	var total time.Duration
	t := from.In(calendar.Almaty)
	for range maxDays * 2 {
		if !t.Before(to) {
			return total, nil
		}
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, calendar.Almaty)
		working, err := cal.IsWorkingDay(day)
		if err != nil {
			return 0, err
		}
		if working {
			a, b := day.Add(time.Duration(open)*time.Minute), day.Add(time.Duration(close)*time.Minute)
			if t.After(a) {
				a = t
			}
			if to.Before(b) {
				b = to
			}
			if b.After(a) {
				total += b.Sub(a)
			}
		}
		t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, calendar.Almaty)
	}
	return total, nil
}
