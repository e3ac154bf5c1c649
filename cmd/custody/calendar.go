package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/custody-ledger/custody/domain/calendar"
)

func calendarFlag(fs *flag.FlagSet) *string {
	return fs.String("calendar", envOr("CUSTODY_CALENDAR", ""),
		"production-calendar override: a year file (JSON) or a directory of them, replacing or adding the embedded years, e.g. a decree's moved days off (env CUSTODY_CALENDAR)")
}

// loadCalendar returns the embedded calendar with the override at path (a year file or a
// directory of them) applied, so a decree's day-off change needs no release.
func loadCalendar(path string) (*calendar.Calendar, error) {
	if path == "" {
		return calendar.Default(), nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--calendar: %w", err)
	}
	var c *calendar.Calendar
	if info.IsDir() {
		c, err = calendar.Default().Load(os.DirFS(path))
	} else {
		c, err = calendar.Default().LoadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--calendar %s: %w", path, err)
	}
	return c, nil
}
