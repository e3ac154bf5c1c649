package domain

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Application statuses. They share the Status type with documents (refusals name them the
// same way) but never a value.
const (
	AppNew             Status = "new"
	AppAccepted        Status = "accepted"          // at the ЦОН (A1–A3 §9)
	AppRefusedAtIntake Status = "refused_at_intake" // terminal (§9)
	AppForwarded       Status = "forwarded"         // the file is at the provider, not registered
	AppRegistered      Status = "registered"        // §5.1
	AppInReview        Status = "in_review"         // resolution imposed (§5.2)
	AppReviewed        Status = "reviewed"          // approved (§5.3)
	AppReviewRefused   Status = "review_refused"    // refused with reasons (§5.3)
	AppRecordFormed    Status = "record_formed"     // §5.4
	AppSigned          Status = "signed"            // §5.5
	AppDispatched      Status = "dispatched"        // on its way to the ЦОН (§5.6)
	AppAtGK            Status = "result_at_gk"      // §9
	AppResultIssued    Status = "result_issued"     // terminal (§9)
	AppDelivered       Status = "result_delivered"  // terminal: at the office or on the portal (§5.6)
)

// ApplicationTerminal reports whether an application status accepts only corrections.
func ApplicationTerminal(s Status) bool {
	return s == AppRefusedAtIntake || s == AppResultIssued || s == AppDelivered
}

// ApplicationService is what deciding an application needs from the service catalogue
// (domain/catalogue builds it; domain does not import the catalogue).
type ApplicationService struct {
	Code string
	// ExtensionMaxDays is the most calendar days the review may be extended in all; 0: never.
	ExtensionMaxDays int
	ExtensionSource  string
	// DispatchRole is the position that sends the result out (§5.6; A3: the executor).
	DispatchRole Role
	// RecordStep: the service forms a record after the review (A1, A2 §5.4; A3 does not).
	RecordStep bool
}

// ServiceLookup finds a service by code or alias.
type ServiceLookup func(code string) (ApplicationService, bool)

// Application is an application stream folded.
type Application struct {
	ID          uuid.UUID `json:"application_id"`
	Status      Status    `json:"state"`
	Version     uint64    `json:"version"`
	Channel     Channel   `json:"channel,omitempty"`
	ServiceCode string    `json:"service_code,omitempty"`
	// City is where the application was filed (the ЦОН's or the office's): its region, which a
	// regional force-majeure period covers (P.37).
	City           string `json:"city,omitempty"`
	ReceiptNo      string `json:"receipt_no,omitempty"`
	RegistrationNo string `json:"registration_no,omitempty"`
	// Applicant is personal data: kept for notifications and shown masked.
	Applicant      *RecipientContact `json:"-"`
	Holder         *Holder           `json:"holder,omitempty"`
	HolderSince    time.Time         `json:"holder_since,omitzero"`
	LastOccurred   time.Time         `json:"last_occurred_at,omitzero"`
	Executor       string            `json:"executor,omitempty"`
	ResolutionDue  time.Time         `json:"resolution_due,omitzero"`
	Decision       Decision          `json:"decision,omitempty"`
	RefusalReasons []string          `json:"refusal_reasons,omitempty"`
	ExtendedDays   int               `json:"extended_days,omitempty"`
	Extensions     int               `json:"extensions,omitempty"`
	Notified       int               `json:"extensions_notified,omitempty"`
	RecordNo       string            `json:"record_no,omitempty"`
	Result         *Result           `json:"result,omitempty"`
	Destination    Destination       `json:"destination,omitempty"`
	DeadlineMissed []string          `json:"deadlines_missed,omitempty"`
	Corrections    int               `json:"corrections,omitempty"`
}

// appSpec says who records an application event, in which statuses, and what it leads to.
type appSpec struct {
	roles        []Role
	from         []Status
	to           Status
	giver, taker Org // for hand-overs of the paper file or result
	source       string
}

var (
	appOpen = []Status{AppAccepted, AppForwarded, AppRegistered, AppInReview, AppReviewed, AppReviewRefused,
		AppRecordFormed, AppSigned, AppDispatched, AppAtGK}
	appWriters = []Role{RoleGKIssuance, RoleRAGSOffice, RoleRAGSHead, RoleRAGSExecutor}
)

// appSpecs is DOMAIN.md's table of "Other services": each step, its position and its point.
var appSpecs = map[EventType]appSpec{
	ApplicationAccepted: {roles: []Role{RoleGKIssuance}, from: []Status{AppNew}, to: AppAccepted,
		taker: OrgGK, source: "A1–A3 §9"},
	ApplicationRefusedAtIntake: {roles: []Role{RoleGKIssuance}, from: []Status{AppNew}, to: AppRefusedAtIntake,
		source: "A1–A3 §9"},
	ApplicationForwarded: {roles: []Role{RoleGKIssuance, RoleRAGSOffice}, from: []Status{AppAccepted}, to: AppForwarded,
		giver: OrgGK, taker: OrgRAGS, source: "A1–A3 §9"},
	ApplicationRegistered: {roles: []Role{RoleRAGSOffice}, from: []Status{AppNew, AppForwarded}, to: AppRegistered,
		source: "A1–A3 §5.1"},
	ResolutionImposed: {roles: []Role{RoleRAGSHead}, from: []Status{AppRegistered}, to: AppInReview, source: "A1–A3 §5.2"},
	ReviewExtended:    {roles: []Role{RoleRAGSHead}, from: []Status{AppInReview}, source: "A1–A3 §5"},
	ExtensionNotified: {roles: []Role{RoleRAGSOffice},
		from: []Status{AppInReview, AppReviewed, AppReviewRefused, AppRecordFormed, AppSigned}, source: "A1–A3 §5"},
	ReviewCompleted: {roles: []Role{RoleRAGSExecutor}, from: []Status{AppInReview}, source: "A1–A3 §5.3"},
	RecordFormed:    {roles: []Role{RoleRAGSExecutor}, from: []Status{AppReviewed}, to: AppRecordFormed, source: "A1, A2 §5.4"},
	ResultSigned: {roles: []Role{RoleRAGSHead}, from: []Status{AppReviewed, AppReviewRefused, AppRecordFormed},
		to: AppSigned, source: "A1, A2 §5.5; A3 §5.4"},
	ResultDispatched: {roles: []Role{RoleRAGSOffice, RoleRAGSExecutor}, from: []Status{AppSigned},
		giver: OrgRAGS, source: "A1, A2 §5.6; A3 §5.5"},
	ResultReceivedAtGK: {roles: []Role{RoleGKIssuance}, from: []Status{AppDispatched}, to: AppAtGK,
		giver: OrgGK, taker: OrgGK, source: "A1–A3 §9"},
	ResultIssued: {roles: []Role{RoleGKIssuance}, from: []Status{AppAtGK}, to: AppResultIssued,
		giver: OrgGK, taker: OrgRecipient, source: "A1–A3 §9"},
	DeadlineMissed: {roles: []Role{RoleSystem}, from: appOpen, source: "DOMAIN.md Other services"},
	EventCorrected: {roles: append(slices.Clone(appWriters), RoleAdmin, RoleCommission),
		from: append(slices.Clone(appOpen), AppRefusedAtIntake, AppResultIssued, AppDelivered), source: "DOMAIN.md: corrections"},
}

// MayRecordApplication reports whether role r may ever record event type t on an
// application stream (API: 403 otherwise).
func MayRecordApplication(r Role, t EventType) bool {
	return slices.Contains(appSpecs[t].roles, r)
}

// ApplicationSourceOf returns the points of seed 003 an application event implements.
func ApplicationSourceOf(t EventType) string { return appSpecs[t].source }

// ApplicationAllowed lists the events an application in status s accepts, in procedure order.
func ApplicationAllowed(s Status) []EventType {
	out := []EventType{}
	for _, t := range ApplicationEventTypes {
		if slices.Contains(appSpecs[t].from, s) {
			out = append(out, t)
		}
	}
	return out
}

// FoldApplication applies events in order to an empty application.
func FoldApplication(id uuid.UUID, events []Event) Application {
	a := Application{ID: id, Status: AppNew}
	for _, e := range events {
		a = EvolveApplication(a, e)
	}
	return a
}

// EvolveApplication applies one event. Like Evolve it is total: an event that does not fit
// only advances the version.
func EvolveApplication(a Application, e Event) Application {
	a.Version++
	if e.OccurredAt.After(a.LastOccurred) {
		a.LastOccurred = e.OccurredAt
	}
	if a.ID == uuid.Nil {
		a.ID = e.DocumentID
	}
	sp, ok := appSpecs[e.Type]
	if !ok || !slices.Contains(sp.from, a.Status) {
		return a
	}
	if sp.to != "" {
		a.Status = sp.to
	}
	if h, ok := applicationHandover(e); ok {
		a.Holder, a.HolderSince = &h, e.OccurredAt
	}
	if c := cityOf(e); a.City == "" {
		a.City = c
	}
	switch p := e.Payload.(type) {
	case *ApplicationAcceptedData:
		a.Channel, a.ServiceCode, a.ReceiptNo = ChannelGK, p.ServiceCode, p.ReceiptNo
		c := p.Applicant
		a.Applicant = &c
	case *ApplicationRefusedAtIntakeData:
		a.Channel, a.ServiceCode, a.ReceiptNo = ChannelGK, p.ServiceCode, p.ReceiptNo
		c := p.Applicant
		a.Applicant = &c
	case *ApplicationRegisteredData:
		a.RegistrationNo = p.RegistrationNo
		if p.ServiceCode != "" {
			a.ServiceCode, a.Channel = p.ServiceCode, p.Channel
		}
		if p.Applicant != nil {
			c := *p.Applicant
			a.Applicant = &c
		}
	case *ResolutionImposedData:
		a.Executor, a.ResolutionDue = p.Executor, p.Due
	case *ReviewCompletedData:
		a.Decision, a.RefusalReasons = p.Decision, slices.Clone(p.Reasons)
		a.Status = AppReviewed
		if p.Decision == DecisionRefuse {
			a.Status = AppReviewRefused
		}
	case *ReviewExtendedData:
		a.ExtendedDays += p.Days
		a.Extensions++
	case *ExtensionNotifiedData:
		a.Notified++
	case *RecordFormedData:
		a.RecordNo = p.RecordNo
	case *ResultSignedData:
		r := p.Result
		a.Result = &r
	case *ResultDispatchedData:
		a.Destination = p.Destination
		a.Status = AppDelivered
		if p.Destination == ToGK {
			a.Status = AppDispatched
		}
	case *DeadlineMissedData:
		a.DeadlineMissed = append(a.DeadlineMissed, p.Rule)
	case *EventCorrectedData:
		a.Corrections++
	}
	return a
}

// applicationHandover returns who holds the paper file or result after e, if e moves it. An
// application that opens at the office names the office (to) that holds the file.
func applicationHandover(e Event) (Holder, bool) {
	if p, ok := e.Payload.(*ApplicationRegisteredData); ok {
		if p.To != nil {
			return *p.To, true
		}
		return Holder{}, false
	}
	if IsApplicationEvent(e.Type) {
		if t, ok := TransferOf(e); ok {
			return t.To, true
		}
	}
	return Holder{}, false
}

// DecideApplication checks whether actor may record e on application a at time now, with the
// service's terms from lookup. It returns nil, a *ValidationError (bad fields), a
// *ForbiddenError (role, unit or employee) or a *TransitionError (does not fit the state, an
// unknown service, an extension beyond the limit: 422).
func DecideApplication(a Application, actor Actor, e Event, now time.Time, lookup ServiceLookup) error {
	if err := ValidateEvent(e); err != nil {
		return err
	}
	return DecideApplicationValid(a, actor, e, now, lookup)
}

// DecideApplicationValid is DecideApplication for an event already validated (against the
// service's calendar).
func DecideApplicationValid(a Application, actor Actor, e Event, now time.Time, lookup ServiceLookup) error {
	if a.ID != e.DocumentID && a.Status != AppNew {
		return invalid("application_id", "event belongs to another application")
	}
	sp, ok := appSpecs[e.Type]
	if !ok {
		return invalid("type", "not an application event type")
	}
	forbid := func(format string, args ...any) error {
		return &ForbiddenError{Role: actor.Role, Event: e.Type, Reason: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(sp.roles, actor.Role) {
		return forbid("recorded by %v (%s)", sp.roles, sp.source)
	}
	if actor.Org != OrgOf(actor.Role) {
		return forbid("the key's organisation does not match its role")
	}
	if e.OccurredAt.After(now.Add(MaxClockSkew)) {
		return invalid("occurred_at", "lies in the future")
	}
	if e.OccurredAt.Before(a.LastOccurred) {
		return invalid("occurred_at", "is before the stream's last event (%s); time may not go back",
			a.LastOccurred.In(Almaty).Format(time.RFC3339))
	}
	refuse := func(format string, args ...any) error {
		return &TransitionError{State: a.Status, Event: e.Type, Allowed: ApplicationAllowed(a.Status), Reason: fmt.Sprintf(format, args...)}
	}
	if !slices.Contains(sp.from, a.Status) {
		if ApplicationTerminal(a.Status) {
			return refuse("the application has ended; only corrections are accepted")
		}
		return refuse("not a step that follows %s", a.Status)
	}
	code := a.ServiceCode
	if c := startCode(e); c != "" {
		code = c
	}
	svc, known := ApplicationService{}, false
	if code != "" {
		if svc, known = lookup(code); !known {
			return refuse("no service %q in the catalogue", code) // 422, like a step that does not fit
		}
	}
	if err := checkApplicationUnit(a, actor, e, svc); err != nil {
		return err
	}
	if c := cityOf(e); c != "" && a.City != "" && c != a.City {
		// The region decides which force majeure moves the clocks: it is set once.
		return invalid("city", "the application was filed in %q; its city does not change", a.City)
	}
	if reason, err := checkApplicationRule(a, e, svc); err != nil {
		return err
	} else if reason != "" {
		return refuse("%s", reason)
	}
	return nil
}

// cityOf is the city an application event names (the ЦОН's or the office's), if any.
func cityOf(e Event) string {
	switch p := e.Payload.(type) {
	case *ApplicationAcceptedData:
		return p.City
	case *ApplicationRefusedAtIntakeData:
		return p.City
	case *ApplicationRegisteredData:
		return p.City
	}
	return ""
}

// startCode is the service code an opening event names.
func startCode(e Event) string {
	switch p := e.Payload.(type) {
	case *ApplicationAcceptedData:
		return p.ServiceCode
	case *ApplicationRefusedAtIntakeData:
		return p.ServiceCode
	case *ApplicationRegisteredData:
		return p.ServiceCode
	}
	return ""
}

// checkApplicationUnit lets each position record only its own steps for its own unit: a
// hand-over by one of its two sides, any other step by the unit that holds the file, the
// review and record by the executor the resolution named, the dispatch by the service's
// dispatching position.
func checkApplicationUnit(a Application, actor Actor, e Event, svc ApplicationService) error {
	forbid := func(format string, args ...any) error {
		return &ForbiddenError{Role: actor.Role, Event: e.Type, Reason: fmt.Sprintf(format, args...)}
	}
	if actor.Role == RoleSystem || e.Type == EventCorrected && (actor.Role == RoleAdmin || actor.Role == RoleCommission) {
		return nil
	}
	if e.Type == ResultDispatched && svc.DispatchRole != "" && actor.Role != svc.DispatchRole {
		return forbid("%s sends this service's result out", svc.DispatchRole)
	}
	if t, ok := TransferOf(e); ok {
		return checkSides(actor, e.Type, t)
	}
	if p, ok := e.Payload.(*ApplicationRegisteredData); ok && a.Status == AppNew {
		if p.To == nil || p.To.Unit != actor.Unit {
			return forbid("an office registers applications into its own unit")
		}
		return nil
	}
	if e.Type == ApplicationRefusedAtIntake {
		return nil // no file changes hands: the applicant keeps the documents
	}
	if a.Holder == nil || a.Holder.Org != actor.Org || a.Holder.Unit != actor.Unit {
		return forbid("the application's file is held by another unit")
	}
	if (e.Type == ReviewCompleted || e.Type == RecordFormed) && actor.EmployeeID != a.Executor {
		return forbid("the resolution named executor %s (§5.2)", a.Executor)
	}
	return nil
}

func checkTransferSides(a Application, sp appSpec, t Transfer) string {
	if sp.giver != "" && (a.Holder == nil || !t.From.SamePlace(*a.Holder)) {
		return fmt.Sprintf("the giving side %s/%s does not hold the file", t.From.Org, t.From.Unit)
	}
	return ""
}

// checkApplicationRule holds the conditions of seed 003 beyond the status. A reason refuses
// the step (422 illegal_transition); an error is a validation error (422 validation).
func checkApplicationRule(a Application, e Event, svc ApplicationService) (string, error) {
	sp := appSpecs[e.Type]
	if t, ok := TransferOf(e); ok && IsApplicationEvent(e.Type) {
		if r := checkTransferSides(a, sp, t); r != "" {
			return r, nil
		}
	}
	submitted := func(at *time.Time) error {
		if at != nil && (at.After(e.OccurredAt) || at.Before(e.OccurredAt.Add(-24*time.Hour))) {
			return invalid("data.submitted_at", "must lie in the 24 hours before the receipt")
		}
		return nil
	}
	switch p := e.Payload.(type) {
	case *ApplicationAcceptedData:
		return "", submitted(p.SubmittedAt)
	case *ApplicationRefusedAtIntakeData:
		return "", submitted(p.SubmittedAt)
	case *ApplicationRegisteredData:
		if a.Status == AppNew {
			if p.ServiceCode == "" || p.Channel == "" || p.Applicant == nil || p.To == nil {
				return "", invalid("data", "an application opened at the office or portal names service_code, channel, applicant and to")
			}
			return "", submitted(p.SubmittedAt)
		}
		if p.ServiceCode != "" || p.Channel != "" || p.Applicant != nil || p.To != nil || p.SubmittedAt != nil {
			return "", invalid("data", "the ЦОН's acceptance named the service and applicant; registration gives registration_no only")
		}
	case *ResolutionImposedData:
		if !p.Due.After(e.OccurredAt) {
			return "", invalid("data.due", "must lie after the resolution")
		}
	case *ReviewExtendedData:
		if svc.ExtensionMaxDays == 0 {
			return "this service's review cannot be extended", nil
		}
		if a.ExtendedDays+p.Days > svc.ExtensionMaxDays {
			return fmt.Sprintf("the review is extended by at most %d calendar days in all (%s); %d used",
				svc.ExtensionMaxDays, svc.ExtensionSource, a.ExtendedDays), nil
		}
	case *ExtensionNotifiedData:
		if a.Notified >= a.Extensions {
			return "no extension waits to be told to the applicant", nil
		}
	case *ResultSignedData:
		if a.Status == AppReviewed && svc.RecordStep {
			return "the record is formed before the result is signed (§5.4)", nil
		}
		if a.Decision == DecisionRefuse && p.Result.Kind != ResultRefusal {
			return "the review refused: the result is a reasoned refusal", nil
		}
		if a.Decision == DecisionApprove && p.Result.Kind == ResultRefusal {
			return "the review approved: the result is not a refusal", nil
		}
	case *ResultDispatchedData:
		if (a.Channel == ChannelGK) != (p.Destination == ToGK) {
			return fmt.Sprintf("an application of channel %s gets its result there, not by %s", a.Channel, p.Destination), nil
		}
	case *ResultIssuedData:
		if p.ReceiptNo != a.ReceiptNo {
			return "not the receipt given at acceptance (§9)", nil
		}
	}
	return "", nil
}
