package services

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/deadline"
)

func TestAddWorkingTimeExceptSpans(t *testing.T) {
	h := DefaultHours.Default
	span := func(from, to string) Span { return Span{From: at(from), To: at(to)} }
	cases := []struct {
		name  string
		start string
		d     time.Duration
		off   []Span
		want  string
	}{
		{"no span: as AddWorkingTime", "2026-03-02 17:30", time.Hour, nil, "2026-03-03 09:30"},
		{"17:30 to 10:00 next working day takes 1 h 30 min of office time", "2026-03-02 17:30", time.Hour,
			[]Span{span("2026-03-02 17:30", "2026-03-03 10:00")}, "2026-03-03 11:00"},
		{"a span outside office hours takes nothing", "2026-03-02 17:30", time.Hour,
			[]Span{span("2026-03-02 19:00", "2026-03-03 08:00")}, "2026-03-03 09:30"},
		{"a span within the day takes its length", "2026-03-02 10:00", time.Hour,
			[]Span{span("2026-03-02 10:15", "2026-03-02 10:45")}, "2026-03-02 11:30"},
		{"overlapping spans in any order count once", "2026-03-02 10:00", time.Hour,
			[]Span{span("2026-03-02 10:30", "2026-03-02 11:00"), span("2026-03-02 10:15", "2026-03-02 10:45")}, "2026-03-02 11:45"},
		{"a span begun before the start", "2026-03-02 10:00", time.Hour,
			[]Span{span("2026-03-01 10:00", "2026-03-02 10:30")}, "2026-03-02 11:30"},
		{"a span ending on Saturday: the clock runs again on Tuesday after the 9 March day off", "2026-03-06 17:00", 2 * time.Hour,
			[]Span{span("2026-03-06 17:30", "2026-03-07 12:00")}, "2026-03-10 10:30"},
		{"a span ending mid-morning days later", "2026-03-02 17:00", time.Hour,
			[]Span{span("2026-03-02 17:30", "2026-03-04 11:00")}, "2026-03-04 11:30"},
		{"a span ending at the deadline's moment", "2026-03-02 17:00", time.Hour,
			[]Span{span("2026-03-02 17:30", "2026-03-02 18:00")}, "2026-03-03 09:30"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AddWorkingTimeExcept(calendar.Default(), h, at(tc.start), tc.d, tc.off)
			require.NoError(t, err)
			assert.Equal(t, at(tc.want), got.In(calendar.Almaty))
		})
	}
}

// ragsFM is a force-majeure period declared by RAGS, notified at notified.
func ragsFM(from, to, notified, region string) deadline.ForceMajeure {
	return deadline.ForceMajeure{ID: uuid.New(), From: at(from), To: at(to), Orgs: []domain.Org{domain.OrgRAGS},
		Region: region, NotifyingOrg: domain.OrgRAGS, NotifiedAt: at(notified)}
}

// An A1 application registered at an Almaty office on Monday 2 March at 17:30: its 1 h
// resolution (§5.2) is due 09:30 on Tuesday.
func a1AtTheOffice(t *testing.T) *journey {
	return newJourney(t, nil).office("2026-03-02 17:30", &domain.ApplicationRegisteredData{RegistrationNo: "REG-9",
		ServiceCode: "A1", Channel: domain.ChannelOffice, Applicant: &contact, To: &hOffice, City: "Almaty"})
}

// Force majeure on the clocks of the RAGS services: a period counts for an application as for
// a document (its organisation, its region, a timely notice) and takes from a minute or hour
// term only the office time it covers (docs/services.md).
func TestP37P39ForceMajeureOnApplicationClocksInOfficeTime(t *testing.T) {
	gkFM := ragsFM("2026-03-02 17:30", "2026-03-03 10:00", "2026-03-02 18:00", "")
	gkFM.Orgs, gkFM.NotifyingOrg = []domain.Org{domain.OrgGK}, domain.OrgGK
	for _, tc := range []struct {
		name string
		fm   deadline.ForceMajeure
		want string
	}{
		{"P.37 1 h resolution at 17:30, force majeure 17:30 to 10:00 next working day: 11:00, not 02:00 the day after (wall time)",
			ragsFM("2026-03-02 17:30", "2026-03-03 10:00", "2026-03-02 18:00", ""), "2026-03-03 11:00"},
		{"P.37 a period while the office is closed moves nothing",
			ragsFM("2026-03-02 19:00", "2026-03-03 08:00", "2026-03-02 19:00", ""), "2026-03-03 09:30"},
		{"P.37 a period of the application's region (its office's city) moves it",
			ragsFM("2026-03-02 17:30", "2026-03-03 10:00", "2026-03-02 18:00", "Almaty"), "2026-03-03 11:00"},
		{"P.37 a period of another region does not",
			ragsFM("2026-03-02 17:30", "2026-03-03 10:00", "2026-03-02 18:00", "Astana"), "2026-03-03 09:30"},
		{"P.37 GK's period does not cover RAGS's clock", gkFM, "2026-03-03 09:30"},
		{"P.39 RAGS notified after 3 working days: its own period does not count for it",
			ragsFM("2026-03-02 17:30", "2026-03-03 10:00", "2026-03-10 12:00", ""), "2026-03-03 09:30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := a1AtTheOffice(t).clocks(tc.fm)["resolution"]
			require.NoError(t, c.Err)
			assert.Equal(t, at("2026-03-03 09:30"), c.Deadline.In(calendar.Almaty), "the term alone")
			assert.Equal(t, at(tc.want), c.Adjusted.In(calendar.Almaty))
			assert.Equal(t, at(tc.want), c.AdjustedFor[domain.OrgRAGS].In(calendar.Almaty))
		})
	}
}

// An hour term moved by an extension (A2 §5.3: a death registration's 3 h review, extended
// by calendar days): the office time first, then the days, which a period moves by the wall
// time it overlaps them.
func TestP37ForceMajeureOnAnExtendedHourTerm(t *testing.T) {
	sub := at("2026-03-02 16:50")
	j := newJourney(t, nil).
		office("2026-03-02 17:00", &domain.ApplicationRegisteredData{RegistrationNo: "REG-2", ServiceCode: "A2.death",
			Channel: domain.ChannelOffice, Applicant: &contact, To: &hOffice, SubmittedAt: &sub, City: "Almaty"}).
		head("2026-03-02 17:20", &domain.ResolutionImposedData{Executor: "exec-7", Due: at("2026-03-03 18:00")}).
		head("2026-03-03 09:30", &domain.ReviewExtendedData{Days: 5, Reason: "a court's records requested"})
	assert.Equal(t, at("2026-03-08 11:20"), j.clocks()["review"].Adjusted.In(calendar.Almaty), "11:20 on 3 March + 5 days")
	morning := ragsFM("2026-03-03 09:00", "2026-03-03 10:00", "2026-03-03 10:00", "")
	assert.Equal(t, at("2026-03-08 12:20"), j.clocks(morning)["review"].Adjusted.In(calendar.Almaty), "an office hour lost")
	inTheDays := ragsFM("2026-03-05 00:00", "2026-03-06 00:00", "2026-03-05 10:00", "")
	assert.Equal(t, at("2026-03-09 11:20"), j.clocks(inTheDays)["review"].Adjusted.In(calendar.Almaty), "a day inside the extension")
}
