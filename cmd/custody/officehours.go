package main

import (
	"flag"
	"fmt"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain/services"
)

// officeHoursFlag is --office-hours: an operator's office-hours file (JSON: a default and
// per-unit hours), in which the minute and hour terms of the services of seed 003 count.
func officeHoursFlag(fs *flag.FlagSet) *string {
	return fs.String("office-hours", envOr("CUSTODY_OFFICE_HOURS", ""),
		`office hours file (JSON {"default": {"open": "09:00", "close": "18:00"}, "units": {...}}) for application terms; default Mon–Fri 09:00–18:00 (env CUSTODY_OFFICE_HOURS)`)
}

// withOfficeHours adds the office hours of path to the command service's options.
func withOfficeHours(opts []commands.Option, path string) ([]commands.Option, error) {
	if path == "" {
		return opts, nil
	}
	h, err := services.LoadOfficeHours(path)
	if err != nil {
		return nil, fmt.Errorf("--office-hours: %w", err)
	}
	return append(opts, commands.WithOfficeHours(h)), nil
}
