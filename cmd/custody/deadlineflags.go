package main

import (
	"flag"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain/catalogue"
)

// deadlineFlags are the data every command that decides events or computes deadlines runs
// with (serve, rebuild, demo): the service catalogue (--catalogue), the units' office hours
// (--office-hours) and the production calendar (--calendar), each also from its CUSTODY_*
// variable. The command service carries all three, and the read models and the deadline watch
// take them from it (openProjections), so a rebuild computes the clocks serve computed.
type deadlineFlags struct {
	catalogue, officeHours, calendar *string
}

func addDeadlineFlags(fs *flag.FlagSet) deadlineFlags {
	return deadlineFlags{catalogue: catalogueFlag(fs), officeHours: officeHoursFlag(fs), calendar: calendarFlag(fs)}
}

// options loads the three files and returns the command service's options and the catalogue.
func (f deadlineFlags) options() ([]commands.Option, *catalogue.Catalogue, error) {
	cat, err := loadCatalogue(*f.catalogue)
	if err != nil {
		return nil, nil, err
	}
	opts, err := withOfficeHours(catalogueOptions(cat), *f.officeHours)
	if err != nil {
		return nil, nil, err
	}
	cal, err := loadCalendar(*f.calendar)
	if err != nil {
		return nil, nil, err
	}
	return append(opts, commands.WithCalendar(cal)), cat, nil // its years bound an event's times
}
