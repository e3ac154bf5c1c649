package services

import (
	"fmt"
	"slices"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/deadline"
)

// Rule ids of application clocks. They are stored in DeadlineMissed events and never change.
const (
	GKReceipt       deadline.RuleID = "gk_receipt"       // A1–A3 §9: receipt within 15 minutes
	GKForward       deadline.RuleID = "gk_forward"       // A1–A3 §9: to the provider in 1 working day
	GKIssue         deadline.RuleID = "gk_issue"         // A1, A3 §9: issue within 15 minutes
	ServiceTerm     deadline.RuleID = "service_term"     // A1–A3 §5 (A3 §9 via GK)
	ProviderTerm    deadline.RuleID = "provider_term"    // A1–A3 §9
	ExtensionNotice deadline.RuleID = "extension_notice" // A1–A3 §5: applicant told in 3 calendar days
)

// stepRules name the clock of each catalogue step by the event that ends it.
var stepRules = map[domain.EventType]deadline.RuleID{
	domain.ApplicationRegistered: "registration", // §5.1
	domain.ResolutionImposed:     "resolution",   // §5.2
	domain.ReviewCompleted:       "review",       // §5.3
	domain.RecordFormed:          "record",       // §5.4
	domain.ResultSigned:          "signing",      // §5.5
	domain.ResultDispatched:      "dispatch",     // §5.6
}

// Rules lists every application rule id, in procedure order.
func Rules() []deadline.RuleID {
	return []deadline.RuleID{GKReceipt, GKForward, "registration", "resolution", "review", "record", "signing",
		"dispatch", GKIssue, ServiceTerm, ProviderTerm, ExtensionNotice}
}

// IsRule reports whether id names an application clock.
func IsRule(id deadline.RuleID) bool { return slices.Contains(Rules(), id) }

// Env is what an application's clocks depend on besides its events.
type Env struct {
	Catalogue    *catalogue.Catalogue // nil: catalogue.Default()
	Calendar     *calendar.Calendar   // nil: calendar.Default()
	Hours        OfficeHours          // zero: DefaultHours
	ForceMajeure []deadline.ForceMajeure
}

func (env Env) defaults() Env {
	if env.Catalogue == nil {
		env.Catalogue = catalogue.Default()
	}
	if env.Calendar == nil {
		env.Calendar = calendar.Default()
	}
	if env.Hours.Default == (Hours{}) && len(env.Hours.Units) == 0 {
		env.Hours = DefaultHours
	}
	return env
}

// Clock is an application clock: a deadline.Clock with the term it counts and the step's
// position (the holder names the executor for the review and the record).
type Clock struct {
	deadline.Clock
	Term catalogue.Term
}

// Clocks lists every clock an application's events (in stream order) started: one per step
// of the catalogue, each starting at the step before it and stopped by its own event; the
// service and provider terms, moved by the extensions; and an extension_notice per
// extension. An application whose service is not in the catalogue has none.
func Clocks(events []domain.Event, env Env) []Clock {
	env = env.defaults()
	if len(events) == 0 {
		return nil
	}
	a := domain.FoldApplication(events[0].DocumentID, events)
	svc, ok := env.Catalogue.Lookup(a.ServiceCode)
	if !ok || !svc.Runnable() {
		return nil
	}
	b := builder{env: env, events: events, app: a, svc: svc, intervals: domain.ApplicationIntervals(events)}
	b.steps()
	b.terms()
	b.notices()
	return b.out
}

type builder struct {
	env       Env
	events    []domain.Event
	app       domain.Application
	svc       catalogue.Service
	intervals []domain.Interval
	out       []Clock
}

// first returns the index of the first event of type t, or -1.
func (b *builder) first(t domain.EventType) int {
	return slices.IndexFunc(b.events, func(e domain.Event) bool { return e.Type == t })
}

// stage is one watched stretch: from an event (or a moment) to an event of type stop.
type stage struct {
	rule    deadline.RuleID
	stop    domain.EventType
	term    *catalogue.Term
	charged domain.Org
	extends bool // moved by the review's extensions
	skip    bool // not part of this application's path (the record after a refusal)
}

// path lists the stages an application goes through, in order, for its channel.
func (b *builder) path() []stage {
	g := b.svc.ViaGK
	var out []stage
	if b.app.Channel == domain.ChannelGK && g != nil {
		out = append(out, stage{rule: GKForward, stop: domain.ApplicationForwarded, term: &g.Forward, charged: domain.OrgGK})
	}
	for _, st := range b.svc.Steps {
		t := domain.EventType(st.Event)
		rule, ok := stepRules[t]
		if !ok {
			continue
		}
		term := st.Term
		out = append(out, stage{rule: rule, stop: t, term: &term, charged: domain.OrgRAGS,
			extends: t == domain.ReviewCompleted, skip: t == domain.RecordFormed && b.app.Decision == domain.DecisionRefuse})
	}
	if b.app.Channel == domain.ChannelGK && g != nil {
		out = append(out, stage{rule: "", stop: domain.ResultReceivedAtGK}) // no term of its own (§9)
		if g.Issue != nil {
			out = append(out, stage{rule: GKIssue, stop: domain.ResultIssued, term: g.Issue, charged: domain.OrgGK})
		}
	}
	return out
}

// steps builds the step clocks: each runs from the event that ended the stage before it.
func (b *builder) steps() {
	start := -1 // the index of the event the next stage starts at
	switch b.app.Channel {
	case domain.ChannelGK:
		b.receipt()
		start = b.first(domain.ApplicationAccepted)
	case domain.ChannelOffice, domain.ChannelPortal:
		b.officeReceipt()
		start = b.first(domain.ApplicationRegistered)
	}
	if start < 0 {
		return
	}
	stages := b.path()
	if b.app.Channel != domain.ChannelGK && len(stages) > 0 && stages[0].stop == domain.ApplicationRegistered {
		stages = stages[1:] // the opening registration is timed by officeReceipt
	}
	for _, s := range stages {
		if s.skip {
			continue
		}
		stop := b.first(s.stop)
		if stop >= 0 && stop < start {
			stop = -1
		}
		if s.term != nil {
			if stop < 0 && domain.ApplicationTerminal(b.app.Status) {
				return // ended elsewhere (refused at intake): nothing waits for this step
			}
			b.add(s, b.events[start].OccurredAt, start, stop)
		}
		if stop < 0 {
			return // the application waits at this stage: later stages have not started
		}
		start = stop
	}
}

// receipt times the ЦОН's receipt (15 minutes from the applicant's submission, §9).
func (b *builder) receipt() {
	g := b.svc.ViaGK
	if g == nil || g.Receipt == nil {
		return
	}
	for i, e := range b.events {
		var at *time.Time
		switch p := e.Payload.(type) {
		case *domain.ApplicationAcceptedData:
			at = p.SubmittedAt
		case *domain.ApplicationRefusedAtIntakeData:
			at = p.SubmittedAt
		default:
			continue
		}
		if at != nil {
			b.add(stage{rule: GKReceipt, term: g.Receipt, charged: domain.OrgGK}, *at, i, i)
		}
		return
	}
}

// officeReceipt times the registration of an application that opened at the office or on
// the portal, from its submission when the registration names it.
func (b *builder) officeReceipt() {
	i := b.first(domain.ApplicationRegistered)
	st, ok := b.svc.StepFor(domain.ApplicationRegistered)
	if i < 0 || !ok {
		return
	}
	if p, ok := b.events[i].Payload.(*domain.ApplicationRegisteredData); ok && p.SubmittedAt != nil {
		term := st.Term
		b.add(stage{rule: stepRules[domain.ApplicationRegistered], term: &term, charged: domain.OrgRAGS}, *p.SubmittedAt, i, i)
	}
}

// terms builds service_term (from acceptance or registration) and provider_term (via GK,
// from the provider's receipt), both to the result's dispatch and moved by extensions.
func (b *builder) terms() {
	open := b.first(domain.ApplicationAccepted)
	term := b.svc.Term
	if b.app.Channel != domain.ChannelGK {
		open = b.first(domain.ApplicationRegistered)
	} else if b.svc.ViaGK != nil && b.svc.ViaGK.Term != nil {
		term = b.svc.ViaGK.Term
	}
	dispatched := b.first(domain.ResultDispatched)
	if term != nil && open >= 0 {
		b.add(stage{rule: ServiceTerm, term: term, charged: domain.OrgRAGS, extends: true},
			b.events[open].OccurredAt, open, dispatched)
	}
	if b.app.Channel == domain.ChannelGK && b.svc.ViaGK != nil {
		if fwd := b.first(domain.ApplicationForwarded); fwd >= 0 {
			b.add(stage{rule: ProviderTerm, term: &b.svc.ViaGK.Provider, charged: domain.OrgRAGS, extends: true},
				b.events[fwd].OccurredAt, fwd, dispatched)
		}
	}
}

// notices builds one extension_notice per ReviewExtended, stopped by the matching
// ExtensionNotified (the n-th notice tells the n-th extension).
func (b *builder) notices() {
	x := b.svc.Extension
	if x == nil {
		return
	}
	var told []int
	for i, e := range b.events {
		if e.Type == domain.ExtensionNotified {
			told = append(told, i)
		}
	}
	n := 0
	for i, e := range b.events {
		if e.Type != domain.ReviewExtended {
			continue
		}
		stop := -1
		if n < len(told) {
			stop = told[n]
		}
		n++
		b.add(stage{rule: ExtensionNotice, term: &x.Notice, charged: domain.OrgRAGS}, e.OccurredAt, i, stop)
	}
}

// add builds one clock from start (the moment), startIdx (the event that started it) and
// stopIdx (the event that stopped it, -1: running).
func (b *builder) add(s stage, start time.Time, startIdx, stopIdx int) {
	c := deadline.Clock{Rule: s.rule, Source: s.term.Source, Breach: true, Charged: []domain.Org{s.charged},
		Start: start, StartEvent: b.events[startIdx].ID, Holder: b.position(s, start)}
	if stopIdx >= 0 {
		e := b.events[stopIdx]
		c.Stopped, c.StoppedAt, c.StopEvent, c.StopType = true, e.OccurredAt, e.ID, e.Type
	}
	days := 0
	if s.extends {
		days = b.extendedDays(stopIdx)
	}
	base, err := b.deadline(c.Holder.Unit, start, s.term.Term)
	if err != nil {
		c.Err = fmt.Errorf("services: %s: %w", s.rule, err)
	} else {
		base = calendar.AddCalendarDays(base, days)
		c = deadline.Adjust(c, base, b.env.Calendar, b.env.ForceMajeure, b.app.City, b.mover(c.Holder.Unit, s.term.Term, days))
		if c.Err != nil {
			c.Err = fmt.Errorf("services: %s: %w", s.rule, c.Err)
		}
	}
	b.out = append(b.out, Clock{Clock: c, Term: *s.term})
}

// mover is how force majeure moves a clock of term t (docs/services.md): a minute or hour
// term counts office time, so a period takes from it only the office time it covers, and the
// extension's calendar days that follow move by the wall time a period overlaps them; a day
// term moves by the wall time of the overlap, as the pilot's clocks.
func (b *builder) mover(unit string, t calendar.Term, extensionDays int) deadline.Mover {
	var d time.Duration
	switch t.Unit {
	case calendar.Minutes:
		d = time.Duration(t.N) * time.Minute
	case calendar.Hours:
		d = time.Duration(t.N) * time.Hour
	default:
		return deadline.WallTime
	}
	return func(start, _ time.Time, periods []deadline.ForceMajeure) (time.Time, error) {
		off := make([]Span, len(periods))
		for i, p := range periods {
			off[i] = Span{From: p.From, To: p.To}
		}
		end, err := AddWorkingTimeExcept(b.env.Calendar, b.env.Hours.For(unit), start, d, off)
		if err != nil || extensionDays == 0 {
			return end, err
		}
		return deadline.WallTime(end, calendar.AddCalendarDays(end, extensionDays), periods)
	}
}

// extendedDays sums the extensions recorded before the clock stopped.
func (b *builder) extendedDays(stopIdx int) int {
	days := 0
	for i, e := range b.events {
		if stopIdx >= 0 && i > stopIdx {
			break
		}
		if p, ok := e.Payload.(*domain.ReviewExtendedData); ok {
			days += p.Days
		}
	}
	return days
}

// position is who holds the step: the file's holder when the clock started, and for the
// review and the record the executor the resolution named.
func (b *builder) position(s stage, start time.Time) domain.Holder {
	var h domain.Holder
	if iv, ok := domain.HolderAt(b.intervals, start); ok {
		h = iv.Holder
	} else if len(b.intervals) > 0 {
		h = b.intervals[0].Holder
	}
	if (s.rule == "review" || s.rule == "record") && b.app.Executor != "" {
		h.EmployeeID = b.app.Executor
	}
	return h
}

// deadline counts a term from start: minutes and hours in the unit's office hours on working
// days, working days with the day of the start excluded, calendar days as 24 hours each.
func (b *builder) deadline(unit string, start time.Time, t calendar.Term) (time.Time, error) {
	switch t.Unit {
	case calendar.Minutes:
		return AddWorkingTime(b.env.Calendar, b.env.Hours.For(unit), start, time.Duration(t.N)*time.Minute)
	case calendar.Hours:
		return AddWorkingTime(b.env.Calendar, b.env.Hours.For(unit), start, time.Duration(t.N)*time.Hour)
	}
	return b.env.Calendar.Deadline(start, t)
}
