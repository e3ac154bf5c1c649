package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// missedOn sets the last event, a DeadlineMissed, to the given rule.
func missedOn(evs []Event, i int, rule, source string) {
	p := evs[i].Payload.(*DeadlineMissedData)
	p.Rule, p.Source, p.ChargedTo, p.Holder = rule, source, []Org{OrgGK}, hGKCour
}

func TestP10P17OneLateArrivalIsOneCharge(t *testing.T) {
	evs, _ := run(t, uuid.New(), cat(postomatToCell[:9], steps(time.Hour, DeadlineMissed, DeadlineMissed, AcceptedAtKaspiIntake)))
	missedOn(evs, 9, "intake_delivery", "P.17")
	missedOn(evs, 10, "order_to_intake", "P.10")
	charges := Liability(evs)
	require.Len(t, charges, 1, "P.10 and P.17 time one movement: one charge")
	c := charges[0]
	assert.Equal(t, OrgGK, c.Org)
	assert.Equal(t, ChargeDeadlineMissed, c.Kind)
	assert.Equal(t, "P.10, P.17", c.Source, "cites both points")
	assert.Equal(t, []uuid.UUID{evs[9].ID, evs[10].ID}, c.EventIDs)
	assert.Len(t, c.Reasons, 2)

	// A miss of another rule is still its own charge.
	evs, _ = run(t, uuid.New(), cat(postomatToCell[:10], steps(time.Hour, DeadlineMissed)))
	require.Len(t, Liability(evs), 1)
	assert.Equal(t, "P.11", Liability(evs)[0].Source)
}
