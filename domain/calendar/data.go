package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"
	"time"
)

// The published calendars, one file per year. An operator replaces or adds a year with
// Load/LoadFile when the Government moves a day off (Labour Code art. 85 p.3).
//
//go:embed data/*.json
var embedded embed.FS

// DayKind says why a day is listed.
type DayKind string

const (
	Holiday  DayKind = "holiday"  // a public holiday, or a religious day off (art. 84 p.5)
	Moved    DayKind = "moved"    // a holiday fell on a weekend: the next working day is off (Law "On holidays" art. 5)
	Decree   DayKind = "decree"   // a day off moved by the Government or the Ministry of Labour
	Workday  DayKind = "workday"  // a Saturday or Sunday made working by the same act
	Weekend  DayKind = "weekend"  // a holiday on a weekend, listed for the record; it changes nothing
	Operator DayKind = "operator" // added by an operator's override without a finer kind
)

// Day is one listed date with why it is listed and where that comes from.
type Day struct {
	Date   string  `json:"date"` // YYYY-MM-DD
	Kind   DayKind `json:"kind,omitempty"`
	Note   string  `json:"note"`
	Source string  `json:"source,omitempty"`
}

// YearFile is one year's data: the days off that fall Monday–Friday (and, for the record,
// holidays on weekends) and the weekend days that are working days.
type YearFile struct {
	Year        int    `json:"year"`
	Source      string `json:"source"`
	DaysOff     []Day  `json:"days_off"`
	WorkingDays []Day  `json:"working_days,omitempty"`
}

// ParseYear decodes and checks one year file. Unknown fields are refused so that a typo in an
// operator's file is not silently ignored.
func ParseYear(data []byte) (YearFile, error) {
	var f YearFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return YearFile{}, fmt.Errorf("calendar: %w", err)
	}
	if _, err := f.compile(); err != nil {
		return YearFile{}, err
	}
	return f, nil
}

// Validate checks the year file: every date in its year, listed once, off days and working
// days not mixed up, working days only on weekends, a source for the whole file.
func (f YearFile) Validate() error {
	_, err := f.compile()
	return err
}

func (f YearFile) compile() (*year, error) {
	if f.Year < 2000 || f.Year > 2100 {
		return nil, fmt.Errorf("calendar: year %d out of range", f.Year)
	}
	if f.Source == "" {
		return nil, fmt.Errorf("calendar: %d: source is required", f.Year)
	}
	y := &year{file: f, off: map[civil]Day{}, working: map[civil]Day{}}
	add := func(list []Day, into map[civil]Day, what string, kinds ...DayKind) error {
		for _, d := range list {
			if d.Kind != "" && !slices.Contains(kinds, d.Kind) {
				return fmt.Errorf("calendar: %d: %s %s: kind %q not allowed", f.Year, what, d.Date, d.Kind)
			}
			t, err := ParseDate(d.Date)
			if err != nil {
				return fmt.Errorf("calendar: %d: %s: %w", f.Year, what, err)
			}
			c := civilOf(t)
			if c.y != f.Year {
				return fmt.Errorf("calendar: %d: %s %s is in another year", f.Year, what, d.Date)
			}
			if d.Note == "" {
				return fmt.Errorf("calendar: %d: %s %s has no note", f.Year, what, d.Date)
			}
			if _, dup := y.off[c]; dup {
				return fmt.Errorf("calendar: %d: %s listed twice", f.Year, d.Date)
			}
			if _, dup := y.working[c]; dup {
				return fmt.Errorf("calendar: %d: %s listed twice", f.Year, d.Date)
			}
			into[c] = d
		}
		return nil
	}
	if err := add(f.DaysOff, y.off, "day off", Holiday, Moved, Decree, Weekend, Operator); err != nil {
		return nil, err
	}
	if err := add(f.WorkingDays, y.working, "working day", Workday, Operator); err != nil {
		return nil, err
	}
	for c, d := range y.working {
		// A working Monday–Friday is the rule, so listing one means the file is wrong.
		if wd := c.midnight().Weekday(); wd != time.Saturday && wd != time.Sunday {
			return nil, fmt.Errorf("calendar: %d: working day %s is a %s, not a weekend day", f.Year, d.Date, wd)
		}
	}
	return y, nil
}

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := (&Calendar{years: map[int]*year{}}).Load(embedded)
	if err != nil {
		panic("calendar: embedded data: " + err.Error()) // caught by the package tests
	}
	return c
})

// Default returns the calendar built from the embedded data (2025–2027).
func Default() *Calendar { return defaultCalendar() }

// Load returns a copy of c in which every *.json year file found in fsys (its root or a
// "data" directory) replaces or adds its year; os.DirFS(dir) loads an operator's directory.
func (c *Calendar) Load(fsys fs.FS) (*Calendar, error) {
	var files []YearFile
	for _, dir := range []string{".", "data"} {
		names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		for _, name := range names {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("calendar: %w", err)
			}
			f, err := ParseYear(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("calendar: no *.json year files found")
	}
	return c.with(files)
}

// LoadFile returns a copy of c in which the year in the file at path replaces or adds its
// year. It is the one function here that reads the file system, and only when called.
func (c *Calendar) LoadFile(path string) (*Calendar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	f, err := ParseYear(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c.with([]YearFile{f})
}
