package domain

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Interval is a stretch of time during which one holder answered for a document.
type Interval struct {
	Holder     Holder     `json:"holder"`
	From       time.Time  `json:"from"`
	To         *time.Time `json:"to,omitempty"` // nil while the holder still has it
	OpenedBy   uuid.UUID  `json:"opened_by"`
	OpenedType EventType  `json:"opened_type"`
	ClosedBy   *uuid.UUID `json:"closed_by,omitempty"`
	ClosedType EventType  `json:"closed_type,omitempty"`
}

// CustodyIntervals lists who held the document and when, from its events in stream order.
// Only hand-overs the state machine accepts count, so intervals never overlap or leave gaps.
func CustodyIntervals(events []Event) []Interval {
	f := folder{s: State{Status: StatusNew}}
	for _, e := range events {
		f.apply(e)
	}
	return f.intervals
}

// folder folds a stream and keeps its custody intervals as it goes.
type folder struct {
	s         State
	intervals []Interval
	before    []State // when not nil, the state each event met is kept
}

// apply folds e and reports the state before it and whether e fitted that state.
func (f *folder) apply(e Event) (State, bool) {
	before := f.s
	if f.before != nil {
		f.before = append(f.before, before)
	}
	f.s = Evolve(f.s, e)
	ok := fitted(before, e)
	if _, moves := TransferOf(e); ok && moves {
		if n := len(f.intervals); n > 0 {
			at, id := e.OccurredAt, e.ID
			f.intervals[n-1].To, f.intervals[n-1].ClosedBy, f.intervals[n-1].ClosedType = &at, &id, e.Type
		}
		f.intervals = append(f.intervals, Interval{Holder: *f.s.Holder, From: e.OccurredAt, OpenedBy: e.ID, OpenedType: e.Type})
	}
	return before, ok
}

// Replay is a document stream folded once, with what the read side derives along the way.
type Replay struct {
	State     State      // after the last event
	Before    []State    // Before[i] is the state events[i] met
	Intervals []Interval // CustodyIntervals
	Charges   []Charge   // Liability
}

// ReplayStream folds a document's events (in stream order) once and returns the state, the
// state before each event, the custody intervals and the charges: what Fold, CustodyIntervals
// and Liability each give, for the cost of one of them.
func ReplayStream(id uuid.UUID, events []Event) Replay {
	f := folder{s: State{DocumentID: id, Status: StatusNew}, before: make([]State, 0, len(events))}
	charges := liability(&f, events, nil)
	return Replay{State: f.s, Before: f.before, Intervals: f.intervals, Charges: charges}
}

// Moved tells whether a later force majeure moved a recorded missed deadline (rule, org, the
// deadline recorded): the periods that moved it and the deadline as it stands now; none when
// the record still stands.
type Moved func(rule string, org Org, at time.Time) (by []uuid.UUID, now time.Time)

// LiabilityWith is Liability with the deadlines as force majeure leaves them (moved, from
// deadline.Supersession): a DeadlineMissed whose deadline a later period moved is kept,
// marked superseded, and is no live charge, so one clock carries at most one (issue 10 §5).
func LiabilityWith(events []Event, moved Moved) []Charge {
	return liability(&folder{s: State{Status: StatusNew}}, events, moved)
}

// After is the state right after events[i].
func (r Replay) After(i int) State {
	if i+1 < len(r.Before) {
		return r.Before[i+1]
	}
	return r.State
}

// Fitted reports whether events[i] fitted the state it met (Evolve applied it).
func (r Replay) Fitted(i int, t EventType) bool { return fitted(r.Before[i], Event{Type: t}) }

// HolderAt returns the interval covering moment t, if any (for as_of queries and disputes).
func HolderAt(intervals []Interval, t time.Time) (Interval, bool) {
	for i := len(intervals) - 1; i >= 0; i-- {
		iv := intervals[i]
		if !t.Before(iv.From) && (iv.To == nil || t.Before(*iv.To)) {
			return iv, true
		}
	}
	return Interval{}, false
}

// ChargeKind is what an organisation is charged with.
type ChargeKind string

const (
	ChargeLoss           ChargeKind = "loss"
	ChargeDeadlineMissed ChargeKind = "deadline_missed"
	ChargeMissingLine    ChargeKind = "missing_line"
)

// Charge attributes a loss, a missed deadline or a missing registry line to an organisation,
// with the events and the rule that produced it, so the commission can check it line by line.
type Charge struct {
	DocumentID    uuid.UUID   `json:"document_id"`
	Org           Org         `json:"org"`
	Kind          ChargeKind  `json:"kind"`
	Rule          string      `json:"rule"`
	Source        string      `json:"source"`
	At            time.Time   `json:"at"`
	Holder        Holder      `json:"holder"`
	EventIDs      []uuid.UUID `json:"event_ids"`
	Reasons       []string    `json:"reasons"`
	ForCommission bool        `json:"for_commission,omitempty"` // P.36: disputed attribution
	CorrectedBy   *uuid.UUID  `json:"corrected_by,omitempty"`
	// SupersededBy: the force-majeure periods that moved this missed deadline after it was
	// recorded; the record stays on the stream, but the charge is no longer live.
	SupersededBy []uuid.UUID `json:"superseded_by,omitempty"`
}

// Live reports whether the charge still counts: neither corrected nor superseded.
func (c Charge) Live() bool { return c.CorrectedBy == nil && len(c.SupersededBy) == 0 }

// Liability derives every charge on a document from its events (P.22–P.24, P.18, P.36 and the
// deadline table). A charge whose event was later corrected stays listed, marked CorrectedBy.
func Liability(events []Event) []Charge {
	return liability(&folder{s: State{Status: StatusNew}}, events, nil)
}

// liability folds events with f and derives the charges as it goes.
func liability(f *folder, events []Event, moved Moved) []Charge {
	var (
		out       []Charge
		corrected = map[uuid.UUID]uuid.UUID{}
	)
	for _, e := range events {
		if c, ok := e.Payload.(*EventCorrectedData); ok {
			corrected[c.Corrects] = e.ID
		}
	}
	for _, e := range events {
		st, ok := f.apply(e)
		if !ok {
			continue
		}
		intervals := f.intervals
		switch p := e.Payload.(type) {
		case *DocumentLostData:
			out = append(out, lossCharge(st, e, p, intervals))
		case *DeadlineMissedData:
			for _, org := range p.ChargedTo {
				if moved != nil {
					if by, now := moved(p.Rule, org, p.Deadline); len(by) > 0 {
						c := deadlineCharge(e, p, org)
						c.SupersededBy = by
						c.Reasons = append(c.Reasons, fmt.Sprintf("superseded: force majeure %v moved the deadline to %s (P.37)",
							by, now.In(Almaty).Format(time.RFC3339)))
						out = append(out, c)
						continue
					}
				}
				if i := sameMovement(out, p.Rule, org); i >= 0 {
					out[i] = joinMovement(out[i], e, p)
					continue
				}
				out = append(out, deadlineCharge(e, p, org))
			}
		case *IntakeDiscrepancyData:
			if p.Kind != DiscrepancyMissing {
				continue
			}
			ids := []uuid.UUID{e.ID}
			if n := len(intervals); n > 0 {
				ids = append(ids, intervals[n-1].OpenedBy)
			}
			out = append(out, Charge{DocumentID: e.DocumentID, Org: p.Giver.Org, Kind: ChargeMissingLine,
				Rule: "registry_line_missing", Source: "P.18", At: e.OccurredAt, Holder: p.Giver, EventIDs: ids,
				Reasons: []string{fmt.Sprintf("registry %s line missing at acceptance by %s/%s: charged to the giving side %s/%s",
					p.RegistryID, p.Receiver.Org, p.Receiver.Unit, p.Giver.Org, p.Giver.Unit)}})
		}
	}
	for i := range out {
		if by, ok := corrected[out[i].EventIDs[0]]; ok {
			out[i].CorrectedBy = &by
		}
	}
	return out
}

// deadlineCharge charges a missed deadline to one organisation the watch named.
func deadlineCharge(e Event, p *DeadlineMissedData, org Org) Charge {
	return Charge{DocumentID: e.DocumentID, Org: org, Kind: ChargeDeadlineMissed, Rule: p.Rule,
		Source: p.Source, At: p.Deadline, Holder: p.Holder, EventIDs: []uuid.UUID{e.ID},
		Reasons: []string{fmt.Sprintf("deadline %s of rule %s passed while %s/%s held the document",
			p.Deadline.In(Almaty).Format(time.RFC3339), p.Rule, p.Holder.Org, p.Holder.Unit)}}
}

// toKaspiIntake are the two rules that time one movement, the document's arrival at Kaspi
// intake, from its two sides: P.10 from the order, P.17 from the dispatch registry.
var toKaspiIntake = map[string]bool{"order_to_intake": true, "intake_delivery": true}

// sameMovement finds a live charge to org for the other side of the movement to Kaspi intake:
// one late arrival is one charge citing both points (DOMAIN.md, Deadlines), never two.
func sameMovement(charges []Charge, rule string, org Org) int {
	if !toKaspiIntake[rule] {
		return -1
	}
	for i, c := range charges {
		if c.Kind == ChargeDeadlineMissed && c.Org == org && toKaspiIntake[c.Rule] && c.Rule != rule && len(c.SupersededBy) == 0 {
			return i
		}
	}
	return -1
}

func joinMovement(c Charge, e Event, p *DeadlineMissedData) Charge {
	c.Source = "P.10, P.17"
	c.EventIDs = append(c.EventIDs, e.ID)
	c.Reasons = append(c.Reasons, fmt.Sprintf("deadline %s of rule %s also passed: the same late arrival at Kaspi intake, charged once",
		p.Deadline.In(Almaty).Format(time.RFC3339), p.Rule))
	return c
}

// fitted reports whether e was applied to s (Evolve ignores events that do not fit).
func fitted(s State, e Event) bool {
	sp, ok := specs[e.Type]
	if !ok {
		return false
	}
	return slices.Contains(sp.from, s.Status)
}

func lossCharge(s State, e Event, p *DocumentLostData, intervals []Interval) Charge {
	c := Charge{DocumentID: e.DocumentID, Kind: ChargeLoss, Rule: "loss", At: e.OccurredAt, EventIDs: []uuid.UUID{e.ID}}
	if n := len(intervals); n > 0 {
		last := intervals[n-1]
		c.Org, c.Holder = last.Holder.Org, last.Holder
		c.EventIDs = append(c.EventIDs, last.OpenedBy)
		c.Reasons = append(c.Reasons, fmt.Sprintf("last seen with %s/%s since %s (%s)", last.Holder.Org, last.Holder.Unit,
			last.From.In(Almaty).Format(time.RFC3339), last.OpenedType))
	}
	switch c.Org {
	case OrgKaspi:
		c.Source = "P.22, P.24"
	case OrgGK:
		c.Source = "P.23, P.24"
	default:
		c.Source = "P.24"
	}
	if e.Actor.Org != c.Org {
		c.ForCommission = true
		c.Reasons = append(c.Reasons, fmt.Sprintf("reported by %s about custody held by %s: for the commission (P.36)", e.Actor.Org, c.Org))
	}
	if !p.LastSeen.IsZero() && !p.LastSeen.SamePlace(c.Holder) {
		c.ForCommission = true
		c.Reasons = append(c.Reasons, fmt.Sprintf("the report names %s/%s as last holder, the ledger %s/%s (P.36)",
			p.LastSeen.Org, p.LastSeen.Unit, c.Holder.Org, c.Holder.Unit))
	}
	return c
}
