package projections_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// ruleCase is one row of DOMAIN.md's deadline table: a journey that starts the clock and lets
// it run out, the deadline, who is charged and who holds the document when it runs out.
type ruleCase struct {
	name          string // names the source point
	rule          string
	build         func(s *scen, doc uuid.UUID)
	deadline      time.Time
	before, after time.Time
	orgs          []domain.Org // nil: running out is no one's breach
	holder        string
}

func ruleCases() []ruleCase {
	dispatched := func(s *scen, doc uuid.UUID) {
		s.walk(doc, day(0, 9, 0), 10*time.Minute, toPacked...)
		s.dispatch(day(0, 14, 0), day(0, 15, 0), doc)
	}
	accepted := func(s *scen, doc uuid.UUID) {
		s.walk(doc, day(0, 9, 0), 10*time.Minute, toPacked...)
		reg := s.dispatch(day(0, 14, 0), day(0, 15, 0), doc)
		s.accept(reg, day(1, 10, 0), []uuid.UUID{doc}, nil, nil, nil)
	}
	delivered := func(s *scen, doc uuid.UUID) { s.delivered(doc) }
	returned := func(s *scen, doc uuid.UUID) uuid.UUID {
		s.delivered(doc)
		s.step(doc, domain.RemovedFromCell, day(5, 13, 0))
		s.step(doc, domain.ReturnedToKaspiIntake, day(5, 15, 0))
		return s.returnRegistry(day(7, 10, 0), doc)
	}
	gk, kaspi, rags := domain.OrgGK, domain.OrgKaspi, domain.OrgRAGS
	return []ruleCase{
		{name: "P.17 dispatch registry reaches Kaspi intake by 12:00 next working day", rule: "intake_delivery",
			build: dispatched, deadline: day(1, 12, 0), before: day(1, 11, 59), after: day(1, 12, 30),
			orgs: []domain.Org{gk}, holder: "GK-ALA-CR1"},
		{name: "P.10 an order created today is at Kaspi intake by 13:00 next working day", rule: "order_to_intake",
			build: func(s *scen, doc uuid.UUID) {
				s.walk(doc, day(0, 9, 0), 10*time.Minute, toPacked...) // order at 09:20
				s.dispatch(day(1, 10, 0), day(1, 11, 0), doc)
			}, deadline: day(1, 13, 0), before: day(1, 12, 59), after: day(1, 13, 30), orgs: []domain.Org{gk}, holder: "GK-ALA-CR1"},
		{name: "P.11 the order waits at Kaspi intake at most 3 working days", rule: "intake_wait",
			build: accepted, deadline: day(5, 0, 0), before: day(4, 23, 0), after: day(5, 1, 0),
			orgs: []domain.Org{kaspi}, holder: "KSP-ALA-IN1"},
		{name: "P.21 P.29 the cell keeps the document 72 hours; then it is unclaimed, no one's breach", rule: "cell_storage",
			build: delivered, deadline: day(5, 12, 0), before: day(5, 11, 0), after: day(5, 13, 0), holder: "PM-ALA-0042"},
		{name: "P.30 the unclaimed document is back at Kaspi intake within 1 working day", rule: "cell_removal",
			build: delivered, deadline: day(8, 0, 0), before: day(7, 23, 0), after: day(8, 1, 0),
			orgs: []domain.Org{kaspi}, holder: "PM-ALA-0042"},
		{name: "P.33 the return registry is collected from Kaspi intake by 12:00 next working day", rule: "return_collection",
			build: func(s *scen, doc uuid.UUID) { returned(s, doc) }, deadline: day(8, 12, 0), before: day(8, 11, 0),
			after: day(8, 12, 30), orgs: []domain.Org{gk}, holder: "KSP-ALA-IN1"},
		{name: "P.35 the CON keeps a returned document one month, then transfers it; no one's breach", rule: "con_storage",
			build: func(s *scen, doc uuid.UUID) {
				reg := returned(s, doc)
				s.collectReturns(reg, day(8, 10, 0), day(8, 11, 0), doc)
			}, deadline: almaty(2026, 5, 15, 0, 0), before: almaty(2026, 5, 14, 23, 0), after: almaty(2026, 5, 15, 1, 0),
			holder: "GK-ALA-ISS"},
		{name: "P.26 a duplicate of the lost certificate is issued within 3 working days", rule: "duplicate_issue",
			build: func(s *scen, doc uuid.UUID) {
				accepted(s, doc)
				s.step(doc, domain.DocumentLost, day(1, 15, 0))
				s.step(doc, domain.LossActRegistered, day(2, 9, 0))
				s.step(doc, domain.ApplicationCancelled, day(2, 10, 0))
				s.step(doc, domain.DuplicateRequested, day(2, 11, 0)) // P.26 counts from the request
			}, deadline: day(8, 0, 0), before: day(7, 23, 0), after: day(8, 1, 0), orgs: []domain.Org{gk, rags}, holder: "KSP-ALA-IN1"},
	}
}

// TestDeadlineRules runs each rule of DOMAIN.md's deadline table through the real commands and
// checks the overdue list, the watch's DeadlineMissed and the liability it produces, on
// SQLite and PostgreSQL.
func TestDeadlineRules(t *testing.T) {
	for _, tc := range ruleCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			backends(t, func(t *testing.T, mk func(testing.TB) backend) {
				s := newScen(t, mk, projections.Options{})
				doc := s.newDoc()
				tc.build(s, doc)

				for _, o := range s.overdue(tc.before, doc) {
					assert.NotEqual(t, tc.rule, o.Rule, "not overdue before the deadline")
				}
				var got []query.Overdue
				for _, o := range s.overdue(tc.after, doc) {
					if o.Rule == tc.rule {
						got = append(got, o)
					}
				}
				want := max(1, len(tc.orgs))
				require.Len(t, got, want, "overdue rows of %s", tc.rule)
				var orgs []domain.Org
				for _, o := range got {
					assert.True(t, o.Deadline.Equal(tc.deadline), "deadline %s, want %s", o.Deadline, tc.deadline)
					assert.Equal(t, "+05:00", o.Deadline.Format("Z07:00"))
					assert.Equal(t, len(tc.orgs) > 0, o.Breach)
					require.NotNil(t, o.Holder)
					assert.Equal(t, tc.holder, o.Holder.Unit)
					if o.Charged != "" {
						orgs = append(orgs, o.Charged)
					}
				}
				assert.ElementsMatch(t, tc.orgs, orgs)

				appended := s.tick()
				if len(tc.orgs) == 0 {
					assert.Zero(t, appended, "running out of %s is no one's breach: nothing to record", tc.rule)
					return
				}
				assert.Equal(t, 1, appended, "one DeadlineMissed per document, rule and deadline")
				assert.Zero(t, s.tick(), "recorded once")
				c := s.custody(doc)
				var charged []domain.Org
				for _, ch := range c.Liability {
					if ch.Kind == "deadline_missed" && ch.Rule == tc.rule {
						charged = append(charged, ch.Org)
						assert.NotEmpty(t, ch.Reasons)
						assert.True(t, ch.At.Equal(tc.deadline))
					}
				}
				slices.Sort(charged)
				assert.ElementsMatch(t, tc.orgs, charged, "liability of the miss")
				for _, k := range c.Deadlines {
					if k.Rule == tc.rule && k.Org != "" {
						assert.NotEmpty(t, k.MissedEventID, "the clock names its DeadlineMissed")
					}
				}
			})
		})
	}
}
