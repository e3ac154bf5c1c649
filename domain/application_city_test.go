package domain

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// P.37: a regional force-majeure period covers the applications filed in its region, so an
// application carries the city of the ЦОН or office it was filed at, set once.
func TestP37ApplicationCarriesItsCity(t *testing.T) {
	id := uuid.New()
	ev := func(n int, a Actor, p Payload) Event {
		return Event{ID: uuid.New(), DocumentID: id, Type: p.EventType(), OccurredAt: appStart.Add(time.Duration(n) * time.Hour), Actor: a, Payload: p}
	}
	accepted := ev(0, gkActor, &ApplicationAcceptedData{Transfer: Transfer{To: hCON}, ReceiptNo: "R-1", ServiceCode: "restoration",
		Applicant: applicant, City: "Almaty"})
	forwarded := ev(1, gkActor, &ApplicationForwardedData{Transfer{From: hCON, To: hOffice}})
	a := FoldApplication(id, []Event{accepted, forwarded})
	assert.Equal(t, "Almaty", a.City, "the ЦОН's city")

	for _, tc := range []struct {
		name string
		city string
		ok   bool
	}{
		{"the provider registers it without naming a city", "", true},
		{"or naming the same one", "Almaty", true},
		{"another city is refused: the region does not change", "Astana", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := ev(2, rags(RoleRAGSOffice, "clerk-1"), &ApplicationRegisteredData{RegistrationNo: "REG-1", City: tc.city})
			err := DecideApplication(a, reg.Actor, reg, reg.OccurredAt, testServices)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, "Almaty", EvolveApplication(a, reg).City)
				return
			}
			var v *ValidationError
			require.True(t, errors.As(err, &v), "%v", err)
			assert.Equal(t, "city", v.Field)
		})
	}

	// An application filed without a city learns it from its registration at the office.
	old := FoldApplication(id, []Event{ev(0, gkActor, &ApplicationAcceptedData{Transfer: Transfer{To: hCON}, ReceiptNo: "R-1",
		ServiceCode: "restoration", Applicant: applicant}), forwarded})
	assert.Empty(t, old.City)
	reg := ev(2, rags(RoleRAGSOffice, "clerk-1"), &ApplicationRegisteredData{RegistrationNo: "REG-1", City: "Almaty"})
	require.NoError(t, DecideApplication(old, reg.Actor, reg, reg.OccurredAt, testServices))
	assert.Equal(t, "Almaty", EvolveApplication(old, reg).City)

	long := &ApplicationRegisteredData{RegistrationNo: "REG-1", City: strings.Repeat("x", 101)}
	var v *ValidationError
	require.True(t, errors.As(long.Validate(), &v))
	assert.Equal(t, "city", v.Field)
}
