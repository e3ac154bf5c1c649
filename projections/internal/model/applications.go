package model

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
)

// AppSteps: every clock of every application (DOMAIN.md, Other services) with the time it
// took by its term's own measure (working time in office hours for minute and hour terms,
// elapsed time for day terms), for the per-service compliance report. taken is 0 while the
// clock runs; allowed is the term by the same measure.
var AppSteps = &Table{Base: "app_steps", PK: 3, Cols: []Column{
	txt("application_id"), txt("rule"), txt("start_event"),
	txt("service_code"), txt("channel"), num("start_at"), num("stopped_at"), num("deadline"),
	txt("term"), num("allowed"), num("taken"), num("late"), txt("holder_unit"), txt("source"),
}, Indexes: []Index{ix("service_code", "start_at")}}

// Application returns an application stream's rows: its state in the documents table (so the
// overdue list, custody and liability read it like a document's), custody intervals, clocks,
// charges, step timings and the notification of an extension.
func Application(id uuid.UUID, events []Event, env Env) Result {
	res := Result{Rows: Rows{}, Messages: map[string]Message{}}
	if len(events) == 0 {
		return res
	}
	evs := plain(events)
	a := domain.FoldApplication(id, evs)
	ids := id.String()
	last := events[len(events)-1]
	var ho domain.Holder
	if a.Holder != nil {
		ho = *a.Holder
	}
	no := a.ReceiptNo
	if no == "" {
		no = a.RegistrationNo
	}
	// Rows name the service by its catalogue code, whichever alias the application used, so
	// filters and the compliance report find every application of a service.
	cat := env.Catalogue
	if cat == nil {
		cat = catalogue.Default()
	}
	if svc, ok := cat.Lookup(a.ServiceCode); ok {
		a.ServiceCode = svc.Code
	}
	flags := domain.Flags{DeadlineMissed: a.DeadlineMissed, Corrections: a.Corrections}
	// city: the region a regional force-majeure period covers (the planner finds the
	// applications it moves by it, as documents).
	res.Rows.Add(Documents, Row{ids, string(a.Status), string(a.Channel), no, a.ServiceCode, a.City,
		string(ho.Org), ho.Unit, ho.EmployeeID, Micros(a.HolderSince), int64(a.Version), Micros(a.LastOccurred),
		int64(last.Position), JSON(flags)})
	intervalRows(&res, ids, domain.ApplicationIntervals(evs))

	cal := env.Calendar
	if cal == nil {
		cal = calendar.Default()
	}
	senv := services.Env{Catalogue: cat, Calendar: cal, Hours: env.Hours, ForceMajeure: env.periods(a.City)}
	clocks := services.Clocks(evs, senv)
	plainClocks := make([]deadline.Clock, len(clocks))
	for i, c := range clocks {
		plainClocks[i] = c.Clock
		res.Rows.Add(AppSteps, stepRow(ids, a, c, cal, senv.Hours))
	}
	recordable := slices.Contains(domain.ApplicationAllowed(a.Status), domain.DeadlineMissed)
	clockRows(&res, ids, plainClocks, missedEvents(evs), recordable)
	chargeRows(&res, ids, domain.ApplicationLiability(evs))
	extensionNotices(&res, id, a, events)
	return res
}

// stepRow measures one clock for the compliance report.
func stepRow(ids string, a domain.Application, c services.Clock, cal *calendar.Calendar, hours services.OfficeHours) Row {
	var stopped, taken, allowed int64
	h := hours.For(c.Holder.Unit)
	working := c.Term.Unit == calendar.Minutes || c.Term.Unit == calendar.Hours
	if working {
		allowed = int64(time.Duration(c.Term.N) * unitOf(c.Term.Unit) / time.Microsecond)
	} else if c.Err == nil {
		allowed = Micros(c.Deadline) - Micros(c.Start)
	}
	if c.Stopped {
		stopped = Micros(c.StoppedAt)
		d := c.StoppedAt.Sub(c.Start)
		if working {
			if w, err := services.WorkingTimeBetween(cal, h, c.Start, c.StoppedAt); err == nil {
				d = w
			}
		}
		taken = int64(d / time.Microsecond)
	}
	return Row{ids, string(c.Rule), c.StartEvent.String(), a.ServiceCode, string(a.Channel), Micros(c.Start), stopped,
		Micros(c.Adjusted), c.Term.Term.String(), allowed, taken, b2i(c.Late()), c.Holder.Unit, c.Source}
}

func unitOf(u calendar.Unit) time.Duration {
	if u == calendar.Hours {
		return time.Hour
	}
	return time.Minute
}

// extensionNotices: ExtensionNotified tells the applicant of the extension (A1–A3 §5), by SMS
// in Russian and Kazakh, through the same outbox as the pilot's notifications.
func extensionNotices(res *Result, id uuid.UUID, a domain.Application, events []Event) {
	var contact domain.RecipientContact
	if a.Applicant != nil {
		contact = *a.Applicant
	}
	app := domain.Application{ID: id, Status: domain.AppNew}
	for _, e := range events {
		before := app
		app = domain.EvolveApplication(app, e.Event)
		if e.Type != domain.ExtensionNotified || app.Notified == before.Notified {
			continue
		}
		no := app.ReceiptNo
		if no == "" {
			no = app.RegistrationNo
		}
		text := Text{
			RU: fmt.Sprintf("Срок рассмотрения заявления %s продлён на %d календарных дней.", no, app.ExtendedDays),
			KK: fmt.Sprintf("%s өтінішін қарау мерзімі %d күнтізбелік күнге ұзартылды.", no, app.ExtendedDays),
		}
		addNotification(res, id, e, ChannelSMS1414, text, "A1–A3 §5", Details{ApplicationNo: no}, contact, a.Applicant == nil)
	}
}
