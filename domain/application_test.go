package domain

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	hCON      = Holder{Org: OrgGK, Unit: "CON-ALM-1", EmployeeID: "op-1"}
	hOffice   = Holder{Org: OrgRAGS, Unit: "RAGS-MEDEU", EmployeeID: "clerk-1"}
	appStart  = time.Date(2026, 3, 2, 10, 0, 0, 0, Almaty) // a Monday
	applicant = RecipientContact{IIN: "950107400015", Phone: "+77011234567"}
	idCard    = IdentityCheck{Method: IdentityInPerson, DocumentType: "id_card", DocumentNumber: "041234567"}
)

// testServices stands in for the catalogue (domain does not import it): A1 with a record
// step dispatched by the office, A3 without one, dispatched by the executor.
func testServices(code string) (ApplicationService, bool) {
	s, ok := map[string]ApplicationService{
		"restoration": {Code: "restoration", ExtensionMaxDays: 30, ExtensionSource: "A1 §5", DispatchRole: RoleRAGSOffice, RecordStep: true},
		"annulment":   {Code: "annulment", ExtensionMaxDays: 30, ExtensionSource: "A3 §5.3", DispatchRole: RoleRAGSExecutor},
	}[code]
	return s, ok
}

func rags(role Role, employee string) Actor {
	return Actor{Role: role, Org: OrgRAGS, Unit: hOffice.Unit, EmployeeID: employee}
}

var gkActor = Actor{Role: RoleGKIssuance, Org: OrgGK, Unit: hCON.Unit, EmployeeID: "op-1"}

// appStep returns the usual payload and actor for event type t on application a.
func appStep(a Application, t EventType, service string, channel Channel) (Payload, Actor) {
	recipient := Holder{Org: OrgRecipient}
	switch t {
	case ApplicationAccepted:
		return &ApplicationAcceptedData{Transfer: Transfer{To: hCON}, ReceiptNo: "R-0001", ServiceCode: service, Applicant: applicant}, gkActor
	case ApplicationRefusedAtIntake:
		return &ApplicationRefusedAtIntakeData{ReceiptNo: "RR-0001", ServiceCode: service, Missing: []string{"court decision"},
			Applicant: applicant}, gkActor
	case ApplicationForwarded:
		return &ApplicationForwardedData{Transfer{From: hCON, To: hOffice}}, gkActor
	case ApplicationRegistered:
		if a.Status == AppNew {
			to, c := hOffice, applicant
			return &ApplicationRegisteredData{RegistrationNo: "REG-1", ServiceCode: service, Channel: channel, Applicant: &c, To: &to},
				rags(RoleRAGSOffice, "clerk-1")
		}
		return &ApplicationRegisteredData{RegistrationNo: "REG-1"}, rags(RoleRAGSOffice, "clerk-1")
	case ResolutionImposed:
		return &ResolutionImposedData{Executor: "exec-7", Due: appStart.Add(30 * 24 * time.Hour)}, rags(RoleRAGSHead, "head-1")
	case ReviewExtended:
		return &ReviewExtendedData{Days: 10, Reason: "a request to the archive"}, rags(RoleRAGSHead, "head-1")
	case ExtensionNotified:
		return &ExtensionNotifiedData{}, rags(RoleRAGSOffice, "clerk-1")
	case ReviewCompleted:
		return &ReviewCompletedData{Decision: DecisionApprove}, rags(RoleRAGSExecutor, "exec-7")
	case RecordFormed:
		return &RecordFormedData{RecordNo: "AZ-77"}, rags(RoleRAGSExecutor, "exec-7")
	case ResultSigned:
		r := Result{Kind: ResultCertificate, Number: "1234567"}
		if service == "annulment" {
			r = Result{Kind: ResultAnswer, Number: "OUT-15"}
		}
		if a.Decision == DecisionRefuse {
			r = Result{Kind: ResultRefusal, Number: "OUT-16"}
		}
		return &ResultSignedData{Result: r}, rags(RoleRAGSHead, "head-1")
	case ResultDispatched:
		who := rags(RoleRAGSOffice, "clerk-1")
		if service == "annulment" {
			who = rags(RoleRAGSExecutor, "exec-7")
		}
		switch a.Channel {
		case ChannelGK:
			return &ResultDispatchedData{Transfer: Transfer{From: hOffice, To: hCON}, Destination: ToGK}, who
		case ChannelPortal:
			return &ResultDispatchedData{Transfer: Transfer{From: hOffice, To: recipient}, Destination: ToPortal}, who
		}
		id := idCard
		return &ResultDispatchedData{Transfer: Transfer{From: hOffice, To: recipient}, Destination: ToRecipient, Identity: &id}, who
	case ResultReceivedAtGK:
		return &ResultReceivedAtGKData{Transfer{From: hCON, To: hCON}}, gkActor
	case ResultIssued:
		return &ResultIssuedData{Transfer: Transfer{From: hCON, To: recipient}, ReceiptNo: "R-0001", Identity: idCard}, gkActor
	case EventCorrected:
		return &EventCorrectedData{Corrects: uuid.New(), Reason: "typo"}, gkActor
	}
	return nil, Actor{}
}

type appRun struct {
	id      uuid.UUID
	service string
	channel Channel
	app     Application
	events  []Event
	at      time.Time
}

func newRun(service string, channel Channel) *appRun {
	return &appRun{id: uuid.New(), service: service, channel: channel, app: Application{Status: AppNew}, at: appStart}
}

// event builds the next event of type t with p (nil: appStep's) one hour after the last.
func (r *appRun) event(t EventType, p Payload) (Event, Actor) {
	def, a := appStep(r.app, t, r.service, r.channel)
	if p == nil {
		p = def
	}
	r.at = r.at.Add(time.Hour)
	return Event{ID: uuid.New(), DocumentID: r.id, Type: t, OccurredAt: r.at, Actor: a, Payload: p}, a
}

func (r *appRun) decide(t EventType, p Payload, actor *Actor) error {
	e, a := r.event(t, p)
	if actor != nil {
		a = *actor
		e.Actor = a
	}
	if err := DecideApplication(r.app, a, e, r.at.Add(time.Minute), testServices); err != nil {
		return err
	}
	r.app = EvolveApplication(r.app, e)
	r.events = append(r.events, e)
	return nil
}

func (r *appRun) must(t *testing.T, ts ...EventType) {
	t.Helper()
	for _, et := range ts {
		require.NoError(t, r.decide(et, nil, nil), "%s in %s", et, r.app.Status)
	}
}

var (
	gkHead  = []EventType{ApplicationAccepted, ApplicationForwarded, ApplicationRegistered, ResolutionImposed}
	gkTail  = []EventType{ResultDispatched, ResultReceivedAtGK, ResultIssued}
	a1Tail  = []EventType{ReviewCompleted, RecordFormed, ResultSigned}
	a3Tail  = []EventType{ReviewCompleted, ResultSigned}
	officeH = []EventType{ApplicationRegistered, ResolutionImposed}
)

func TestApplicationJourneys(t *testing.T) {
	cases := []struct {
		name, service string
		channel       Channel
		steps         [][]EventType
		final         Status
		holder        Org
		intervals     int
	}{
		{"A1 §9 via GK, issued against the receipt", "restoration", ChannelGK, [][]EventType{gkHead, a1Tail, gkTail}, AppResultIssued, OrgRecipient, 5},
		{"A1 §5 at the office, extended and told", "restoration", ChannelOffice,
			[][]EventType{officeH, {ReviewExtended, ExtensionNotified}, a1Tail, {ResultDispatched}}, AppDelivered, OrgRecipient, 2},
		{"A1 §5.6 on the portal", "restoration", ChannelPortal, [][]EventType{officeH, a1Tail, {ResultDispatched}}, AppDelivered, OrgRecipient, 2},
		{"A3 §9 via GK, no record step", "annulment", ChannelGK, [][]EventType{gkHead, a3Tail, gkTail}, AppResultIssued, OrgRecipient, 5},
		{"A3 §5.5 at the office, dispatched by the executor", "annulment", ChannelOffice, [][]EventType{officeH, a3Tail, {ResultDispatched}},
			AppDelivered, OrgRecipient, 2},
		{"A1–A3 §9 refused at intake: terminal", "annulment", ChannelGK, [][]EventType{{ApplicationRefusedAtIntake}}, AppRefusedAtIntake, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(tc.service, tc.channel)
			r.must(t, slices.Concat(tc.steps...)...)
			assert.Equal(t, tc.final, r.app.Status)
			assert.True(t, ApplicationTerminal(r.app.Status))
			assert.Equal(t, FoldApplication(r.id, r.events), r.app, "fold equals step-by-step evolve")
			if tc.holder != "" {
				require.NotNil(t, r.app.Holder)
				assert.Equal(t, tc.holder, r.app.Holder.Org)
			}
			assert.Len(t, ApplicationIntervals(r.events), tc.intervals)
			err := r.decide(ResolutionImposed, nil, nil)
			var tr *TransitionError
			require.ErrorAs(t, err, &tr, "a terminal application takes only corrections")
			assert.Equal(t, []EventType{EventCorrected}, tr.Allowed)
		})
	}
}

func TestApplicationRefusedReviewGivesReasonedRefusal(t *testing.T) {
	// A1 §5.3: a refusal with reasons; the record is not formed and the result is a refusal.
	r := newRun("restoration", ChannelGK)
	r.must(t, gkHead...)
	require.NoError(t, r.decide(ReviewCompleted, &ReviewCompletedData{Decision: DecisionRefuse, Reasons: []string{"no archive record"}}, nil))
	assert.Equal(t, AppReviewRefused, r.app.Status)
	var tr *TransitionError
	require.ErrorAs(t, r.decide(RecordFormed, nil, nil), &tr)
	require.ErrorAs(t, r.decide(ResultSigned, &ResultSignedData{Result: Result{Kind: ResultCertificate, Number: "1234567"}}, nil), &tr)
	assert.Contains(t, tr.Reason, "reasoned refusal")
	r.must(t, ResultSigned)
	assert.Equal(t, ResultRefusal, r.app.Result.Kind)
	r.must(t, gkTail...)
	assert.Equal(t, []string{"no archive record"}, r.app.RefusalReasons)
}

func TestApplicationRules(t *testing.T) {
	ext := func(days int) *ReviewExtendedData { return &ReviewExtendedData{Days: days, Reason: "archive request"} }
	var (
		validation = func(t *testing.T, err error) { var v *ValidationError; assert.ErrorAs(t, err, &v) }
		forbidden  = func(t *testing.T, err error) { var f *ForbiddenError; assert.ErrorAs(t, err, &f) }
		transition = func(t *testing.T, err error) { var tr *TransitionError; assert.ErrorAs(t, err, &tr) }
	)
	other := Actor{Role: RoleRAGSOffice, Org: OrgRAGS, Unit: "RAGS-OTHER", EmployeeID: "clerk-9"}
	cases := []struct {
		name    string
		service string
		before  []EventType
		t       EventType
		p       Payload
		actor   *Actor
		check   func(*testing.T, error)
	}{
		{"A1 §5 extension of 31 calendar days refused", "restoration", gkHead, ReviewExtended, ext(31), nil, transition},
		{"A1 §5 extensions add up: 10 + 21 refused", "restoration", append(slices.Clone(gkHead), ReviewExtended), ReviewExtended, ext(21), nil, transition},
		{"A1 §5 extensions add up: 10 + 20 accepted", "restoration", append(slices.Clone(gkHead), ReviewExtended), ReviewExtended, ext(20), nil,
			func(t *testing.T, err error) { assert.NoError(t, err) }},
		{"A1 §5 extension needs a reason", "restoration", gkHead, ReviewExtended, &ReviewExtendedData{Days: 5}, nil, validation},
		{"A1 §5 no extension to tell", "restoration", gkHead, ExtensionNotified, nil, nil, transition},
		{"A1–A3 §9 unknown service code", "A9", nil, ApplicationAccepted, nil, nil, transition},
		{"A1–A3 §9 the receipt precedes the submission", "restoration", nil, ApplicationAccepted,
			&ApplicationAcceptedData{Transfer: Transfer{To: hCON}, ReceiptNo: "R-1", ServiceCode: "restoration", Applicant: applicant,
				SubmittedAt: ptr(appStart.Add(3 * time.Hour))}, nil, validation},
		{"§5.2 only the named executor reviews", "restoration", gkHead, ReviewCompleted, nil, &Actor{Role: RoleRAGSExecutor, Org: OrgRAGS,
			Unit: hOffice.Unit, EmployeeID: "exec-8"}, forbidden},
		{"§5.1 another office may not register", "restoration", gkHead[:2], ApplicationRegistered, nil, &other, forbidden},
		{"§9 forwarded by a ЦОН that does not hold the file", "restoration", gkHead[:1], ApplicationForwarded, nil,
			&Actor{Role: RoleGKIssuance, Org: OrgGK, Unit: "CON-ALM-2"}, forbidden},
		{"A3 §5.5 the executor dispatches, not the office", "annulment", slices.Concat(gkHead, a3Tail), ResultDispatched, nil,
			&Actor{Role: RoleRAGSOffice, Org: OrgRAGS, Unit: hOffice.Unit, EmployeeID: "clerk-1"}, forbidden},
		{"A1 §5.4 the record comes before the signature", "restoration", append(slices.Clone(gkHead), ReviewCompleted), ResultSigned, nil, nil, transition},
		{"§9 a ЦОН application's result goes back to GK", "restoration", slices.Concat(gkHead, a1Tail), ResultDispatched,
			&ResultDispatchedData{Transfer: Transfer{From: hOffice, To: Holder{Org: OrgRecipient}}, Destination: ToRecipient, Identity: &idCard}, nil, transition},
		{"§9 issued against another receipt", "restoration", slices.Concat(gkHead, a1Tail, gkTail[:2]), ResultIssued,
			&ResultIssuedData{Transfer: Transfer{From: hCON, To: Holder{Org: OrgRecipient}}, ReceiptNo: "R-9999", Identity: idCard}, nil, transition},
		{"§9 a representative shows a notarised power of attorney", "restoration", slices.Concat(gkHead, a1Tail, gkTail[:2]), ResultIssued,
			&ResultIssuedData{Transfer: Transfer{From: hCON, To: Holder{Org: OrgRecipient}}, ReceiptNo: "R-0001",
				Identity: IdentityCheck{Method: IdentityRepresentative, DocumentType: "id_card", DocumentNumber: "041234567"}}, nil, validation},
		{"§9 a representative with the power of attorney", "restoration", slices.Concat(gkHead, a1Tail, gkTail[:2]), ResultIssued,
			&ResultIssuedData{Transfer: Transfer{From: hCON, To: Holder{Org: OrgRecipient}}, ReceiptNo: "R-0001",
				Identity: IdentityCheck{Method: IdentityRepresentative, DocumentType: "id_card", DocumentNumber: "041234567",
					PowerOfAttorney: &PowerOfAttorney{Number: "N-1234", Date: "2026-02-20"}}}, nil,
			func(t *testing.T, err error) { assert.NoError(t, err) }},
		{"results are typed: a certificate number is 6–12 digits", "restoration", slices.Concat(gkHead, a1Tail[:2]), ResultSigned,
			&ResultSignedData{Result: Result{Kind: ResultCertificate, Number: "OUT-1"}}, nil, validation},
		{"results are typed: a справка carries its own number", "restoration", slices.Concat(gkHead, a1Tail[:2]), ResultSigned,
			&ResultSignedData{Result: Result{Kind: ResultSpravka, Number: "SP-2026/15"}}, nil,
			func(t *testing.T, err error) { assert.NoError(t, err) }},
		{"registration after a ЦОН acceptance names no service", "restoration", gkHead[:2], ApplicationRegistered,
			&ApplicationRegisteredData{RegistrationNo: "REG-2", ServiceCode: "annulment"}, nil, validation},
		{"the ЦОН channel opens with acceptance", "restoration", nil, ApplicationRegistered,
			&ApplicationRegisteredData{RegistrationNo: "REG-2", ServiceCode: "restoration", Channel: ChannelGK}, nil, validation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(tc.service, ChannelGK)
			r.must(t, tc.before...)
			before := r.app
			err := r.decide(tc.t, tc.p, tc.actor)
			tc.check(t, err)
			if err != nil {
				assert.Equal(t, before, r.app, "a refused step changes nothing")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestApplicationRoleMatrix: each position records only its own steps (DOMAIN.md, Other
// services): every role × every application event.
func TestApplicationRoleMatrix(t *testing.T) {
	want := map[EventType][]Role{
		ApplicationAccepted:        {RoleGKIssuance},
		ApplicationRefusedAtIntake: {RoleGKIssuance},
		ApplicationForwarded:       {RoleGKIssuance, RoleRAGSOffice},
		ApplicationRegistered:      {RoleRAGSOffice},
		ResolutionImposed:          {RoleRAGSHead},
		ReviewExtended:             {RoleRAGSHead},
		ExtensionNotified:          {RoleRAGSOffice},
		ReviewCompleted:            {RoleRAGSExecutor},
		RecordFormed:               {RoleRAGSExecutor},
		ResultSigned:               {RoleRAGSHead},
		ResultDispatched:           {RoleRAGSOffice, RoleRAGSExecutor},
		ResultReceivedAtGK:         {RoleGKIssuance},
		ResultIssued:               {RoleGKIssuance},
		DeadlineMissed:             {RoleSystem},
		EventCorrected:             {RoleGKIssuance, RoleRAGSOffice, RoleRAGSHead, RoleRAGSExecutor, RoleAdmin, RoleCommission},
	}
	require.ElementsMatch(t, ApplicationEventTypes, mapsKeys(want))
	for _, et := range ApplicationEventTypes {
		for _, role := range append(slices.Clone(Roles), RoleSystem) {
			assert.Equal(t, slices.Contains(want[et], role), MayRecordApplication(role, et), "%s × %s", role, et)
		}
	}
	// A role not listed is refused by DecideApplication too, whatever the state.
	r := newRun("restoration", ChannelGK)
	r.must(t, gkHead...)
	for _, role := range []Role{RoleRAGS, RoleGKCourier, RoleRAGSOffice, RoleAuditor} {
		a := Actor{Role: role, Org: OrgOf(role), Unit: hOffice.Unit, EmployeeID: "exec-7"}
		var f *ForbiddenError
		assert.ErrorAs(t, r.decide(ReviewCompleted, nil, &a), &f, "%s may not review", role)
	}
}

func mapsKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestApplicationUnitMatrix: along a whole journey, each step recorded by its own role from
// another unit is refused (403), and then accepted from the right unit.
func TestApplicationUnitMatrix(t *testing.T) {
	for _, tc := range []struct {
		service string
		channel Channel
		steps   []EventType
	}{
		{"restoration", ChannelGK, slices.Concat(gkHead, []EventType{ReviewExtended, ExtensionNotified}, a1Tail, gkTail)},
		{"annulment", ChannelOffice, slices.Concat(officeH, a3Tail, []EventType{ResultDispatched})},
	} {
		r := newRun(tc.service, tc.channel)
		for _, et := range tc.steps {
			_, right := appStep(r.app, et, tc.service, tc.channel)
			wrong := right
			wrong.Unit += "-X"
			var f *ForbiddenError
			require.ErrorAs(t, r.decide(et, nil, &wrong), &f, "%s from unit %s", et, wrong.Unit)
			require.NoError(t, r.decide(et, nil, nil), "%s from its own unit", et)
		}
	}
}

func TestApplicationCodecAndMasking(t *testing.T) {
	r := newRun("restoration", ChannelGK)
	r.must(t, slices.Concat(gkHead, []EventType{ReviewExtended, ExtensionNotified}, a1Tail, gkTail)...)
	for _, e := range r.events {
		b, err := Encode(e)
		require.NoError(t, err)
		back, err := Decode(b)
		require.NoError(t, err, "%s", e.Type)
		b2, err := Encode(back)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(b2), "%s re-encodes identically", e.Type)
	}
	acc := r.events[0].Payload.(*ApplicationAcceptedData).MaskedPayload().(*ApplicationAcceptedData)
	assert.Equal(t, "**********15", acc.Applicant.IIN)
	iss := r.events[len(r.events)-1].Payload.(*ResultIssuedData).MaskedPayload().(*ResultIssuedData)
	assert.Equal(t, "*******67", iss.Identity.DocumentNumber)
	assert.Equal(t, "041234567", r.events[len(r.events)-1].Payload.(*ResultIssuedData).Identity.DocumentNumber, "the stored event is untouched")
}

func TestApplicationLiability(t *testing.T) {
	r := newRun("restoration", ChannelGK)
	r.must(t, gkHead...)
	miss := &DeadlineMissedData{Rule: "review", Deadline: r.at, Holder: hOffice, ChargedTo: []Org{OrgRAGS}, Source: "A1 §5.3"}
	sys := Actor{Role: RoleSystem, Org: OrgLedger}
	require.NoError(t, r.decide(DeadlineMissed, miss, &sys))
	ch := ApplicationLiability(r.events)
	require.Len(t, ch, 1)
	assert.Equal(t, OrgRAGS, ch[0].Org)
	assert.Equal(t, "review", ch[0].Rule)
	assert.Equal(t, []string{"review"}, r.app.DeadlineMissed)
	err := r.decide(DeadlineMissed, miss, &gkActor)
	var f *ForbiddenError
	assert.True(t, errors.As(err, &f), "only the ledger records a missed deadline")
}
