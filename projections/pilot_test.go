package projections_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// overdueRule returns doc's overdue item of rule, or nil.
func overdueRule(items []query.Overdue, rule string) *query.Overdue {
	for _, o := range items {
		if o.Rule == rule {
			return &o
		}
	}
	return nil
}

// TestPilotClocksAcrossNauryz runs the clocks read again against the order (P.11, P.26, P.27,
// P.33) through the real commands across Nauryz 2026 (21–25 March off: Friday 20 March is
// followed by Thursday 26 March), on SQLite and PostgreSQL.
func TestPilotClocksAcrossNauryz(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{})
		s.clk.Set(almaty(2026, 3, 9, 8, 0))
		a, b, c, d := s.newDoc(), s.newDoc(), s.newDoc(), s.newDoc()

		// C: unclaimed, back at Kaspi intake; the return registry is formed on Friday 20 March.
		s.walk(c, almaty(2026, 3, 10, 9, 0), 10*time.Minute, toPacked...)
		reg := s.dispatch(almaty(2026, 3, 10, 14, 0), almaty(2026, 3, 10, 15, 0), c)
		s.accept(reg, almaty(2026, 3, 11, 10, 0), []uuid.UUID{c}, nil, nil, nil)
		s.walk(c, almaty(2026, 3, 12, 10, 0), 2*time.Hour, domain.OutForPostomatDelivery, domain.PlacedInCell)
		s.walk(c, almaty(2026, 3, 15, 13, 0), 2*time.Hour, domain.RemovedFromCell, domain.ReturnedToKaspiIntake)
		// D: lost at Kaspi intake, act, cancelled on Wednesday 18 March.
		s.walk(d, almaty(2026, 3, 16, 9, 0), 10*time.Minute, toPacked...)
		reg = s.dispatch(almaty(2026, 3, 16, 14, 0), almaty(2026, 3, 16, 15, 0), d)
		s.accept(reg, almaty(2026, 3, 17, 10, 0), []uuid.UUID{d}, nil, nil, nil)
		s.walk(d, almaty(2026, 3, 17, 15, 0), time.Hour, domain.DocumentLost)
		s.walk(d, almaty(2026, 3, 18, 9, 0), time.Hour, domain.LossActRegistered, domain.ApplicationCancelled)
		// A and B: accepted at Kaspi intake on Friday 20 March.
		for _, doc := range []uuid.UUID{a, b} {
			s.walk(doc, almaty(2026, 3, 19, 9, 0), 10*time.Minute, toPacked...)
		}
		reg = s.dispatch(almaty(2026, 3, 19, 14, 0), almaty(2026, 3, 19, 15, 0), a, b)
		s.accept(reg, almaty(2026, 3, 20, 10, 0), []uuid.UUID{a, b}, nil, nil, nil)
		ret := s.returnRegistry(almaty(2026, 3, 20, 9, 0), c)
		s.step(d, domain.DuplicateRequested, almaty(2026, 3, 20, 10, 30))
		s.at(almaty(2026, 3, 26, 11, 0))
		_, err := s.svc.HandOverRegistry(s.ctx, demo.ActorOf(domain.RoleGKCourier, s.c.GKCourier), commands.Handover{
			EventID: uuid.New(), RegistryID: ret, OccurredAt: almaty(2026, 3, 26, 11, 0)})
		require.NoError(t, err)

		// Friday 27 March, before the ЦОН receives C and after the cancellation's 3 working days.
		assert.Nil(t, overdueRule(s.overdue(almaty(2026, 3, 27, 13, 0), c), "return_collection"),
			"P.33 collected from Kaspi intake by 12:00 on 26 March: on time, whenever the ЦОН receives it")
		assert.Nil(t, overdueRule(s.overdue(almaty(2026, 3, 27, 13, 0), d), "duplicate_issue"),
			"P.26 counts from the request on 20 March, not from the cancellation on 18 March")
		s.at(almaty(2026, 3, 27, 15, 0))
		_, err = s.svc.AcceptRegistry(s.ctx, demo.ActorOf(domain.RoleGKIssuance, s.c.GKIssuance), commands.Acceptance{
			EventID: uuid.New(), RegistryID: ret, Accepted: []uuid.UUID{c}, OccurredAt: almaty(2026, 3, 27, 15, 0)})
		require.NoError(t, err)

		// A leaves intake on the 3rd working day and reaches its cell the next morning.
		s.walk(a, almaty(2026, 3, 30, 15, 0), 19*time.Hour, domain.OutForPostomatDelivery, domain.PlacedInCell)

		now := almaty(2026, 3, 31, 11, 0)
		assert.Nil(t, overdueRule(s.overdue(now, a), "intake_wait"), "P.11 the wait ends when A leaves intake")
		w := overdueRule(s.overdue(now, b), "intake_wait")
		require.NotNil(t, w, "P.11 B still waits at intake after 24:00 of the 3rd working day")
		assert.True(t, w.Deadline.Equal(almaty(2026, 3, 31, 0, 0)), "deadline %s", w.Deadline)
		assert.True(t, w.NoticeOwed, "P.27 no DeliveryDelayed: the recipient has not been told")
		assert.Contains(t, w.Notice, "P.27")
		dup := overdueRule(s.overdue(now, d), "duplicate_issue")
		require.NotNil(t, dup)
		assert.True(t, dup.Deadline.Equal(almaty(2026, 3, 31, 0, 0)), "P.26 deadline %s", dup.Deadline)
		assert.False(t, dup.NoticeOwed)

		assert.Equal(t, 2, s.tick(), "B's intake_wait and D's duplicate_issue are recorded, nothing for A or C")
		for doc, want := range map[uuid.UUID][]string{a: nil, b: {"intake_wait"}, c: nil, d: {"duplicate_issue", "duplicate_issue"}} {
			var rules []string
			for _, ch := range charges(s.custody(doc), "deadline_missed") {
				rules = append(rules, ch.Rule)
			}
			assert.Equal(t, want, rules, "charges of %s", doc)
		}

		// P.27: once told, the item no longer says a notice is owed.
		s.record(demo.Platform, b, almaty(2026, 3, 31, 11, 30), &domain.DeliveryDelayedData{NewDate: almaty(2026, 4, 2, 12, 0)})
		w = overdueRule(s.overdue(almaty(2026, 3, 31, 12, 0), b), "intake_wait")
		require.NotNil(t, w)
		assert.False(t, w.NoticeOwed)

		inc := dump(t, s.b.db, liveGen(t, s.b.db))
		st, err := s.p.Rebuild(s.ctx)
		require.NoError(t, err)
		assert.Equal(t, inc, dump(t, s.b.db, st.Generation), "rebuild equals incremental")
	})
}

// TestP25CancellationTellsWhereAndWhatToBring: the P.25 notice after a loss carries the
// instruction for the repeat certificate through GK (which ЦОН, what to bring), ru and kk.
func TestP25CancellationTellsWhereAndWhatToBring(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{CONAddresses: map[string]string{"GK-ALA-ACC": demo.Almaty.CONAddress}})
		lost := s.newDoc()
		s.walk(lost, day(0, 9, 0), 10*time.Minute, toPacked...)
		s.walk(lost, day(0, 12, 0), time.Hour, domain.DocumentLost, domain.LossActRegistered, domain.ApplicationCancelled)
		s.sync()
		list, err := s.p.Queries().Notifications(s.ctx, query.NotificationFilter{})
		require.NoError(t, err)
		var n int
		for _, m := range list.Items {
			if m.DocumentID != lost || m.TriggerType != "ApplicationCancelled" {
				continue
			}
			n++
			assert.Equal(t, "P.25, P.26", m.Source)
			for _, text := range []string{m.Text.RU, m.Text.KK} {
				assert.Contains(t, text, demo.Almaty.CONAddress, "which ЦОН")
				assert.Contains(t, text, "CON-2026-000001", "the application's number to bring")
				assert.Contains(t, text, "ACT-000001", "the loss act")
			}
			assert.Contains(t, m.Text.RU, "удостоверение личности")
			assert.Contains(t, m.Text.KK, "жеке куәлік")
			assert.Contains(t, m.Text.RU, "Госкорпорацию")
			assert.Equal(t, []string{"identity_document", "application_no"}, m.Details.Bring)
			assert.Equal(t, demo.Almaty.CONAddress, m.Details.CONAddress)
		}
		assert.Equal(t, 2, n, "P.25 Kaspi app and SMS 1414")
	})
}
