package domain

import (
	"slices"

	"github.com/google/uuid"
)

// ApplicationIntervals lists who held an application's paper file, then its result, and when:
// GK from acceptance, the provider from forwarding (or registration at the office), GK again
// with the result, the recipient at the end. Only steps the application accepted count.
func ApplicationIntervals(events []Event) []Interval {
	var (
		a   = Application{Status: AppNew}
		out []Interval
	)
	for _, e := range events {
		fits := slices.Contains(appSpecs[e.Type].from, a.Status)
		a = EvolveApplication(a, e)
		h, moves := applicationHandover(e)
		if !fits || !moves {
			continue
		}
		if n := len(out); n > 0 {
			at, id := e.OccurredAt, e.ID
			out[n-1].To, out[n-1].ClosedBy, out[n-1].ClosedType = &at, &id, e.Type
		}
		out = append(out, Interval{Holder: h, From: e.OccurredAt, OpenedBy: e.ID, OpenedType: e.Type})
	}
	return out
}

// ApplicationLiability derives the charges on an application: each term the watch recorded
// missed, against the position that held the step. A corrected record stays, marked.
func ApplicationLiability(events []Event) []Charge {
	var (
		a         = Application{Status: AppNew}
		out       []Charge
		corrected = map[uuid.UUID]uuid.UUID{}
	)
	for _, e := range events {
		if c, ok := e.Payload.(*EventCorrectedData); ok {
			corrected[c.Corrects] = e.ID
		}
	}
	for _, e := range events {
		fits := slices.Contains(appSpecs[e.Type].from, a.Status)
		a = EvolveApplication(a, e)
		if p, ok := e.Payload.(*DeadlineMissedData); ok && fits {
			for _, org := range p.ChargedTo {
				out = append(out, deadlineCharge(e, p, org))
			}
		}
	}
	for i := range out {
		if by, ok := corrected[out[i].EventIDs[0]]; ok {
			out[i].CorrectedBy = &by
		}
	}
	return out
}
