package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Pilot is the scope of the pilot order (order p.6): the service codes it covers and, for
// each, the last day it is in force. It comes from the catalogue's data (catalogue.Pilot), so
// an extension of the pilot is a data change, never a code change.
type Pilot struct {
	Order string            // the order, as cited in refusals
	Until map[string]string // service code or alias → last day in force (YYYY-MM-DD, Asia/Almaty); "" open
}

// AdmitDelivery checks a DeliveryRequested, the start of a pilot delivery, against the scope:
// a request for a service the pilot does not cover, or made after its last day, is refused
// (422) naming the order and the code or the date. Only the start is checked: documents
// already in the ledger finish their journey after the end date.
func (p Pilot) AdmitDelivery(e Event) error {
	d, ok := e.Payload.(*DeliveryRequestedData)
	if !ok || d == nil {
		return nil
	}
	refuse := func(format string, args ...any) error {
		return &TransitionError{State: StatusNew, Event: DeliveryRequested, Reason: fmt.Sprintf(format, args...)}
	}
	until, covered := p.Until[d.ServiceCode]
	if !covered {
		codes := make([]string, 0, len(p.Until))
		for c := range p.Until {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		return refuse("service %q is not covered by %s (order p.6); it covers %s", d.ServiceCode, p.Order, strings.Join(codes, ", "))
	}
	if until == "" {
		return nil
	}
	last, err := time.ParseInLocation(time.DateOnly, until, Almaty)
	if err != nil {
		return fmt.Errorf("domain: pilot %s: last day %q: %w", p.Order, until, err)
	}
	if !e.OccurredAt.Before(last.AddDate(0, 0, 1)) {
		return refuse("%s is in force until %s (order p.6): a delivery requested on %s is outside the pilot",
			p.Order, last.Format("02.01.2006"), e.OccurredAt.In(Almaty).Format("02.01.2006"))
	}
	return nil
}
