package services

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/domain/deadline"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Almaty)
	if err != nil {
		panic(err)
	}
	return t
}

func TestOfficeHoursTerms(t *testing.T) {
	short := Hours{Open: "09:00", Close: "13:00"}
	cases := []struct {
		name  string
		hours Hours
		start string
		d     time.Duration
		want  string
	}{
		{"A1 §5.2 1 h resolution asked at 17:30 is due 09:30 the next working day", DefaultHours.Default, "2026-03-02 17:30", time.Hour, "2026-03-03 09:30"},
		{"within the day", DefaultHours.Default, "2026-03-02 10:00", time.Hour, "2026-03-02 11:00"},
		{"before opening counts from 09:00", DefaultHours.Default, "2026-03-02 07:00", 20 * time.Minute, "2026-03-02 09:20"},
		{"A1 §5.1 20 min across Orthodox Christmas (7 Jan, a Wednesday)", DefaultHours.Default, "2026-01-06 17:50", 20 * time.Minute, "2026-01-08 09:10"},
		{"A2 §5.3 3 h from Friday 17:00 across Nauryz (21–25 March)", DefaultHours.Default, "2026-03-20 17:00", 3 * time.Hour, "2026-03-26 11:00"},
		{"a Saturday start waits for Tuesday after the 9 March day off", DefaultHours.Default, "2026-03-07 10:00", 15 * time.Minute, "2026-03-10 09:15"},
		{"a unit's own hours (data): closes at 13:00", short, "2026-03-02 12:30", time.Hour, "2026-03-03 09:30"},
		{"exactly at closing", DefaultHours.Default, "2026-03-02 17:00", time.Hour, "2026-03-02 18:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AddWorkingTime(calendar.Default(), tc.hours, at(tc.start), tc.d)
			require.NoError(t, err)
			assert.Equal(t, at(tc.want), got)
			back, err := WorkingTimeBetween(calendar.Default(), tc.hours, at(tc.start), got)
			require.NoError(t, err)
			assert.Equal(t, tc.d, back, "working time between start and due is the term")
		})
	}
}

func TestParseOfficeHours(t *testing.T) {
	o, err := ParseOfficeHours([]byte(`{"default": {"open": "09:00", "close": "18:00"}, "units": {"RAGS-MEDEU": {"open": "10:00", "close": "17:00"}}}`))
	require.NoError(t, err)
	assert.Equal(t, Hours{Open: "10:00", Close: "17:00"}, o.For("RAGS-MEDEU"))
	assert.Equal(t, DefaultHours.Default, o.For("RAGS-OTHER"))
	for _, bad := range []string{`{"units": {}}`, `{"default": {"open": "18:00", "close": "09:00"}}`,
		`{"default": {"open": "9", "close": "18:00"}}`, `{"default": {"open": "09:00", "close": "18:00"}, "extra": 1}`} {
		_, err := ParseOfficeHours([]byte(bad))
		assert.Error(t, err, bad)
	}
}

var (
	hCON    = domain.Holder{Org: domain.OrgGK, Unit: "CON-ALM-1", EmployeeID: "op-1"}
	hOffice = domain.Holder{Org: domain.OrgRAGS, Unit: "RAGS-MEDEU", EmployeeID: "clerk-1"}
	contact = domain.RecipientContact{IIN: "950107400015", Phone: "+77011234567"}
	recip   = domain.Holder{Org: domain.OrgRecipient}
	idCard  = domain.IdentityCheck{Method: domain.IdentityInPerson, DocumentType: "id_card", DocumentNumber: "041234567"}
)

// journey builds an application's events at the given moments, checking each with
// DecideApplication against the real catalogue.
type journey struct {
	t      *testing.T
	id     uuid.UUID
	cat    *catalogue.Catalogue
	app    domain.Application
	events []domain.Event
}

func newJourney(t *testing.T, cat *catalogue.Catalogue) *journey {
	if cat == nil {
		cat = catalogue.Default()
	}
	return &journey{t: t, id: uuid.New(), cat: cat, app: domain.Application{Status: domain.AppNew}}
}

func (j *journey) add(when string, role domain.Role, unit, employee string, p domain.Payload) *journey {
	j.t.Helper()
	a := domain.Actor{Role: role, Org: domain.OrgOf(role), Unit: unit, EmployeeID: employee}
	e := domain.Event{ID: uuid.New(), DocumentID: j.id, Type: p.EventType(), OccurredAt: at(when), Actor: a, Payload: p}
	require.NoError(j.t, domain.DecideApplication(j.app, a, e, e.OccurredAt, j.cat.ApplicationLookup()), "%s", e.Type)
	j.app = domain.EvolveApplication(j.app, e)
	j.events = append(j.events, e)
	return j
}

func (j *journey) gk(when string, p domain.Payload) *journey {
	return j.add(when, domain.RoleGKIssuance, hCON.Unit, "op-1", p)
}
func (j *journey) office(when string, p domain.Payload) *journey {
	return j.add(when, domain.RoleRAGSOffice, hOffice.Unit, "clerk-1", p)
}
func (j *journey) head(when string, p domain.Payload) *journey {
	return j.add(when, domain.RoleRAGSHead, hOffice.Unit, "head-1", p)
}
func (j *journey) executor(when string, p domain.Payload) *journey {
	return j.add(when, domain.RoleRAGSExecutor, hOffice.Unit, "exec-7", p)
}

func (j *journey) clocks(fm ...deadline.ForceMajeure) map[deadline.RuleID]Clock {
	out := map[deadline.RuleID]Clock{}
	for _, c := range Clocks(j.events, Env{Catalogue: j.cat, ForceMajeure: fm}) {
		if c.Rule == ExtensionNotice {
			if _, dup := out[c.Rule]; dup {
				continue
			}
		}
		out[c.Rule] = c
	}
	return out
}

// a1ViaGK runs A1 through a ЦОН up to the resolution: accepted Monday 2 March 10:00.
func a1ViaGK(t *testing.T) *journey {
	sub := at("2026-03-02 09:50")
	return newJourney(t, nil).
		gk("2026-03-02 10:00", &domain.ApplicationAcceptedData{Transfer: domain.Transfer{To: hCON}, ReceiptNo: "R-1",
			ServiceCode: "A1", Applicant: contact, SubmittedAt: &sub}).
		gk("2026-03-03 11:00", &domain.ApplicationForwardedData{Transfer: domain.Transfer{From: hCON, To: hOffice}}).
		office("2026-03-03 11:15", &domain.ApplicationRegisteredData{RegistrationNo: "REG-1"}).
		head("2026-03-03 17:30", &domain.ResolutionImposedData{Executor: "exec-7", Due: at("2026-03-12 18:00")})
}

func TestJourneyA1ViaGK(t *testing.T) {
	j := a1ViaGK(t).
		executor("2026-03-11 16:00", &domain.ReviewCompletedData{Decision: domain.DecisionApprove}).
		executor("2026-03-11 17:00", &domain.RecordFormedData{RecordNo: "AZ-1"}).
		head("2026-03-12 09:30", &domain.ResultSignedData{Result: domain.Result{Kind: domain.ResultCertificate, Number: "1234567"}}).
		office("2026-03-12 09:45", &domain.ResultDispatchedData{Transfer: domain.Transfer{From: hOffice, To: hCON}, Destination: domain.ToGK}).
		gk("2026-03-13 10:00", &domain.ResultReceivedAtGKData{Transfer: domain.Transfer{From: hCON, To: hCON}}).
		gk("2026-03-13 10:20", &domain.ResultIssuedData{Transfer: domain.Transfer{From: hCON, To: recip}, ReceiptNo: "R-1", Identity: idCard})
	c := j.clocks()
	want := []struct {
		rule     deadline.RuleID
		deadline string
		late     bool
		charged  domain.Org
	}{
		{GKReceipt, "2026-03-02 10:05", false, domain.OrgGK},        // §9: 15 min from 09:50
		{GKForward, "2026-03-04 00:00", false, domain.OrgGK},        // §9: 1 working day, acceptance day excluded
		{"registration", "2026-03-03 11:20", false, domain.OrgRAGS}, // §5.1: 20 min from forwarding at 11:00
		{"resolution", "2026-03-03 12:15", true, domain.OrgRAGS},    // §5.2: 1 h from 11:15; imposed at 17:30
		{"review", "2026-03-14 00:00", false, domain.OrgRAGS},       // §5.3: 7 working days after 3 March (9 March off)
		{"record", "2026-03-12 10:00", false, domain.OrgRAGS},       // §5.4: 3 h from 16:00: 2 h that day, 1 h from 09:00
		{"signing", "2026-03-11 18:00", true, domain.OrgRAGS},       // §5.5: 1 h from 17:00; signed 09:30 next day
		{"dispatch", "2026-03-12 09:50", false, domain.OrgRAGS},     // §5.6: 20 min
		{GKIssue, "2026-03-13 10:15", true, domain.OrgGK},           // §9: 15 min; issued at 10:20
		{ServiceTerm, "2026-03-13 00:00", false, domain.OrgRAGS},    // §5: 7 working days after 2 March: 3–6, 10–12
		{ProviderTerm, "2026-03-14 00:00", false, domain.OrgRAGS},   // §9: 7 working days after 3 March: 4–6, 10–13
	}
	require.Len(t, c, len(want))
	for _, w := range want {
		t.Run(string(w.rule), func(t *testing.T) {
			got, ok := c[w.rule]
			require.True(t, ok)
			require.NoError(t, got.Err)
			assert.True(t, got.Stopped)
			assert.Equal(t, at(w.deadline), got.Adjusted.In(calendar.Almaty))
			assert.Equal(t, w.late, got.Late())
			assert.Equal(t, []domain.Org{w.charged}, got.Charged)
		})
	}
	assert.Equal(t, "exec-7", c["review"].Holder.EmployeeID, "the review's breach is the executor's")
	assert.Equal(t, hOffice.Unit, c["review"].Holder.Unit)
}

func TestJourneyA2DeathAtOffice(t *testing.T) {
	// A2 §5.3: a death registration is reviewed in 3 hours of working time; it has no day term.
	sub := at("2026-03-02 16:50")
	c, _ := catalogue.Default().Lookup("A2.death")
	j := newJourney(t, nil).
		office("2026-03-02 17:00", &domain.ApplicationRegisteredData{RegistrationNo: "REG-2", ServiceCode: c.Code,
			Channel: domain.ChannelOffice, Applicant: &contact, To: &hOffice, SubmittedAt: &sub}).
		head("2026-03-02 17:20", &domain.ResolutionImposedData{Executor: "exec-7", Due: at("2026-03-03 18:00")})
	clocks := j.clocks()
	assert.Equal(t, at("2026-03-02 17:10"), clocks["registration"].Adjusted.In(calendar.Almaty), "§5.1 20 min from submission")
	assert.False(t, clocks["registration"].Late(), "registered at 17:00")
	review := clocks["review"]
	assert.False(t, review.Stopped)
	assert.Equal(t, at("2026-03-03 11:20"), review.Adjusted.In(calendar.Almaty), "40 min today, 2 h 20 min tomorrow")
	assert.NotContains(t, clocks, ServiceTerm, "A2 death registration has no day term of its own")
	assert.NotContains(t, clocks, "record", "the record's clock starts when the review ends")
	assert.Len(t, deadline.Missed(clockList(clocks), at("2026-03-03 11:21")), 1)
}

func clockList(m map[deadline.RuleID]Clock) []deadline.Clock {
	var out []deadline.Clock
	for _, c := range m {
		out = append(out, c.Clock)
	}
	return out
}

func TestExtensionLimitAndNotice(t *testing.T) {
	// A1 §5: the head extends by 10 calendar days; the office must tell the applicant within
	// 3 calendar days, and the review and the service term move by the 10 days.
	j := a1ViaGK(t).head("2026-03-05 10:00", &domain.ReviewExtendedData{Days: 10, Reason: "archive request"})
	c := j.clocks()
	n := c[ExtensionNotice]
	assert.False(t, n.Stopped)
	assert.Equal(t, at("2026-03-08 10:00"), n.Adjusted.In(calendar.Almaty))
	assert.Equal(t, []deadline.RuleID{ExtensionNotice}, rules(deadline.Missed(clockList(c), at("2026-03-08 10:01"))),
		"not told in 3 calendar days: overdue")
	assert.Equal(t, at("2026-03-24 00:00"), c["review"].Adjusted.In(calendar.Almaty), "14 March + 10 days")
	assert.Equal(t, at("2026-03-23 00:00"), c[ServiceTerm].Adjusted.In(calendar.Almaty))

	j.office("2026-03-06 12:00", &domain.ExtensionNotifiedData{})
	n = j.clocks()[ExtensionNotice]
	assert.True(t, n.Stopped)
	assert.False(t, n.Late())
}

func rules(cs []deadline.Clock) []deadline.RuleID {
	var out []deadline.RuleID
	for _, c := range cs {
		out = append(out, c.Rule)
	}
	return out
}

func TestForceMajeureMovesApplicationClocks(t *testing.T) {
	// P.37 applies to application clocks as to the pilot's: a period covering RAGS moves the
	// review by its overlap.
	j := a1ViaGK(t)
	fm := deadline.ForceMajeure{ID: uuid.New(), From: at("2026-03-10 00:00"), To: at("2026-03-12 00:00"),
		Orgs: []domain.Org{domain.OrgRAGS}, NotifyingOrg: domain.OrgRAGS, NotifiedAt: at("2026-03-10 09:00")}
	plain, moved := j.clocks()["review"], j.clocks(fm)["review"]
	assert.Equal(t, plain.Adjusted.Add(48*time.Hour), moved.Adjusted)
	assert.Equal(t, []uuid.UUID{fm.ID}, moved.ForceMajeure)
	assert.Equal(t, j.clocks()[GKForward].Adjusted, j.clocks(fm)[GKForward].Adjusted, "GK's clock is not covered")
}

func TestRefusedAtIntakeHasOnlyTheReceipt(t *testing.T) {
	sub := at("2026-03-02 09:30")
	j := newJourney(t, nil).gk("2026-03-02 10:00", &domain.ApplicationRefusedAtIntakeData{ReceiptNo: "RR-1", ServiceCode: "A3",
		Missing: []string{"court decision"}, Applicant: contact, SubmittedAt: &sub})
	c := j.clocks()
	require.Len(t, c, 1)
	assert.True(t, c[GKReceipt].Late(), "§9: the refusal receipt took 30 minutes, 15 allowed")
}

const extraService = `{"services": [{
  "code": "marriage_copy", "aliases": ["X1"], "name": "Repeated marriage certificate", "name_ru": "Повторное свидетельство о браке",
  "provider": "rags", "act": "an operator's test act", "source": "X1",
  "steps": [
    {"n": 1, "event": "ApplicationRegistered", "actor": "provider_office", "what": "register", "term": {"n": 10, "unit": "minutes", "source": "X1 §5.1"}},
    {"n": 2, "event": "ResolutionImposed", "actor": "provider_head", "what": "resolve", "term": {"n": 2, "unit": "hours", "source": "X1 §5.2"}},
    {"n": 3, "event": "ReviewCompleted", "actor": "executor", "what": "review", "term": {"n": 1, "unit": "working_days", "source": "X1 §5.3"}},
    {"n": 4, "event": "ResultSigned", "actor": "provider_head", "what": "sign", "term": {"n": 30, "unit": "minutes", "source": "X1 §5.4"}},
    {"n": 5, "event": "ResultDispatched", "actor": "provider_office", "what": "issue", "term": {"n": 10, "unit": "minutes", "source": "X1 §5.5"}}
  ],
  "term": {"n": 2, "unit": "working_days", "source": "X1 §5"},
  "extension": {"max": {"n": 10, "unit": "calendar_days", "source": "X1 §5"}, "notice": {"n": 1, "unit": "calendar_days", "source": "X1 §5"}, "when": "checks"}
}]}`

func TestExtraServiceFromFile(t *testing.T) {
	// A new service is a data change: its steps, terms and extension limit come from a file.
	p := filepath.Join(t.TempDir(), "x1.json")
	require.NoError(t, os.WriteFile(p, []byte(extraService), 0o600))
	cat, err := catalogue.Default().LoadFile(p)
	require.NoError(t, err)
	_, known := catalogue.Default().ApplicationLookup()("X1")
	assert.False(t, known, "the default catalogue does not know it")
	j := newJourney(t, cat).
		office("2026-03-02 10:00", &domain.ApplicationRegisteredData{RegistrationNo: "REG-X", ServiceCode: "X1",
			Channel: domain.ChannelPortal, Applicant: &contact, To: &hOffice}).
		head("2026-03-02 10:30", &domain.ResolutionImposedData{Executor: "exec-7", Due: at("2026-03-03 18:00")})
	c := j.clocks()
	assert.Equal(t, at("2026-03-02 12:00"), c["resolution"].Adjusted.In(calendar.Almaty), "X1 §5.2: 2 hours")
	assert.Equal(t, at("2026-03-04 00:00"), c["review"].Adjusted.In(calendar.Almaty), "X1 §5.3: 1 working day")
	assert.Equal(t, at("2026-03-05 00:00"), c[ServiceTerm].Adjusted.In(calendar.Almaty), "X1 §5: 2 working days")
	assert.Equal(t, "X1 §5.2", c["resolution"].Source)

	a := domain.Actor{Role: domain.RoleRAGSHead, Org: domain.OrgRAGS, Unit: hOffice.Unit}
	e := domain.Event{ID: uuid.New(), DocumentID: j.id, Type: domain.ReviewExtended, OccurredAt: at("2026-03-02 11:00"), Actor: a,
		Payload: &domain.ReviewExtendedData{Days: 11, Reason: "checks"}}
	var tr *domain.TransitionError
	assert.ErrorAs(t, domain.DecideApplication(j.app, a, e, e.OccurredAt, cat.ApplicationLookup()), &tr, "X1 allows 10 days")
}
