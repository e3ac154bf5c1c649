package projections_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// liveAndSuperseded splits a document's deadline charges.
func liveAndSuperseded(c query.Custody) (live, superseded []query.Charge) {
	for _, ch := range charges(c, "deadline_missed") {
		if len(ch.SupersededBy) > 0 {
			superseded = append(superseded, ch)
		} else {
			live = append(live, ch)
		}
	}
	return live, superseded
}

// TestForceMajeureCancelsTheChargesItCovers is issue 10 §5's scenario: A and B are handed to
// the GK courier on Friday 20 March 2026 at 10:00 (P.17: due Thursday 26 March 12:00, after
// Nauryz); the watch records both missed; GK then declares force majeure for 26 March
// 08:00–14:00, notified the same day (P.37, P.38), which moves the deadline to 18:00; B is
// accepted at 17:00. A ends charged once (at 18:00), B not at all; the 12:00 records stay on
// the streams, shown superseded by the period; rebuild equals incremental.
func TestForceMajeureCancelsTheChargesItCovers(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{})
		s.clk.Set(almaty(2026, 3, 20, 7, 0))
		a, b := s.newDoc(), s.newDoc()
		s.walk(a, almaty(2026, 3, 20, 8, 0), 5*time.Minute, toPacked...)
		s.walk(b, almaty(2026, 3, 20, 8, 1), 5*time.Minute, toPacked...)
		s.dispatch(almaty(2026, 3, 20, 9, 30), almaty(2026, 3, 20, 10, 0), a)
		regB := s.dispatch(almaty(2026, 3, 20, 9, 31), almaty(2026, 3, 20, 10, 0), b)

		s.at(almaty(2026, 3, 26, 12, 30))
		require.Equal(t, 2, s.tick(), "the watch records A and B missed at 12:00")

		notified := almaty(2026, 3, 26, 12, 45)
		s.at(notified)
		fm, err := s.svc.DeclareForceMajeure(s.ctx, s.acc(), uuid.New(), notified, domain.ForceMajeureDeclaredData{
			From: almaty(2026, 3, 26, 8, 0), To: almaty(2026, 3, 26, 14, 0), Description: "flood closed the bridge",
			Evidence: demo.Evidence(almaty(2026, 3, 26, 8, 0)), Notified: demo.NotifiedBy(domain.OrgGK)})
		require.NoError(t, err)
		s.sync()
		for _, doc := range []uuid.UUID{a, b} {
			live, sup := liveAndSuperseded(s.custody(doc))
			assert.Empty(t, live, "P.37 the 12:00 charge no longer counts")
			require.Len(t, sup, 1, "the 12:00 record is kept, shown superseded")
			assert.Equal(t, []uuid.UUID{fm.DocumentID}, sup[0].SupersededBy, "superseded by the force-majeure period")
			assert.True(t, sup[0].At.Equal(almaty(2026, 3, 26, 12, 0)))
		}
		assert.Nil(t, overdueRule(s.overdue(almaty(2026, 3, 26, 13, 0), a), "intake_delivery"), "due moved to 18:00")
		assert.Zero(t, s.tick(), "nothing to record before the moved deadline")

		s.accept(regB, almaty(2026, 3, 26, 17, 0), []uuid.UUID{b}, nil, nil, nil)
		s.at(almaty(2026, 3, 26, 18, 30))
		assert.Equal(t, 1, s.tick(), "the moved deadline passed for A only")
		assert.Zero(t, s.tick(), "recorded once")
		s.at(almaty(2026, 3, 26, 19, 30))
		assert.Equal(t, 1, s.tick(), "A's order clock (P.10), moved to 19:00, passes too")

		live, sup := liveAndSuperseded(s.custody(a))
		require.Len(t, live, 1, "A is charged once: one late arrival (P.10, P.17), one live charge")
		assert.True(t, live[0].At.Equal(almaty(2026, 3, 26, 18, 0)), "charged at 18:00: %s", live[0].At)
		assert.Equal(t, domain.OrgGK, live[0].Org)
		assert.Equal(t, "P.10, P.17", live[0].Source)
		assert.Len(t, sup, 1)
		live, sup = liveAndSuperseded(s.custody(b))
		assert.Empty(t, live, "B was in time for the deadline as it stands")
		assert.Len(t, sup, 1)

		rep, err := s.p.Queries().Liability(s.ctx, query.LiabilityFilter{Org: "gk"})
		require.NoError(t, err)
		require.Len(t, rep.Organisations, 1)
		assert.Equal(t, int64(1), rep.Organisations[0].DeadlinesMissed, "one live charge in the sums")

		inc := dump(t, s.b.db, liveGen(t, s.b.db))
		st, err := s.p.Rebuild(s.ctx)
		require.NoError(t, err)
		assert.Equal(t, inc, dump(t, s.b.db, st.Generation), "rebuild equals incremental")
	})
}
