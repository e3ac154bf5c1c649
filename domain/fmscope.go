package domain

import (
	"fmt"
	"slices"
	"time"
)

// FMEvidence is the document of an authorised body (an akimat's decision, a certificate of
// the Chamber of Commerce, a hydrometeorological service's report) that attests force
// majeure (P.38). Date is a calendar date, YYYY-MM-DD.
type FMEvidence struct {
	Issuer string `json:"issuer"`
	Number string `json:"number"`
	Date   string `json:"date"`
}

// validateP38: a declaration carries the authorised body's document and names the parties
// notified (P.38).
func (d *ForceMajeureDeclaredData) validateP38() error {
	if d.Evidence == nil {
		return invalid("evidence", "required: the authorised body's document (issuer, number, date) attesting the facts (P.38)")
	}
	if err := needText("evidence.issuer", d.Evidence.Issuer, 300); err != nil {
		return err
	}
	if err := needCode("evidence.number", d.Evidence.Number); err != nil {
		return err
	}
	if _, err := time.Parse(time.DateOnly, d.Evidence.Date); err != nil {
		return invalid("evidence.date", "must be a date, YYYY-MM-DD")
	}
	if len(d.Notified) == 0 {
		return invalid("notified", "required: the parties notified of the force majeure (P.38)")
	}
	return validOrgs("notified", d.Notified)
}

// ScopeForceMajeure fixes whom a declaration covers: an organisation declares force majeure
// for its own obligations (P.37), so orgs defaults to the declaring organisation and may name
// no other; a period covering another organisation needs that organisation's own declaration
// (403 otherwise). It returns the payload to store.
func ScopeForceMajeure(actor Actor, d ForceMajeureDeclaredData) (ForceMajeureDeclaredData, error) {
	if d.NotifyingOrg == "" {
		return d, invalid("notifying_org", "required: the organisation declaring force majeure")
	}
	if len(d.Orgs) == 0 {
		d.Orgs = []Org{d.NotifyingOrg}
	}
	for _, o := range d.Orgs {
		if o != d.NotifyingOrg {
			return d, &ForbiddenError{Role: actor.Role, Event: ForceMajeureDeclared, Reason: fmt.Sprintf(
				"%s declares force majeure for its own obligations only; %s must declare its own (P.37)", d.NotifyingOrg, o)}
		}
	}
	d.Orgs = slices.Compact(d.Orgs)
	return d, nil
}
