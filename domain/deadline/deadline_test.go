package deadline

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

var (
	cal = calendar.Default()
	doc = uuid.MustParse("00000000-0000-0000-0000-00000000d0c0")

	hRags       = domain.Holder{Org: domain.OrgRAGS, Unit: "rags-almaty-1", EmployeeID: "r1"}
	hGKCourier  = domain.Holder{Org: domain.OrgGK, Unit: "gk-courier-almaty", EmployeeID: "c1"}
	hGKAcc      = domain.Holder{Org: domain.OrgGK, Unit: "con-almaty-acc", EmployeeID: "a1"}
	hGKIssuance = domain.Holder{Org: domain.OrgGK, Unit: "con-almaty-iss", EmployeeID: "i1"}
	hKIntake    = domain.Holder{Org: domain.OrgKaspi, Unit: "kaspi-intake-almaty", EmployeeID: "k1"}
	hKCourier   = domain.Holder{Org: domain.OrgKaspi, Unit: "kaspi-courier-almaty", EmployeeID: "k2"}
	hPostomat   = domain.Holder{Org: domain.OrgKaspi, Unit: "PM-0001"}
	hRecipient  = domain.Holder{Org: domain.OrgRecipient}
)

func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, calendar.Almaty)
}

func ev(p domain.Payload, when time.Time) domain.Event {
	return domain.Event{ID: uuid.New(), DocumentID: doc, Type: p.EventType(), OccurredAt: when, Payload: p}
}

func tr(from, to domain.Holder) domain.Transfer { return domain.Transfer{From: from, To: to} }

// Payload constructors for the journey's steps, so each test reads as a list of events.
func handed(t time.Time) domain.Event {
	return ev(&domain.HandedToCourierData{Transfer: tr(hGKAcc, hGKCourier), RegistryID: uuid.New()}, t)
}
func accepted(t time.Time) domain.Event {
	return ev(&domain.AcceptedAtKaspiIntakeData{Transfer: tr(hGKCourier, hKIntake)}, t)
}
func orderCreated(t time.Time) domain.Event {
	return ev(&domain.KaspiOrderCreatedData{Waybill: "KSP-123456"}, t)
}
func outForDelivery(t time.Time) domain.Event {
	return ev(&domain.OutForPostomatDeliveryData{Transfer: tr(hKIntake, hKCourier)}, t)
}
func placed(t time.Time) domain.Event {
	return ev(&domain.PlacedInCellData{Transfer: tr(hKCourier, hPostomat), PostomatID: "PM-0001", CellID: "A1"}, t)
}
func collected(t time.Time) domain.Event {
	return ev(&domain.CollectedByRecipientData{Transfer: tr(hPostomat, hRecipient)}, t)
}
func removed(t time.Time) domain.Event {
	return ev(&domain.RemovedFromCellData{Transfer: tr(hPostomat, hKCourier)}, t)
}
func returned(t time.Time) domain.Event {
	return ev(&domain.ReturnedToKaspiIntakeData{Transfer: tr(hKCourier, hKIntake)}, t)
}
func addedToRegistry(kind domain.RegistryKind, t time.Time) domain.Event {
	return ev(&domain.AddedToRegistryData{RegistryID: uuid.New(), Kind: kind, Line: 1}, t)
}
func collectedFromIntake(t time.Time) domain.Event {
	return ev(&domain.CollectedFromKaspiIntakeData{Transfer: tr(hKIntake, hGKCourier), RegistryID: uuid.New()}, t)
}
func receivedAtIssuance(from domain.Holder, t time.Time) domain.Event {
	return ev(&domain.ReceivedAtIssuanceData{Transfer: tr(from, hGKIssuance)}, t)
}
func issuedToRecipient(t time.Time) domain.Event {
	return ev(&domain.IssuedToRecipientData{Transfer: tr(hGKIssuance, hRecipient)}, t)
}
func transferredForStorage(t time.Time) domain.Event {
	return ev(&domain.TransferredForStorageData{Transfer: tr(hGKIssuance, hRags)}, t)
}
func lost(t time.Time) domain.Event {
	return ev(&domain.DocumentLostData{Cause: "not found at intake", LastSeen: hKIntake}, t)
}
func cancelled(t time.Time) domain.Event {
	return ev(&domain.ApplicationCancelledData{ActNumber: "ACT-1"}, t)
}
func duplicateRequested(t time.Time) domain.Event {
	return ev(&domain.DuplicateRequestedData{DuplicateDocumentID: uuid.New()}, t)
}
func delayed(t, newDate time.Time) domain.Event {
	return ev(&domain.DeliveryDelayedData{NewDate: newDate}, t)
}
func duplicateIssued(t time.Time) domain.Event {
	return ev(&domain.DuplicateIssuedData{DuplicateDocumentID: uuid.New()}, t)
}

// only returns the clocks of one rule.
func only(clocks []Clock, id RuleID) []Clock {
	var out []Clock
	for _, c := range clocks {
		if c.Rule == id {
			out = append(out, c)
		}
	}
	return out
}

// one returns the single clock of a rule, failing the test otherwise.
func one(t *testing.T, clocks []Clock, id RuleID) Clock {
	t.Helper()
	cs := only(clocks, id)
	require.Len(t, cs, 1, "clocks of %s", id)
	require.NoError(t, cs[0].Err)
	return cs[0]
}

func sameTime(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	assert.Truef(t, want.Equal(got), "%s: got %s, want %s", what, got.In(calendar.Almaty).Format(time.RFC3339),
		want.Format(time.RFC3339))
}

// TestRuleDeadlines runs every rule of the table on concrete dates across weekends, public
// holidays and moved days off.
func TestRuleDeadlines(t *testing.T) {
	cases := []struct {
		name     string
		events   []domain.Event
		rule     RuleID
		start    int // index of the starting event
		deadline time.Time
		holder   domain.Holder
		charged  []domain.Org
		breach   bool
	}{
		{name: "P.17 registry handed Friday before Nauryz", rule: IntakeDelivery,
			events:   []domain.Event{handed(at(2026, 3, 20, 16, 0))},
			deadline: at(2026, 3, 26, 12, 0), holder: hGKCourier, charged: []domain.Org{domain.OrgGK}, breach: true},
		{name: "P.17 registry handed Friday before Victory Day moved to Monday", rule: IntakeDelivery,
			events:   []domain.Event{handed(at(2026, 5, 8, 9, 0))},
			deadline: at(2026, 5, 12, 12, 0), holder: hGKCourier, charged: []domain.Org{domain.OrgGK}, breach: true},
		{name: "P.10 order created Thursday before Unity Day", rule: OrderToIntake,
			events:   []domain.Event{orderCreated(at(2026, 4, 30, 16, 0))},
			deadline: at(2026, 5, 4, 13, 0), charged: []domain.Org{domain.OrgGK}, breach: true},
		{name: "P.10 order created Tuesday before Orthodox Christmas", rule: OrderToIntake,
			events:   []domain.Event{orderCreated(at(2026, 1, 6, 23, 30))},
			deadline: at(2026, 1, 8, 13, 0), charged: []domain.Org{domain.OrgGK}, breach: true},
		{name: "P.11 accepted at intake Friday before Victory Day moved", rule: IntakeWait,
			events: []domain.Event{handed(at(2026, 5, 7, 18, 0)), accepted(at(2026, 5, 8, 11, 0))}, start: 1,
			deadline: at(2026, 5, 15, 0, 0), holder: hKIntake, charged: []domain.Org{domain.OrgKaspi}, breach: true},
		{name: "P.11 accepted Friday before Nauryz: 24:00 of the 3rd working day", rule: IntakeWait,
			events: []domain.Event{handed(at(2026, 3, 19, 18, 0)), accepted(at(2026, 3, 20, 11, 0))}, start: 1,
			deadline: at(2026, 3, 31, 0, 0), holder: hKIntake, charged: []domain.Org{domain.OrgKaspi}, breach: true},
		{name: "P.21 P.29 placed in cell: exactly 72 hours, holidays count", rule: CellStorage,
			events:   []domain.Event{placed(at(2026, 3, 20, 15, 47))},
			deadline: at(2026, 3, 23, 15, 47), holder: hPostomat},
		{name: "P.30 storage ends Saturday before Constitution Day moved", rule: CellRemoval,
			events:   []domain.Event{placed(at(2026, 8, 26, 10, 0))},
			deadline: at(2026, 9, 2, 0, 0), holder: hPostomat, charged: []domain.Org{domain.OrgKaspi}, breach: true},
		{name: "P.30 storage ends Friday before Capital Day", rule: CellRemoval,
			events:   []domain.Event{placed(at(2026, 7, 1, 9, 0))},
			deadline: at(2026, 7, 8, 0, 0), holder: hPostomat, charged: []domain.Org{domain.OrgKaspi}, breach: true},
		{name: "P.33 return registry formed Friday before Republic Day moved", rule: ReturnCollection,
			events: []domain.Event{returned(at(2026, 10, 22, 17, 0)), addedToRegistry(domain.RegistryReturnCollection, at(2026, 10, 23, 9, 0))}, start: 1,
			deadline: at(2026, 10, 27, 12, 0), holder: hKIntake, charged: []domain.Org{domain.OrgGK}, breach: true},
		{name: "P.33 return registry formed Tuesday before Independence Day", rule: ReturnCollection,
			events: []domain.Event{returned(at(2026, 12, 14, 17, 0)), addedToRegistry(domain.RegistryReturnCollection, at(2026, 12, 15, 9, 0))}, start: 1,
			deadline: at(2026, 12, 17, 12, 0), holder: hKIntake, charged: []domain.Org{domain.OrgGK}, breach: true},
		{name: "P.35 received after return Jan 31: 24:00 Feb 28", rule: CONStorage,
			events: []domain.Event{returned(at(2026, 1, 29, 17, 0)), receivedAtIssuance(hGKCourier, at(2026, 1, 31, 10, 0))}, start: 1,
			deadline: at(2026, 3, 1, 0, 0), holder: hGKIssuance},
		{name: "P.35 received after return Mar 31: 24:00 Apr 30", rule: CONStorage,
			events: []domain.Event{returned(at(2026, 3, 27, 17, 0)), receivedAtIssuance(hGKCourier, at(2026, 3, 31, 10, 0))}, start: 1,
			deadline: at(2026, 5, 1, 0, 0), holder: hGKIssuance},
		{name: "P.26 duplicate requested Tuesday before Kurban Ait", rule: DuplicateIssue,
			events: []domain.Event{accepted(at(2026, 5, 20, 10, 0)), lost(at(2026, 5, 22, 10, 0)), cancelled(at(2026, 5, 25, 10, 0)),
				duplicateRequested(at(2026, 5, 26, 10, 0))}, start: 3,
			deadline: at(2026, 6, 2, 0, 0), holder: hKIntake, charged: []domain.Org{domain.OrgGK, domain.OrgRAGS}, breach: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := one(t, Clocks(tc.events, cal, nil, ""), tc.rule)
			sameTime(t, tc.deadline, c.Deadline, "deadline")
			sameTime(t, tc.deadline, c.Adjusted, "adjusted (no force majeure)")
			assert.Equal(t, tc.holder, c.Holder)
			assert.Equal(t, tc.charged, c.Charged)
			assert.Equal(t, tc.breach, c.Breach)
			r, ok := RuleByID(tc.rule)
			require.True(t, ok)
			assert.Equal(t, r.Source, c.Source)
			if tc.rule != CellRemoval {
				assert.Equal(t, tc.events[tc.start].ID, c.StartEvent)
				sameTime(t, tc.events[tc.start].OccurredAt, c.Start, "start")
			}
			assert.False(t, c.Stopped)
			assert.Empty(t, c.ForceMajeure)
		})
	}
}

func TestStops(t *testing.T) {
	t0 := at(2026, 3, 20, 16, 0)
	h, a := handed(t0), accepted(at(2026, 3, 26, 11, 59))
	c := one(t, Clocks([]domain.Event{h, a}, cal, nil, ""), IntakeDelivery)
	assert.True(t, c.Stopped, "P.17 accepted before noon")
	assert.Equal(t, a.ID, c.StopEvent)
	assert.Equal(t, domain.AcceptedAtKaspiIntake, c.StopType)
	assert.False(t, c.Late())
	assert.Empty(t, c.Breached(at(2026, 4, 1, 0, 0)))

	late := accepted(at(2026, 3, 26, 12, 1))
	c = one(t, Clocks([]domain.Event{h, late}, cal, nil, ""), IntakeDelivery)
	assert.True(t, c.Late(), "P.17 accepted a minute after noon")
	assert.Equal(t, []domain.Org{domain.OrgGK}, c.Breached(at(2026, 4, 1, 0, 0)))
	assert.Empty(t, c.Breached(at(2026, 3, 26, 12, 0)), "P.17 not yet breached at noon itself")

	onTime := accepted(at(2026, 3, 26, 12, 0))
	c = one(t, Clocks([]domain.Event{h, onTime}, cal, nil, ""), IntakeDelivery)
	assert.False(t, c.Late(), "P.17 at 12:00 exactly is on time")
}

func TestEveryClockButDuplicateStopsAtLoss(t *testing.T) {
	// P.22–P.24: after a loss no journey clock can be kept; the duplicate's clock (P.26) runs.
	evs := []domain.Event{
		orderCreated(at(2026, 2, 9, 9, 0)),
		handed(at(2026, 2, 9, 17, 0)),
		accepted(at(2026, 2, 10, 10, 0)),
		lost(at(2026, 2, 11, 10, 0)),
		cancelled(at(2026, 2, 12, 10, 0)),
		duplicateRequested(at(2026, 2, 12, 11, 0)),
	}
	clocks := Clocks(evs, cal, nil, "")
	require.Len(t, clocks, 4)
	for _, c := range clocks[:3] {
		assert.True(t, c.Stopped, c.Rule)
	}
	c := one(t, clocks, IntakeWait)
	assert.Equal(t, domain.DocumentLost, c.StopType, "P.11 clock ends at the loss")
	assert.Equal(t, evs[3].ID, c.StopEvent)
	d := one(t, clocks, DuplicateIssue)
	assert.False(t, d.Stopped, "P.26 runs after the loss")
	assert.Equal(t, hKIntake, d.Holder, "P.26 holder: last known holder")
	assert.Len(t, Running(clocks), 1)

	// The duplicate's clock ignores a terminal-looking event other than DuplicateIssued.
	r, _ := RuleByID(DuplicateIssue)
	assert.False(t, r.Stops(domain.DocumentLost))
	issued := duplicateIssued(at(2026, 2, 17, 18, 0))
	d = one(t, Clocks(append(evs, issued), cal, nil, ""), DuplicateIssue)
	assert.True(t, d.Stopped)
	assert.Equal(t, issued.ID, d.StopEvent)
	assert.False(t, d.Late(), "P.26 issued on the 3rd working day")
}

func TestTerminalEventsStopClocks(t *testing.T) {
	// P.35: a document issued at the CON ends the one-month storage clock.
	evs := []domain.Event{returned(at(2026, 1, 29, 17, 0)), receivedAtIssuance(hGKCourier, at(2026, 1, 31, 10, 0)),
		issuedToRecipient(at(2026, 2, 3, 10, 0))}
	c := one(t, Clocks(evs, cal, nil, ""), CONStorage)
	assert.Equal(t, domain.IssuedToRecipient, c.StopType)

	evs[2] = transferredForStorage(at(2026, 3, 2, 10, 0))
	c = one(t, Clocks(evs, cal, nil, ""), CONStorage)
	assert.Equal(t, domain.TransferredForStorage, c.StopType)
	assert.True(t, c.Late(), "P.35 transferred after the month (not a breach, but late)")
	assert.False(t, c.Breach)
	assert.Empty(t, c.Breached(at(2026, 4, 1, 0, 0)), "P.35 no one is charged")
}

func TestStartConditions(t *testing.T) {
	t0 := at(2026, 2, 10, 10, 0)
	// P.13: a dispatch registry does not start the return_collection clock (P.33).
	clocks := Clocks([]domain.Event{addedToRegistry(domain.RegistryDispatch, t0)}, cal, nil, "")
	assert.Empty(t, only(clocks, ReturnCollection))
	// P.14: received at issuance on the CON route, without a return, starts no storage clock.
	clocks = Clocks([]domain.Event{receivedAtIssuance(hGKAcc, t0)}, cal, nil, "")
	assert.Empty(t, only(clocks, CONStorage))
	// A payload of another type on an AddedToRegistry event does not match either.
	odd := domain.Event{ID: uuid.New(), Type: domain.AddedToRegistry, OccurredAt: t0, Payload: &domain.PackedData{}}
	assert.Empty(t, Clocks([]domain.Event{odd}, cal, nil, ""))
}

func TestCellStorageAndRemoval(t *testing.T) {
	p := placed(at(2026, 8, 26, 10, 0)) // storage ends Saturday 2026-08-29 10:00

	t.Run("P.29 collected within 72h: no removal clock", func(t *testing.T) {
		clocks := Clocks([]domain.Event{p, collected(at(2026, 8, 29, 9, 59))}, cal, nil, "")
		s := one(t, clocks, CellStorage)
		assert.Equal(t, domain.CollectedByRecipient, s.StopType)
		assert.False(t, s.Late())
		assert.Empty(t, only(clocks, CellRemoval))
	})
	t.Run("P.30 removed after storage and returned in time", func(t *testing.T) {
		rm, ret := removed(at(2026, 9, 1, 9, 0)), returned(at(2026, 9, 1, 18, 0))
		clocks := Clocks([]domain.Event{p, rm, ret}, cal, nil, "")
		s := one(t, clocks, CellStorage)
		assert.Equal(t, rm.ID, s.StopEvent)
		assert.True(t, s.Late(), "removed after the 72h: storage ran out")
		r := one(t, clocks, CellRemoval)
		sameTime(t, at(2026, 8, 29, 10, 0), r.Start, "removal clock starts when storage ends")
		assert.Equal(t, p.ID, r.StartEvent)
		assert.Equal(t, hPostomat, r.Holder)
		assert.Equal(t, ret.ID, r.StopEvent)
		assert.False(t, r.Late())
	})
	t.Run("P.30 still in the cell on Wednesday: Kaspi missed", func(t *testing.T) {
		clocks := Clocks([]domain.Event{p}, cal, nil, "")
		now := at(2026, 9, 2, 0, 1)
		missed := Missed(clocks, now)
		require.Len(t, missed, 2)
		assert.Equal(t, CellStorage, missed[0].Rule)
		assert.False(t, missed[0].Breach, "P.29 unclaimed is no one's breach")
		assert.Equal(t, CellRemoval, missed[1].Rule)
		assert.Equal(t, []domain.Org{domain.OrgKaspi}, missed[1].Breached(now))
		assert.Len(t, Missed(clocks, at(2026, 9, 1, 23, 59)), 1, "P.30 the working day is not over")
	})
	t.Run("P.29 collected late, before the courier came", func(t *testing.T) {
		c := collected(at(2026, 8, 30, 12, 0))
		r := one(t, Clocks([]domain.Event{p, c}, cal, nil, ""), CellRemoval)
		assert.Equal(t, c.ID, r.StopEvent)
		assert.False(t, r.Late())
	})
	t.Run("P.30 removed early: the return clock starts at the removal", func(t *testing.T) {
		rm := removed(at(2026, 8, 27, 10, 0))
		r := one(t, Clocks([]domain.Event{p, rm}, cal, nil, ""), CellRemoval)
		assert.Equal(t, rm.ID, r.StartEvent)
		sameTime(t, rm.OccurredAt, r.Start, "start")
		sameTime(t, at(2026, 8, 29, 0, 0), r.Deadline, "24:00 of Friday")
		assert.Equal(t, hKCourier, r.Holder)
	})
}

func TestHappyJourneyAllOnTime(t *testing.T) {
	// P.10, P.17, P.11, P.21, P.29: the postomat journey without a hitch.
	evs := []domain.Event{
		orderCreated(at(2026, 2, 9, 11, 0)),
		handed(at(2026, 2, 9, 17, 0)),
		accepted(at(2026, 2, 10, 10, 0)),
		outForDelivery(at(2026, 2, 11, 9, 0)),
		placed(at(2026, 2, 11, 12, 0)),
		collected(at(2026, 2, 12, 19, 0)),
	}
	clocks := Clocks(evs, cal, nil, "")
	require.Len(t, clocks, 4)
	for _, c := range clocks {
		assert.True(t, c.Stopped, c.Rule)
		assert.False(t, c.Late(), c.Rule)
	}
	assert.Empty(t, Running(clocks))
	assert.Empty(t, Missed(clocks, at(2026, 12, 1, 0, 0)))
}

func fmPeriod(from, to time.Time, notifier domain.Org, notified time.Time, orgs ...domain.Org) ForceMajeure {
	return ForceMajeure{ID: uuid.New(), From: from, To: to, Orgs: orgs, NotifyingOrg: notifier, NotifiedAt: notified}
}

func TestForceMajeure(t *testing.T) {
	// P.11: accepted Monday 2026-02-09 10:00, deadline 24:00 Thursday 2026-02-12.
	acc := accepted(at(2026, 2, 9, 10, 0))
	base := at(2026, 2, 13, 0, 0)
	notice := at(2026, 2, 12, 13, 0)
	cases := []struct {
		name   string
		fm     []ForceMajeure
		region string
		want   time.Time
		counts int // periods that moved it
	}{
		{name: "P.37 period partly past the deadline: moves by all of it as the deadline moves",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 12, 12, 0), at(2026, 2, 14, 12, 0), domain.OrgKaspi, notice, domain.OrgKaspi)},
			want: base.Add(48 * time.Hour), counts: 1},
		{name: "P.37 period begun before the clock: only the part after the start counts",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 8, 10, 0), at(2026, 2, 10, 10, 0), domain.OrgKaspi, at(2026, 2, 9, 9, 0), domain.OrgKaspi)},
			want: base.Add(24 * time.Hour), counts: 1},
		{name: "P.37 period after the deadline: no move",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 13, 0, 0), at(2026, 2, 14, 0, 0), domain.OrgKaspi, notice, domain.OrgKaspi)},
			want: base},
		{name: "P.37 overlapping periods merged: nothing counts twice",
			fm: []ForceMajeure{
				fmPeriod(at(2026, 2, 10, 12, 0), at(2026, 2, 11, 12, 0), domain.OrgKaspi, notice, domain.OrgKaspi),
				fmPeriod(at(2026, 2, 11, 0, 0), at(2026, 2, 12, 0, 0), domain.OrgKaspi, notice),
				fmPeriod(at(2026, 2, 11, 1, 0), at(2026, 2, 11, 2, 0), domain.OrgKaspi, notice),
			},
			want: base.Add(36 * time.Hour), counts: 3},
		{name: "P.37 a second period reached only because the first moved the deadline",
			fm: []ForceMajeure{
				fmPeriod(at(2026, 2, 12, 0, 0), at(2026, 2, 13, 0, 0), domain.OrgKaspi, notice),
				fmPeriod(at(2026, 2, 13, 12, 0), at(2026, 2, 13, 18, 0), domain.OrgKaspi, notice),
			},
			want: base.Add(30 * time.Hour), counts: 2},
		{name: "P.37 period for GK only does not move a Kaspi clock",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 10, 0, 0), at(2026, 2, 11, 0, 0), domain.OrgGK, notice, domain.OrgGK)},
			want: base},
		{name: "P.37 period in another region does not move it",
			fm:     []ForceMajeure{{ID: uuid.New(), From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 11, 0, 0), Region: "Atyrau", NotifyingOrg: domain.OrgKaspi, NotifiedAt: notice}},
			region: "Almaty", want: base},
		{name: "P.37 period in the document's region moves it",
			fm:     []ForceMajeure{{ID: uuid.New(), From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 11, 0, 0), Region: "Almaty", NotifyingOrg: domain.OrgKaspi, NotifiedAt: notice}},
			region: "Almaty", want: base.Add(24 * time.Hour), counts: 1},
		{name: "P.39 notified on the 4th working day: the late party cannot rely on it",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 9, 12, 0), at(2026, 2, 10, 12, 0), domain.OrgKaspi, at(2026, 2, 13, 0, 1), domain.OrgKaspi)},
			want: base},
		{name: "P.39 never notified: the notifying party cannot rely on it",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 9, 12, 0), at(2026, 2, 10, 12, 0), domain.OrgKaspi, time.Time{}, domain.OrgKaspi)},
			want: base},
		{name: "P.39 notified late by GK: still counts for Kaspi, which it covers",
			fm:   []ForceMajeure{fmPeriod(at(2026, 2, 9, 12, 0), at(2026, 2, 10, 12, 0), domain.OrgGK, at(2026, 2, 20, 0, 0))},
			want: base.Add(24 * time.Hour), counts: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := one(t, Clocks([]domain.Event{acc}, cal, tc.fm, tc.region), IntakeWait)
			sameTime(t, base, c.Deadline, "base deadline")
			sameTime(t, tc.want, c.Adjusted, "adjusted")
			sameTime(t, tc.want, c.AdjustedFor[domain.OrgKaspi], "adjusted for Kaspi")
			assert.Len(t, c.ForceMajeure, tc.counts)
			// The adjusted deadline is a fixed point: base plus the suspended time in [start, adjusted].
			var periods []ForceMajeure
			for _, f := range tc.fm {
				if overlaps(f, c.Start, c.Adjusted) && slicesContains(c.ForceMajeure, f.ID) {
					periods = append(periods, f)
				}
			}
			sameTime(t, c.Adjusted, base.Add(suspended(c.Start, c.Adjusted, periods)), "fixed point")
		})
	}
}

func slicesContains(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// suspended measures the union of periods within [start, end) minute by minute: slow and
// obviously right, to check extend against.
func suspended(start, end time.Time, periods []ForceMajeure) time.Duration {
	var d time.Duration
	for m := start; m.Before(end); m = m.Add(time.Minute) {
		for _, p := range periods {
			if !m.Before(p.From) && m.Before(p.To) {
				d += time.Minute
				break
			}
		}
	}
	return d
}

func TestForceMajeureLateNoticeSharedClock(t *testing.T) {
	// P.26 charges GK and RAGS; P.39: RAGS notified late, so the period moves GK's deadline only.
	evs := []domain.Event{lost(at(2026, 2, 2, 10, 0)), cancelled(at(2026, 2, 9, 9, 0)), duplicateRequested(at(2026, 2, 9, 10, 0))}
	f := fmPeriod(at(2026, 2, 10, 0, 0), at(2026, 2, 11, 0, 0), domain.OrgRAGS, at(2026, 2, 16, 9, 0))
	c := one(t, Clocks(evs, cal, []ForceMajeure{f}, ""), DuplicateIssue)
	base := at(2026, 2, 13, 0, 0)
	sameTime(t, base, c.Deadline, "P.26 base")
	sameTime(t, base, c.AdjustedFor[domain.OrgRAGS], "P.39 RAGS cannot rely on it")
	sameTime(t, base.Add(24*time.Hour), c.AdjustedFor[domain.OrgGK], "P.37 GK can")
	sameTime(t, base, c.Adjusted, "earliest")
	assert.Equal(t, []domain.Org{domain.OrgRAGS}, c.Breached(at(2026, 2, 13, 12, 0)))
	assert.Equal(t, []domain.Org{domain.OrgGK, domain.OrgRAGS}, c.Breached(at(2026, 2, 14, 0, 1)))
	assert.Len(t, Missed([]Clock{c}, at(2026, 2, 13, 0, 1)), 1)
}

func TestForceMajeureMovesStorageThenRemoval(t *testing.T) {
	// P.37 for everyone (no orgs): the recipient's 72h (P.29) and so the removal (P.30) move.
	p := placed(at(2026, 2, 9, 10, 0))
	f := ForceMajeure{ID: uuid.New(), From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 11, 0, 0), NotifyingOrg: domain.OrgKaspi,
		NotifiedAt: at(2026, 2, 10, 9, 0)}
	clocks := Clocks([]domain.Event{p}, cal, []ForceMajeure{f}, "")
	s := one(t, clocks, CellStorage)
	sameTime(t, at(2026, 2, 13, 10, 0), s.Adjusted, "P.29 storage + 24h")
	assert.Nil(t, s.AdjustedFor)
	r := one(t, clocks, CellRemoval)
	sameTime(t, at(2026, 2, 13, 10, 0), r.Start, "P.30 starts at the moved end of storage")
	sameTime(t, at(2026, 2, 17, 0, 0), r.Deadline, "P.30 Monday")

	// A period for Kaspi only does not extend the recipient's storage, which charges no one.
	f.Orgs = []domain.Org{domain.OrgKaspi}
	s = one(t, Clocks([]domain.Event{p}, cal, []ForceMajeure{f}, ""), CellStorage)
	sameTime(t, s.Deadline, s.Adjusted, "storage")
}

func TestNoticeTimely(t *testing.T) {
	onset := at(2026, 3, 20, 8, 0) // Friday before Nauryz: Mar 26, 27, 30 are the 3 working days
	cases := []struct {
		name     string
		notified time.Time
		want     bool
	}{
		{"P.38 notified the same day", at(2026, 3, 20, 9, 0), true},
		{"P.38 notified 23:59 on the 3rd working day", at(2026, 3, 30, 23, 59), true},
		{"P.38 notified at 24:00 of the 3rd working day", at(2026, 3, 31, 0, 0), true},
		{"P.39 notified on the 4th working day", at(2026, 3, 31, 0, 1), false},
		{"P.39 never notified", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := NoticeTimely(cal, onset, tc.notified)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ok)
		})
	}
	d, err := NoticeDeadline(cal, onset)
	require.NoError(t, err)
	sameTime(t, at(2026, 3, 31, 0, 0), d, "P.38 notice deadline")
	_, err = NoticeTimely(cal, at(2028, 1, 3, 0, 0), at(2028, 1, 3, 1, 0))
	assert.ErrorIs(t, err, calendar.ErrUnknownYear)
}

func TestUndeterminedClocks(t *testing.T) {
	// A date past the calendar's data: the deadline is unknowable, not guessed.
	evs := []domain.Event{handed(at(2027, 12, 31, 10, 0)), placed(at(2028, 1, 5, 10, 0))}
	clocks := Clocks(evs, cal, nil, "")
	c := only(clocks, IntakeDelivery)[0]
	assert.ErrorIs(t, c.Err, calendar.ErrUnknownYear)
	assert.True(t, c.Deadline.IsZero())
	assert.Len(t, Undetermined(clocks), 2, "intake_delivery and cell_removal after 2027")
	assert.NoError(t, one(t, clocks, CellStorage).Err, "72h needs no calendar")
	missed := Missed(clocks, at(2028, 6, 1, 0, 0))
	require.Len(t, missed, 1, "only the storage clock can be judged")
	assert.Equal(t, CellStorage, missed[0].Rule)
	assert.False(t, c.Late())
	assert.Nil(t, c.Breached(at(2028, 6, 1, 0, 0)))

	// An invalid force-majeure period makes every deadline unknowable.
	bad := []ForceMajeure{{ID: uuid.New(), From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 9, 0, 0)}}
	clocks = Clocks([]domain.Event{placed(at(2026, 2, 9, 10, 0))}, cal, bad, "")
	require.Len(t, clocks, 2)
	for _, c := range clocks {
		assert.ErrorContains(t, c.Err, "to must lie after from", c.Rule)
	}
	// A period whose notice cannot be judged (onset past the calendar) likewise.
	odd := []ForceMajeure{{ID: uuid.New(), From: at(2028, 2, 10, 0, 0), To: at(2028, 2, 11, 0, 0)}}
	clocks = Clocks([]domain.Event{accepted(at(2026, 2, 9, 10, 0))}, cal, odd, "")
	assert.ErrorIs(t, clocks[0].Err, calendar.ErrUnknownYear)
}

func TestForceMajeureFromEvent(t *testing.T) {
	stream := uuid.New()
	p := &domain.ForceMajeureDeclaredData{From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 11, 0, 0),
		Orgs: []domain.Org{domain.OrgKaspi}, Region: "Almaty", NotifyingOrg: domain.OrgKaspi, Description: "P.37 blizzard"}
	e := domain.Event{ID: uuid.New(), DocumentID: stream, Type: domain.ForceMajeureDeclared, OccurredAt: at(2026, 2, 10, 9, 0), Payload: p}
	f, ok := FromEvent(e)
	require.True(t, ok)
	assert.Equal(t, stream, f.ID)
	assert.Equal(t, []domain.Org{domain.OrgKaspi}, f.Orgs)
	sameTime(t, e.OccurredAt, f.NotifiedAt, "notified when declared (P.38)")
	assert.NoError(t, f.Validate())
	_, ok = FromEvent(placed(at(2026, 2, 10, 0, 0)))
	assert.False(t, ok)
	assert.Error(t, ForceMajeure{}.Validate())
}

func TestRulesTable(t *testing.T) {
	rules := Rules()
	require.Len(t, rules, 9)
	for _, r := range rules {
		assert.NotEmpty(t, r.Source, r.ID)
		assert.NoError(t, r.Term.Validate(), r.ID)
		assert.Equal(t, r.Breach, len(r.Charged) > 0, "%s: a breach charges someone, and only a breach", r.ID)
		if r.ID == ForceMajeureNotice || r.ID == DuplicateIssue {
			continue
		}
		assert.True(t, r.Stops(domain.DocumentLost), "%s stops at a loss", r.ID)
		for _, term := range []domain.EventType{domain.CollectedByRecipient, domain.IssuedToRecipient,
			domain.TransferredForStorage, domain.DuplicateIssued} {
			assert.True(t, r.Stops(term), "%s stops at %s", r.ID, term)
		}
	}
	rules[0].Charged[0] = "mutated"
	r, ok := RuleByID(IntakeDelivery)
	require.True(t, ok)
	assert.Equal(t, domain.OrgGK, r.Charged[0], "the table cannot be changed through Rules()")
	_, ok = RuleByID("nope")
	assert.False(t, ok)
	fm, _ := RuleByID(ForceMajeureNotice)
	assert.Equal(t, NoticeTerm, fm.Term)
}

func TestForceMajeureWithoutID(t *testing.T) {
	// P.37: a period passed without an id (e.g. built by hand) still counts, once.
	acc := accepted(at(2026, 2, 9, 10, 0))
	f := ForceMajeure{From: at(2026, 2, 10, 0, 0), To: at(2026, 2, 11, 0, 0), NotifyingOrg: domain.OrgKaspi,
		NotifiedAt: at(2026, 2, 10, 8, 0)}
	c := one(t, Clocks([]domain.Event{acc}, cal, []ForceMajeure{f, f}, ""), IntakeWait)
	sameTime(t, at(2026, 2, 14, 0, 0), c.Adjusted, "moved by 24h, not 48h")
}
