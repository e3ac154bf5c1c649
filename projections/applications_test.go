package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// TestComplianceReportOnAKnownSet: six A3 applications at the office (A3 §5.2: the resolution
// in 15 minutes). Five were resolved after 5, 10, 15, 20 and 40 minutes of working time (the
// 20 across the office's closing: 10 minutes before 18:00, 10 after 09:00), one never: the
// report counts 6 started, 5 completed, median 15 min, 95th percentile 40 min, 2 late, 1
// overdue, 3 breaches. A force-majeure period for RAGS then moves the overdue one past now.
func TestComplianceReportOnAKnownSet(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		ctx := context.Background()
		b := mk(t)
		now := almaty(2026, 3, 6, 12, 0)
		svc := commands.New(b.store, commands.WithClock(func() time.Time { return now }))
		office := domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-ALA-01", EmployeeID: "o1"}
		rec := func(app uuid.UUID, role domain.Role, at time.Time, p domain.Payload) {
			a := domain.Actor{Role: role, Org: domain.OrgRAGS, Unit: office.Unit, EmployeeID: "e1"}
			e := domain.Event{ID: uuid.New(), DocumentID: app, Type: p.EventType(), OccurredAt: at, Actor: a, Payload: p}
			_, err := svc.AppendApplicationEvent(ctx, a, e, nil)
			require.NoError(t, err, "%s", e.Type)
		}
		runs := []struct {
			registered time.Time
			resolved   time.Duration // after registration; 0: never
		}{
			{almaty(2026, 3, 2, 10, 0), 5 * time.Minute},
			{almaty(2026, 3, 2, 11, 0), 10 * time.Minute},
			{almaty(2026, 3, 2, 12, 0), 15 * time.Minute},
			{almaty(2026, 3, 2, 17, 50), 15*time.Hour + 20*time.Minute}, // 09:10 next day: 20 min of working time
			{almaty(2026, 3, 4, 10, 0), 40 * time.Minute},
			{almaty(2026, 3, 5, 10, 0), 0},
		}
		var pending uuid.UUID
		for i, r := range runs {
			app := uuid.New()
			to, c := office, domain.RecipientContact{IIN: "950107400015", Phone: "+77011234567"}
			rec(app, domain.RoleRAGSOffice, r.registered, &domain.ApplicationRegisteredData{RegistrationNo: fmt.Sprintf("REG-%d", i),
				ServiceCode: "A3", Channel: domain.ChannelOffice, Applicant: &c, To: &to})
			if r.resolved == 0 {
				pending = app
				continue
			}
			rec(app, domain.RoleRAGSHead, r.registered.Add(r.resolved), &domain.ResolutionImposedData{Executor: "e1",
				Due: r.registered.Add(72 * time.Hour)})
		}
		p := open(t, b, nil, projections.Options{DisableDelivery: true, Now: func() time.Time { return now }})
		_, err := p.CatchUp(ctx)
		require.NoError(t, err)
		q := p.Queries().WithClock(func() time.Time { return now })

		rep, err := q.Compliance(ctx, query.ComplianceFilter{Service: "annulment"})
		require.NoError(t, err)
		var res *query.StepCompliance
		for i := range rep.Steps {
			if rep.Steps[i].Step == "resolution" {
				res = &rep.Steps[i]
			}
		}
		require.NotNil(t, res)
		assert.Equal(t, query.StepCompliance{Step: "resolution", Source: "A3 §5.2, §8.2", Term: "15 minutes", Allowed: "15m0s",
			Started: 6, Completed: 5, Median: "15m0s", P95: "40m0s", MedianSec: 900, P95Sec: 2400, Late: 2, Overdue: 1, Breaches: 3}, *res)

		// From 3 March on: the two late ones of 2 March are outside the period.
		rep, err = q.Compliance(ctx, query.ComplianceFilter{Service: "annulment", From: almaty(2026, 3, 3, 0, 0)})
		require.NoError(t, err)
		for _, s := range rep.Steps {
			if s.Step == "resolution" {
				assert.Equal(t, 2, s.Started)
				assert.Equal(t, 1, s.Late)
			}
		}

		od, err := q.Overdue(ctx, query.OverdueFilter{Service: "annulment", Rule: "resolution", Page: query.Page{Limit: 10}})
		require.NoError(t, err)
		require.Len(t, od.Items, 1)
		assert.Equal(t, pending, od.Items[0].DocumentID)
		assert.Equal(t, almaty(2026, 3, 5, 10, 15), od.Items[0].Deadline.In(domain.Almaty), "15 min from the registration")

		// P.37 as for the pilot: a period covering RAGS moves the running clock past now.
		rags := domain.Actor{Role: domain.RoleRAGS, Org: domain.OrgRAGS, Unit: office.Unit}
		_, err = svc.DeclareForceMajeure(ctx, rags, uuid.New(), now, domain.ForceMajeureDeclaredData{
			From: almaty(2026, 3, 5, 9, 0), To: almaty(2026, 3, 7, 9, 0), Orgs: []domain.Org{domain.OrgRAGS},
			NotifyingOrg: domain.OrgRAGS, Description: "flood at the office",
			Evidence: &domain.FMEvidence{Issuer: "Akimat of Almaty", Number: "EM-12", Date: "2026-03-05"},
			Notified: []domain.Org{domain.OrgGK}})
		require.NoError(t, err)
		_, err = p.CatchUp(ctx)
		require.NoError(t, err)
		od, err = q.Overdue(ctx, query.OverdueFilter{Service: "annulment", Rule: "resolution", Page: query.Page{Limit: 10}})
		require.NoError(t, err)
		assert.Empty(t, od.Items, "the application's clock is suspended like a document's")
	})
}

// TestP37RegionalForceMajeureReachesApplications: an application carries the city it was filed
// in, so a regional period moves its clocks as a document's (the planner finds it by the
// city), in office time: an A3 resolution (15 min, A3 §5.2) asked at 17:50 is due 09:05; with
// force majeure in Almaty from 17:00 to 11:00 it is due 11:15. An Astana application keeps
// its deadline. A rebuild gives the same tables.
func TestP37RegionalForceMajeureReachesApplications(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		ctx := context.Background()
		b := mk(t)
		now := almaty(2026, 3, 6, 11, 10)
		svc := commands.New(b.store, commands.WithClock(func() time.Time { return now }))
		apps := map[string]uuid.UUID{}
		for _, city := range []string{"Almaty", "Astana"} {
			office := domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-" + city, EmployeeID: "o1"}
			a := domain.Actor{Role: domain.RoleRAGSOffice, Org: domain.OrgRAGS, Unit: office.Unit, EmployeeID: "o1"}
			id, c := uuid.New(), domain.RecipientContact{IIN: "950107400015", Phone: "+77011234567"}
			e := domain.Event{ID: uuid.New(), DocumentID: id, Type: domain.ApplicationRegistered, OccurredAt: almaty(2026, 3, 5, 17, 50),
				Actor: a, Payload: &domain.ApplicationRegisteredData{RegistrationNo: "REG-" + city, ServiceCode: "A3",
					Channel: domain.ChannelOffice, Applicant: &c, To: &office, City: city}}
			_, err := svc.AppendApplicationEvent(ctx, a, e, nil)
			require.NoError(t, err)
			apps[city] = id
		}
		p := open(t, b, nil, projections.Options{DisableDelivery: true, Now: func() time.Time { return now }})
		_, err := p.CatchUp(ctx)
		require.NoError(t, err)
		due := func(city string) time.Time {
			ds, err := p.Queries().ActiveDeadlines(ctx, apps[city], now)
			require.NoError(t, err)
			for _, d := range ds {
				if d.Rule == "resolution" {
					return d.Deadline.In(domain.Almaty)
				}
			}
			t.Fatalf("no resolution clock for %s", city)
			return time.Time{}
		}
		require.Equal(t, almaty(2026, 3, 6, 9, 5), due("Almaty"))

		rags := domain.Actor{Role: domain.RoleRAGS, Org: domain.OrgRAGS, Unit: "RAGS-Almaty"}
		_, err = svc.DeclareForceMajeure(ctx, rags, uuid.New(), now, domain.ForceMajeureDeclaredData{
			From: almaty(2026, 3, 5, 17, 0), To: almaty(2026, 3, 6, 11, 0), Orgs: []domain.Org{domain.OrgRAGS}, Region: "Almaty",
			NotifyingOrg: domain.OrgRAGS, Description: "power cut in Almaty",
			Evidence: &domain.FMEvidence{Issuer: "Akimat of Almaty", Number: "EM-13", Date: "2026-03-06"},
			Notified: []domain.Org{domain.OrgGK}})
		require.NoError(t, err)
		_, err = p.CatchUp(ctx)
		require.NoError(t, err)
		assert.Equal(t, almaty(2026, 3, 6, 11, 15), due("Almaty"), "the office time the period took, not its wall time")
		assert.Equal(t, almaty(2026, 3, 6, 9, 5), due("Astana"), "another region's application")

		inc := dump(t, b.db, liveGen(t, b.db))
		st, err := p.Rebuild(ctx)
		require.NoError(t, err)
		assert.Equal(t, inc, dump(t, b.db, st.Generation))
	})
}
