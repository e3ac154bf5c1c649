// Package deadline is the deadline table of DOMAIN.md as data, and the clocks it starts on a
// document's events. It is pure: events, the calendar, force-majeure periods and "now" all
// come in as arguments.
package deadline

import (
	"slices"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// RuleID names a rule; the names are stored in DeadlineMissed events and must never change.
type RuleID string

const (
	IntakeDelivery     RuleID = "intake_delivery"      // P.17
	OrderToIntake      RuleID = "order_to_intake"      // P.10
	IntakeWait         RuleID = "intake_wait"          // P.11
	CellStorage        RuleID = "cell_storage"         // P.21, P.29
	CellRemoval        RuleID = "cell_removal"         // P.30
	ReturnCollection   RuleID = "return_collection"    // P.33
	CONStorage         RuleID = "con_storage"          // P.35
	DuplicateIssue     RuleID = "duplicate_issue"      // P.26
	ForceMajeureNotice RuleID = "force_majeure_notice" // P.38, P.39
)

// Rule is one line of the deadline table: what starts the clock, what stops it, how long it
// runs and who answers if it runs out.
type Rule struct {
	ID RuleID
	// Start is the event that starts the clock; empty when the clock starts as another runs
	// out (After) or is not started by a document event at all (force_majeure_notice).
	Start domain.EventType
	// StartKind narrows an AddedToRegistry start to registries of this kind.
	StartKind domain.RegistryKind
	// Requires narrows the start to streams that already had this event before it.
	Requires domain.EventType
	// After: the clock starts when the clock of this rule runs out without being stopped.
	After RuleID
	// EarlyStart: if this event stops the After clock before it runs out, this clock starts
	// at that event instead (an envelope taken out of its cell early still has to go back).
	EarlyStart domain.EventType
	// Stop lists the events that stop the clock, in time or late.
	Stop []domain.EventType
	// Notice is the event that tells the recipient of a delay on this clock (P.27): a clock
	// that runs out without one owes the recipient a notice (Clock.NoticeOwed).
	Notice  domain.EventType
	Term    calendar.Term
	Charged []domain.Org // who answers for a breach; empty for rules that charge no one
	Breach  bool         // whether running out is someone's breach (or just the next step)
	Source  string
	Summary string
}

// ends are the events that end every clock but duplicate_issue: after a loss or at a
// terminal event no clock of the journey can still be kept.
var ends = []domain.EventType{domain.DocumentLost, domain.CollectedByRecipient, domain.IssuedToRecipient,
	domain.TransferredForStorage, domain.DuplicateIssued}

func stops(ts ...domain.EventType) []domain.EventType {
	out := slices.Clone(ts)
	for _, e := range ends {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

var gk, kaspi, rags = domain.OrgGK, domain.OrgKaspi, domain.OrgRAGS

// table is DOMAIN.md's deadline table (Deadlines), one entry per row.
var table = []Rule{
	{ID: IntakeDelivery, Start: domain.HandedToCourier, Stop: stops(domain.AcceptedAtKaspiIntake),
		Term: calendar.Term{Unit: calendar.NextWorkingDayAt, Hour: 12}, Charged: []domain.Org{gk}, Breach: true,
		Source: "P.17", Summary: "GK courier delivers the dispatch registry to Kaspi intake"},
	{ID: OrderToIntake, Start: domain.KaspiOrderCreated, Stop: stops(domain.AcceptedAtKaspiIntake),
		Term: calendar.Term{Unit: calendar.NextWorkingDayAt, Hour: 13}, Charged: []domain.Org{gk}, Breach: true,
		Source: "P.10", Summary: "an order created during the day reaches Kaspi intake"},
	// P.11 is the wait at the intake point itself: it ends when the document leaves it with
	// the Kaspi courier, not when it reaches the cell.
	{ID: IntakeWait, Start: domain.AcceptedAtKaspiIntake, Stop: stops(domain.OutForPostomatDelivery),
		Notice: domain.DeliveryDelayed,
		Term:   calendar.Term{N: 3, Unit: calendar.WorkingDays}, Charged: []domain.Org{kaspi}, Breach: true,
		Source: "P.11", Summary: "the order waits at Kaspi intake at most 3 working days, until it leaves with the Kaspi courier"},
	{ID: CellStorage, Start: domain.PlacedInCell, Stop: stops(domain.CollectedByRecipient, domain.RemovedFromCell),
		Term: calendar.Term{N: 3, Unit: calendar.CalendarDays}, Breach: false,
		Source: "P.21, P.29", Summary: "the recipient collects within 72 hours of placing; then it is unclaimed"},
	{ID: CellRemoval, After: CellStorage, EarlyStart: domain.RemovedFromCell,
		Stop: stops(domain.ReturnedToKaspiIntake, domain.CollectedByRecipient),
		Term: calendar.Term{N: 1, Unit: calendar.WorkingDays}, Charged: []domain.Org{kaspi}, Breach: true,
		Source: "P.30", Summary: "Kaspi courier takes the unclaimed document back to intake within 1 working day"},
	// P.33: «забирает … не позднее 12 часов следующего рабочего дня»: the term is for the
	// collection; the hand-over to the ЦОН that follows has no term of its own.
	{ID: ReturnCollection, Start: domain.AddedToRegistry, StartKind: domain.RegistryReturnCollection,
		Stop: stops(domain.CollectedFromKaspiIntake),
		Term: calendar.Term{Unit: calendar.NextWorkingDayAt, Hour: 12}, Charged: []domain.Org{gk}, Breach: true,
		Source: "P.33", Summary: "GK courier collects returns from Kaspi intake"},
	{ID: CONStorage, Start: domain.ReceivedAtIssuance, Requires: domain.ReturnedToKaspiIntake,
		Stop: stops(domain.IssuedToRecipient, domain.TransferredForStorage),
		Term: calendar.Term{N: 1, Unit: calendar.Months}, Breach: false,
		Source: "P.35", Summary: "the CON keeps a returned document one month, then transfers it for storage"},
	// P.26 counts from the recipient's request (made through GK, P.25), not from the
	// cancellation: a recipient who never applies puts no one in breach.
	{ID: DuplicateIssue, Start: domain.DuplicateRequested, Stop: []domain.EventType{domain.DuplicateIssued},
		Term: calendar.Term{N: 3, Unit: calendar.WorkingDays}, Charged: []domain.Org{gk, rags}, Breach: true,
		Source: "P.26", Summary: "a duplicate of the lost certificate is issued free within 3 working days"},
	{ID: ForceMajeureNotice, Term: calendar.Term{N: 3, Unit: calendar.WorkingDays},
		Source: "P.38, P.39", Summary: "the affected party notifies force majeure within 3 working days of onset, " +
			"or cannot rely on it (see NoticeTimely); charged to the notifying party, not to a document"},
}

// Rules returns the deadline table (a copy: the table itself never changes at run time).
func Rules() []Rule {
	out := make([]Rule, len(table))
	for i, r := range table {
		r.Stop, r.Charged = slices.Clone(r.Stop), slices.Clone(r.Charged)
		out[i] = r
	}
	return out
}

// RuleByID returns one rule of the table.
func RuleByID(id RuleID) (Rule, bool) {
	for _, r := range Rules() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Stops reports whether an event of type t stops the rule's clock.
func (r Rule) Stops(t domain.EventType) bool { return slices.Contains(r.Stop, t) }
