// Package calendar is Kazakhstan's working-day calendar and the ways the pilot's terms are
// counted (DOMAIN.md, Deadlines). It is pure: the public holidays and the days off moved by
// the Government are data (one JSON file per year, embedded, replaceable by an operator's
// file), and time always comes in as an argument.
//
// Every date is the civil date in Asia/Almaty (UTC+5 for the whole country since 1 March
// 2024). A period that ends "at 24:00 of day D" is represented by the instant 00:00 of D+1
// in Almaty: something done at any moment of day D is on time, something done at 00:00 of
// D+1 exactly is still on time (the two readings name the same instant), later is late.
package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // Asia/Almaty must resolve on machines without system tz data
)

// Almaty is the time zone every civil date here is read in.
var Almaty = mustLoad("Asia/Almaty")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("calendar: time zone " + name + ": " + err.Error())
	}
	return loc
}

// ErrUnknownYear is returned when a computation needs a year the calendar holds no data for.
// Nothing is assumed about such a year: its holidays are not knowable from weekdays alone.
var ErrUnknownYear = errors.New("calendar: year not in the calendar data")

// maxScan bounds the search for working days; a year always has working days, so reaching
// it means the data is broken rather than the date being far away.
const maxScan = 400

// civil is a date without a time, as read in Almaty.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.In(Almaty).Date()
	return civil{y, m, d}
}

func (c civil) midnight() time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, Almaty) }

func (c civil) next() civil { return civilOf(time.Date(c.y, c.m, c.d+1, 12, 0, 0, 0, Almaty)) }

func (c civil) String() string { return fmt.Sprintf("%04d-%02d-%02d", c.y, int(c.m), c.d) }

// year is one year's exceptions to the five-day week.
type year struct {
	file    YearFile
	off     map[civil]Day // not working although Monday–Friday (or listed for the record)
	working map[civil]Day // working although Saturday or Sunday
}

// Calendar answers working-day questions for the years it holds. It is immutable: Load and
// LoadFile return a new Calendar, so one can be shared between goroutines.
type Calendar struct {
	years map[int]*year
	runs  []run // working days of the held years as tables (table.go)
}

// New builds a calendar from year files; a later file for the same year replaces an earlier one.
func New(files ...YearFile) (*Calendar, error) {
	c := &Calendar{years: map[int]*year{}}
	for _, f := range files {
		y, err := f.compile()
		if err != nil {
			return nil, err
		}
		c.years[f.Year] = y
	}
	c.runs = c.tables()
	return c, nil
}

// with returns a copy of c with the given years replaced or added.
func (c *Calendar) with(files []YearFile) (*Calendar, error) {
	n, err := New(files...)
	if err != nil {
		return nil, err
	}
	for k, v := range c.years {
		if _, ok := n.years[k]; !ok {
			n.years[k] = v
		}
	}
	n.runs = n.tables()
	return n, nil
}

// Years lists the years the calendar holds, in order.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Year returns the data a year was built from.
func (c *Calendar) Year(y int) (YearFile, bool) {
	yr, ok := c.years[y]
	if !ok {
		return YearFile{}, false
	}
	return yr.file, true
}

func (c *Calendar) working(d civil) (bool, error) {
	yr, ok := c.years[d.y]
	if !ok {
		return false, fmt.Errorf("%w: %s (known: %v)", ErrUnknownYear, d, c.Years())
	}
	if _, ok := yr.working[d]; ok {
		return true, nil
	}
	if _, ok := yr.off[d]; ok {
		return false, nil
	}
	wd := d.midnight().Weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// IsWorkingDay reports whether the Almaty date of t is a working day: Monday to Friday, not a
// public holiday or a day off moved there, or a weekend day made working by decree.
func (c *Calendar) IsWorkingDay(t time.Time) (bool, error) {
	return c.working(civilOf(t))
}

// nextWorking returns the first working day after d.
func (c *Calendar) nextWorking(d civil) (civil, error) {
	for range maxScan {
		d = d.next()
		ok, err := c.working(d)
		if err != nil {
			return civil{}, err
		}
		if ok {
			return d, nil
		}
	}
	return civil{}, fmt.Errorf("calendar: no working day within %d days after %s", maxScan, d)
}

// NextWorkingDayAt returns hour:00 (Almaty) of the first working day after the day of t,
// e.g. "not later than 12:00 of the next working day" (P.17, P.33). The day of t itself never
// counts, even when t is early on a working day. hour 24 means the end of that day.
func (c *Calendar) NextWorkingDayAt(t time.Time, hour int) (time.Time, error) {
	if hour < 0 || hour > 24 {
		return time.Time{}, fmt.Errorf("calendar: hour %d outside 0..24", hour)
	}
	d, ok := c.nthWorkingAfter(civilOf(t), 1)
	if !ok {
		var err error
		if d, err = c.nextWorking(civilOf(t)); err != nil {
			return time.Time{}, err
		}
	}
	return d.midnight().Add(time.Duration(hour) * time.Hour), nil
}

// AddWorkingDays returns the end (24:00, i.e. 00:00 of the following day) of the n-th working
// day after the day of t; the day of t is not counted (A1 §5: "the day of acceptance is not
// counted"), so 3 working days from a Friday end at 24:00 on Wednesday in a plain week.
func (c *Calendar) AddWorkingDays(t time.Time, n int) (time.Time, error) {
	if n < 1 {
		return time.Time{}, fmt.Errorf("calendar: %d working days: need at least 1", n)
	}
	if d, ok := c.nthWorkingAfter(civilOf(t), n); ok {
		return civilOfDay(dayNumber(d) + 1).midnight(), nil
	}
	return c.addWorkingDaysWalk(t, n)
}

// addWorkingDaysWalk is AddWorkingDays day by day, for what the tables do not cover.
func (c *Calendar) addWorkingDaysWalk(t time.Time, n int) (time.Time, error) {
	d := civilOf(t)
	for range n {
		var err error
		if d, err = c.nextWorking(d); err != nil {
			return time.Time{}, err
		}
	}
	return d.next().midnight(), nil
}

// WorkingDaysAfter lists the first n working days after the day of t, as Almaty midnights;
// it shows how a deadline was counted.
func (c *Calendar) WorkingDaysAfter(t time.Time, n int) ([]time.Time, error) {
	out := make([]time.Time, 0, max(n, 0))
	d := civilOf(t)
	for range n {
		var err error
		if d, err = c.nextWorking(d); err != nil {
			return nil, err
		}
		out = append(out, d.midnight())
	}
	return out, nil
}

// AddCalendarDays returns exactly n × 24 hours after t: a term counted "from the moment"
// (P.21, P.29: three calendar days from placing in the cell). Kazakhstan keeps no daylight
// saving time, so this is also the same clock time n dates later.
func AddCalendarDays(t time.Time, n int) time.Time {
	return t.Add(time.Duration(n) * 24 * time.Hour).In(Almaty)
}

// AddMonths returns 24:00 (Almaty) of the same day number n months later, or of that month's
// last day when it is shorter (31 January + 1 month ends at 24:00 on 28 or 29 February).
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.In(Almaty).Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, Almaty)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d+1, 0, 0, 0, 0, Almaty)
}

// AddMonth is AddMonths(t, 1): the "one month" of P.35.
func AddMonth(t time.Time) time.Time { return AddMonths(t, 1) }

// EndOfDay returns 24:00 of t's Almaty date (00:00 of the next date).
func EndOfDay(t time.Time) time.Time { return civilOf(t).next().midnight() }

// ParseDate reads a YYYY-MM-DD civil date as its midnight in Almaty.
func ParseDate(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, Almaty)
	if err != nil {
		return time.Time{}, fmt.Errorf("calendar: date %q: %w", s, err)
	}
	return t, nil
}
