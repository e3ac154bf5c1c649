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
	open, close, err := h.minutes()
	if err != nil {
		return time.Time{}, err
	}
	t := start.In(calendar.Almaty)
	remaining := d
	for range maxDays {
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
			if t.Before(to) {
				if avail := to.Sub(t); remaining <= avail {
					return t.Add(remaining), nil
				} else {
					remaining -= avail
				}
			}
		}
		t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, calendar.Almaty)
	}
	return time.Time{}, fmt.Errorf("office hours: no end within %d days", maxDays)
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
