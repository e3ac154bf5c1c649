package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
)

// monthDays is the working days a month of demo applications spreads over.
const monthDays = 22

// appServices are the services of seed 003 the demo runs, by alias (DOMAIN.md, Other services).
var appServices = []string{"A1", "A2.death", "A2.correction", "A3"}

// appPlan is how one demo application goes: its service, channel and what goes wrong.
type appPlan struct {
	n                                 int
	service                           string
	channel                           domain.Channel
	refusedAtIntake, extended, silent bool // silent: extended and never told (extension_notice runs out)
	refused, lateResolution, lateFwd  bool
}

func planApp(n int) appPlan {
	p := appPlan{n: n, service: appServices[n%len(appServices)],
		channel: []domain.Channel{domain.ChannelGK, domain.ChannelOffice, domain.ChannelPortal}[n%3]}
	p.refusedAtIntake = p.channel == domain.ChannelGK && n%9 == 3
	p.extended, p.silent = n%7 == 2, n%14 == 9
	p.refused = n%8 == 5
	p.lateResolution = n%5 == 1
	p.lateFwd = n%11 == 6
	return p
}

// applications runs count applications of A1–A3 over the working days of a month from start, each step by its own position and unit: some refused at the ЦОН, some extended and
// told (one in two weeks never told), some refused on review, some late at a step, the last
// ones still running at now.
func (g *gen) applications(ctx context.Context, start time.Time, count int) error {
	for n := 0; n < count; n++ {
		day := g.nextWorking(start, n*monthDays/count, 9, 0)    // spread over a month of working days
		at := day.Add(time.Duration(30+90*(n%5)) * time.Minute) // 09:30 … 15:30
		if err := g.application(ctx, planApp(n), at); err != nil {
			return err
		}
	}
	return nil
}

// working: by the calendar the service runs with (an operator's --calendar), so the plan's
// on-time steps are on time by the clocks that judge them.
func (g *gen) working(t time.Time) bool {
	ok, err := g.svc.Calendar().IsWorkingDay(t)
	return err == nil && ok
}

// nextWorking returns hh:mm on the n-th working day after t.
func (g *gen) nextWorking(t time.Time, n, hh, mm int) time.Time {
	d := t
	for i := 0; i < n; {
		d = d.AddDate(0, 0, 1)
		if g.working(d) {
			i++
		}
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, domain.Almaty)
}

// appRun records one application's events in order until their time passes now.
type appRun struct {
	g    *gen
	id   uuid.UUID
	app  domain.Application
	stop bool
}

func (r *appRun) rec(ctx context.Context, a domain.Actor, at time.Time, p domain.Payload) error {
	if r.stop || at.After(r.g.now) {
		r.stop = true
		return nil
	}
	e := domain.Event{ID: r.g.id("app-event", r.id, r.app.Version), DocumentID: r.id, Type: p.EventType(), OccurredAt: at,
		Actor: a, Payload: p}
	if _, err := r.g.svc.AppendApplicationEvent(ctx, a, e, nil); err != nil {
		return fmt.Errorf("demo application %s %s: %w", r.id, e.Type, err)
	}
	r.app = domain.EvolveApplication(r.app, e)
	r.g.sum.Events++
	r.g.last = maxTime(r.g.last, at)
	return nil
}

func (g *gen) application(ctx context.Context, p appPlan, at time.Time) error {
	c := g.c
	office := c.RAGS
	head := domain.Holder{Org: domain.OrgRAGS, Unit: office.Unit, EmployeeID: "r-head"}
	exec := domain.Holder{Org: domain.OrgRAGS, Unit: office.Unit, EmployeeID: fmt.Sprintf("r-exec-%d", p.n%3)}
	gk := ActorOf(domain.RoleGKIssuance, c.GKIssuance)
	r := &appRun{g: g, id: g.id("application", p.n), app: domain.Application{Status: domain.AppNew}}
	applicant := Recipient(1000 + p.n)
	sub := at.Add(-10 * time.Minute)
	receipt := fmt.Sprintf("CON-R-%05d", p.n)
	defer func() {
		if r.app.Version > 0 { // counted once written: the last ones may lie after now
			g.sum.Applications++
		}
	}()
	if p.channel == domain.ChannelGK {
		if p.refusedAtIntake {
			err := r.rec(ctx, gk, at, &domain.ApplicationRefusedAtIntakeData{ReceiptNo: receipt, ServiceCode: p.service,
				Missing: []string{"the court decision"}, Applicant: applicant, SubmittedAt: &sub, City: c.Name})
			if r.app.Version > 0 {
				g.sum.RefusedAtIntake++
			}
			return err
		}
		if err := r.rec(ctx, gk, at, &domain.ApplicationAcceptedData{Transfer: domain.Transfer{To: c.GKIssuance},
			ReceiptNo: receipt, ServiceCode: p.service, Applicant: applicant, SubmittedAt: &sub, City: c.Name}); err != nil {
			return err
		}
		fwd := g.nextWorking(at, 1, 10, 0)
		if p.lateFwd {
			fwd = g.nextWorking(at, 2, 10, 0) // GK forwards a day late (A1–A3 §9: 1 working day)
		}
		if err := r.rec(ctx, gk, fwd, &domain.ApplicationForwardedData{Transfer: domain.Transfer{From: c.GKIssuance, To: office}}); err != nil {
			return err
		}
		at = fwd.Add(15 * time.Minute)
		if err := r.rec(ctx, ActorOf(domain.RoleRAGSOffice, office), at, &domain.ApplicationRegisteredData{
			RegistrationNo: fmt.Sprintf("REG-%05d", p.n)}); err != nil {
			return err
		}
	} else {
		to, a := office, applicant
		if err := r.rec(ctx, ActorOf(domain.RoleRAGSOffice, office), at, &domain.ApplicationRegisteredData{
			RegistrationNo: fmt.Sprintf("REG-%05d", p.n), ServiceCode: p.service, Channel: p.channel, Applicant: &a, To: &to,
			SubmittedAt: &sub, City: c.Name}); err != nil {
			return err
		}
	}
	at = at.Add(12 * time.Minute)
	if p.lateResolution {
		at = at.Add(3 * time.Hour) // the head resolves late (§5.2)
	}
	if err := r.rec(ctx, ActorOf(domain.RoleRAGSHead, head), at, &domain.ResolutionImposedData{Executor: exec.EmployeeID,
		Due: g.nextWorking(at, 7, 18, 0)}); err != nil {
		return err
	}
	if p.extended {
		at = g.nextWorking(at, 1, 11, 0)
		if err := r.rec(ctx, ActorOf(domain.RoleRAGSHead, head), at, &domain.ReviewExtendedData{Days: 10,
			Reason: "a request to the archive of another region"}); err != nil {
			return err
		}
		if r.app.Extensions > 0 {
			g.sum.Extended++
		}
		if p.silent {
			return nil // never told: extension_notice runs out, the review waits
		}
		at = at.Add(26 * time.Hour)
		if err := r.rec(ctx, ActorOf(domain.RoleRAGSOffice, office), at, &domain.ExtensionNotifiedData{}); err != nil {
			return err
		}
	}
	at = g.reviewDone(p, at)
	review := &domain.ReviewCompletedData{Decision: domain.DecisionApprove}
	if p.refused {
		review = &domain.ReviewCompletedData{Decision: domain.DecisionRefuse, Reasons: []string{"the record is not found in the archive"}}
	}
	if err := r.rec(ctx, ActorOf(domain.RoleRAGSExecutor, exec), at, review); err != nil {
		return err
	}
	result := domain.Result{Kind: domain.ResultCertificate, Number: fmt.Sprintf("%07d", 4000000+p.n)}
	switch {
	case p.refused:
		result = domain.Result{Kind: domain.ResultRefusal, Number: fmt.Sprintf("OUT-%05d", p.n)}
	case p.service == "A3":
		result = domain.Result{Kind: domain.ResultAnswer, Number: fmt.Sprintf("OUT-%05d", p.n)}
	case p.service == "A2.death" && p.n%2 == 0:
		result = domain.Result{Kind: domain.ResultSpravka, Number: fmt.Sprintf("SP-%05d", p.n)}
	}
	if !p.refused && p.service != "A3" {
		at = at.Add(40 * time.Minute)
		if err := r.rec(ctx, ActorOf(domain.RoleRAGSExecutor, exec), at, &domain.RecordFormedData{
			RecordNo: fmt.Sprintf("AZ-%05d", p.n)}); err != nil {
			return err
		}
	}
	at = at.Add(20 * time.Minute)
	if err := r.rec(ctx, ActorOf(domain.RoleRAGSHead, head), at, &domain.ResultSignedData{Result: result}); err != nil {
		return err
	}
	dispatcher := ActorOf(domain.RoleRAGSOffice, office)
	if p.service == "A3" {
		dispatcher = ActorOf(domain.RoleRAGSExecutor, exec) // A3 §5.5
	}
	at = at.Add(10 * time.Minute)
	id := domain.IdentityCheck{Method: domain.IdentityInPerson, DocumentType: "id_card", DocumentNumber: fmt.Sprintf("0%08d", 41000000+p.n)}
	recipient := domain.Holder{Org: domain.OrgRecipient}
	switch p.channel {
	case domain.ChannelOffice:
		return r.rec(ctx, dispatcher, at, &domain.ResultDispatchedData{Transfer: domain.Transfer{From: office, To: recipient},
			Destination: domain.ToRecipient, Identity: &id})
	case domain.ChannelPortal:
		return r.rec(ctx, dispatcher, at, &domain.ResultDispatchedData{Transfer: domain.Transfer{From: office, To: recipient},
			Destination: domain.ToPortal})
	}
	if err := r.rec(ctx, dispatcher, at, &domain.ResultDispatchedData{Transfer: domain.Transfer{From: office, To: c.GKIssuance},
		Destination: domain.ToGK}); err != nil {
		return err
	}
	at = g.nextWorking(at, 1, 10, 0)
	if err := r.rec(ctx, gk, at, &domain.ResultReceivedAtGKData{Transfer: domain.Transfer{From: c.GKIssuance, To: c.GKIssuance}}); err != nil {
		return err
	}
	if p.n%4 == 0 {
		id = domain.IdentityCheck{Method: domain.IdentityRepresentative, DocumentType: "id_card", DocumentNumber: id.DocumentNumber,
			PowerOfAttorney: &domain.PowerOfAttorney{Number: fmt.Sprintf("NOT-%04d", p.n), Date: at.AddDate(0, -1, 0).Format(time.DateOnly)}}
	}
	return r.rec(ctx, gk, g.nextWorking(at, 2, 11, 0), &domain.ResultIssuedData{Transfer: domain.Transfer{From: c.GKIssuance, To: recipient},
		ReceiptNo: receipt, Identity: id})
}

// reviewDone is when the executor finishes the review: a death registration within hours
// (A2 §5.3: 3 hours), the others in a few working days (7, or A3's 2), late now and then.
func (g *gen) reviewDone(p appPlan, at time.Time) time.Time {
	if p.service == "A2.death" {
		if p.n%6 == 4 {
			return at.Add(5 * time.Hour) // late: 3 hours of working time
		}
		return at.Add(90 * time.Minute)
	}
	days := 3
	if p.service == "A3" {
		days = 1
	}
	if p.n%6 == 4 {
		days += 8 // late at the review
	}
	if p.extended {
		days += 5
	}
	return g.nextWorking(at, days, 15, 0)
}
