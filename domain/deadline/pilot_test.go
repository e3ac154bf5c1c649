package deadline

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
)

// The pilot's clocks read again against the order (issue 11), each across Nauryz 2026:
// 21–25 March are days off, so Friday 20 March is followed by Thursday 26 March.

func TestP33ReturnCollectionStopsWhenCollectedFromKaspiIntake(t *testing.T) {
	formed := addedToRegistry(domain.RegistryReturnCollection, at(2026, 3, 20, 9, 0))
	collectedAt := collectedFromIntake(at(2026, 3, 26, 11, 30))
	evs := []domain.Event{returned(at(2026, 3, 19, 17, 0)), formed, collectedAt,
		receivedAtIssuance(hGKCourier, at(2026, 3, 27, 15, 0))} // the ЦОН hand-over has no term (P.33)
	c := one(t, Clocks(evs, cal, nil, ""), ReturnCollection)
	sameTime(t, at(2026, 3, 26, 12, 0), c.Deadline, "P.33 12:00 of the working day after Nauryz")
	assert.Equal(t, domain.CollectedFromKaspiIntake, c.StopType, "P.33 the clock stops at the collection")
	assert.Equal(t, collectedAt.ID, c.StopEvent)
	assert.False(t, c.Late())
	assert.Empty(t, c.Breached(at(2026, 4, 1, 0, 0)))

	late := collectedFromIntake(at(2026, 3, 26, 12, 30))
	c = one(t, Clocks([]domain.Event{evs[0], formed, late}, cal, nil, ""), ReturnCollection)
	assert.True(t, c.Late(), "P.33 collected after noon")
	assert.Equal(t, []domain.Org{domain.OrgGK}, c.Breached(at(2026, 4, 1, 0, 0)))
}

func TestP26DuplicateIssueCountsFromTheRequest(t *testing.T) {
	base := []domain.Event{accepted(at(2026, 3, 16, 10, 0)), lost(at(2026, 3, 17, 10, 0)), cancelled(at(2026, 3, 18, 10, 0))}
	assert.Empty(t, only(Clocks(base, cal, nil, ""), DuplicateIssue),
		"P.26 a recipient who never applies for the duplicate starts no clock")

	req := duplicateRequested(at(2026, 3, 20, 10, 0))
	c := one(t, Clocks(append(base, req), cal, nil, ""), DuplicateIssue)
	assert.Equal(t, req.ID, c.StartEvent, "P.26 counted from DuplicateRequested")
	sameTime(t, at(2026, 3, 31, 0, 0), c.Deadline, "P.26 3 working days after Friday 20 March: 26, 27 and 30 March")
	assert.Equal(t, []domain.Org{domain.OrgGK, domain.OrgRAGS}, c.Charged)

	issued := duplicateIssued(at(2026, 3, 30, 17, 0))
	c = one(t, Clocks(append(base, req, issued), cal, nil, ""), DuplicateIssue)
	assert.True(t, c.Stopped)
	assert.False(t, c.Late(), "P.26 issued on the 3rd working day")
}

func TestP11IntakeWaitStopsWhenTheDocumentLeavesIntake(t *testing.T) {
	acc := accepted(at(2026, 3, 20, 11, 0))
	out := outForDelivery(at(2026, 3, 30, 15, 0))
	evs := []domain.Event{acc, out, placed(at(2026, 3, 31, 10, 0))}
	c := one(t, Clocks(evs, cal, nil, ""), IntakeWait)
	sameTime(t, at(2026, 3, 31, 0, 0), c.Deadline, "P.11 24:00 of the 3rd working day after Nauryz")
	assert.Equal(t, domain.OutForPostomatDelivery, c.StopType, "P.11 the wait ends when it leaves the intake point")
	assert.Equal(t, out.ID, c.StopEvent)
	assert.False(t, c.Late(), "P.11 placed in the cell after the deadline is no breach of the wait")

	late := outForDelivery(at(2026, 3, 31, 9, 0))
	c = one(t, Clocks([]domain.Event{acc, late}, cal, nil, ""), IntakeWait)
	assert.True(t, c.Late())
	assert.Equal(t, []domain.Org{domain.OrgKaspi}, c.Breached(at(2026, 4, 1, 0, 0)))
}

func TestP27MissedIntakeWaitOwesTheRecipientANotice(t *testing.T) {
	acc := accepted(at(2026, 3, 20, 11, 0))
	after := at(2026, 3, 31, 0, 1)
	c := one(t, Clocks([]domain.Event{acc}, cal, nil, ""), IntakeWait)
	assert.False(t, c.NoticeOwed(at(2026, 3, 30, 23, 59)), "P.27 nothing owed before the deadline")
	assert.True(t, c.NoticeOwed(after), "P.27 missed with no DeliveryDelayed: the recipient has not been told")

	told := delayed(at(2026, 3, 27, 10, 0), at(2026, 4, 2, 12, 0))
	c = one(t, Clocks([]domain.Event{acc, told}, cal, nil, ""), IntakeWait)
	assert.True(t, c.NoticeGiven)
	assert.False(t, c.NoticeOwed(after), "P.27 the delay was notified")

	c = one(t, Clocks([]domain.Event{acc, outForDelivery(at(2026, 3, 30, 9, 0))}, cal, nil, ""), IntakeWait)
	assert.False(t, c.NoticeOwed(after), "P.27 left intake in time: nothing to tell")

	for _, r := range Rules() {
		if r.ID != IntakeWait {
			require.Empty(t, r.Notice, "%s: only the Kaspi-side wait owes a P.27 notice", r.ID)
		}
	}
}

func TestP37EmptyOrgsInAnOldRecordCoverOnlyTheNotifyingOrganisation(t *testing.T) {
	p := &domain.ForceMajeureDeclaredData{From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 11, 0, 0), NotifyingOrg: domain.OrgKaspi,
		Description: "made before P.37 was enforced"}
	f, ok := FromEvent(domain.Event{ID: doc, DocumentID: doc, Type: domain.ForceMajeureDeclared, OccurredAt: at(2026, 2, 10, 9, 0), Payload: p})
	require.True(t, ok)
	assert.Equal(t, []domain.Org{domain.OrgKaspi}, f.Orgs)
	// GK's clock (P.17) is not moved by Kaspi's period.
	c := one(t, Clocks([]domain.Event{handed(at(2026, 2, 9, 16, 0))}, cal, []ForceMajeure{f}, ""), IntakeDelivery)
	sameTime(t, c.Deadline, c.Adjusted, "P.37 another organisation's force majeure")
}

func TestForceMajeureSupersedesMissedDeadlines(t *testing.T) {
	// Issue 10 §5: handed Friday 20 March 10:00, due 26 March 12:00 (P.17); GK's period
	// 08:00–14:00 moves it to 18:00 (P.37).
	evs := []domain.Event{handed(at(2026, 3, 20, 10, 0))}
	f := fmPeriod(at(2026, 3, 26, 8, 0), at(2026, 3, 26, 14, 0), domain.OrgGK, at(2026, 3, 26, 12, 45))
	f.Orgs = []domain.Org{domain.OrgGK}
	moved := Supersession(Clocks(evs, cal, []ForceMajeure{f}, ""))
	by, now := moved(string(IntakeDelivery), domain.OrgGK, at(2026, 3, 26, 12, 0))
	assert.Equal(t, []uuid.UUID{f.ID}, by, "the 12:00 record is superseded by the period")
	sameTime(t, at(2026, 3, 26, 18, 0), now, "the deadline as it stands")
	by, _ = moved(string(IntakeDelivery), domain.OrgGK, at(2026, 3, 26, 18, 0))
	assert.Empty(t, by, "the moved deadline's own record stands")
	by, _ = moved(string(IntakeDelivery), domain.OrgGK, at(2026, 3, 26, 12, 0).Add(-24*time.Hour))
	assert.Empty(t, by, "no clock of the rule had its deadline by then")
	by, _ = Supersession(Clocks(evs, cal, nil, ""))(string(IntakeDelivery), domain.OrgGK, at(2026, 3, 26, 12, 0))
	assert.Empty(t, by, "without force majeure every record stands")
}
