package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain/calendar"
)

// TestPlausibleTimes: the bounds of issue 10 §2, each refusal naming its field.
func TestPlausibleTimes(t *testing.T) {
	notice := time.Date(2026, 3, 26, 9, 0, 0, 0, Almaty)
	ev := func(at time.Time, p Payload) Event {
		return Event{ID: uuid.New(), DocumentID: uuid.New(), Type: p.EventType(), OccurredAt: at, Payload: p}
	}
	delay := func(newDate time.Time) Payload { return &DeliveryDelayedData{NewDate: newDate} }
	fm := func(from, to time.Time) Payload {
		return &ForceMajeureDeclaredData{From: from, To: to, NotifyingOrg: OrgGK, Description: "snow"}
	}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		e     Event
		field string // "" accepted
	}{
		{"occurred_at on the epoch", ev(Epoch, delay(Epoch.Add(day))), ""},
		{"occurred_at 1970-01-01 before the epoch", ev(time.Unix(0, 0), delay(notice)), "occurred_at"},
		{"occurred_at 1900-01-01 before the epoch", ev(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), delay(notice)), "occurred_at"},
		{"occurred_at in a year the calendar lacks", ev(time.Date(2100, 1, 5, 0, 0, 0, 0, Almaty), delay(notice)), "occurred_at"},
		{"P.27 new date 90 days after the notice", ev(notice, delay(notice.Add(MaxDelay))), ""},
		{"P.27 new date beyond 90 days", ev(notice, delay(notice.Add(MaxDelay+time.Minute))), "data.new_date"},
		{"P.27 new date in 2100", ev(notice, delay(time.Date(2100, 1, 1, 0, 0, 0, 0, Almaty))), "data.new_date"},
		{"P.27 new date 9999-12-31", ev(notice, delay(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))), "data.new_date"},
		{"P.37 period of 366 days", ev(notice, fm(notice, notice.Add(MaxForceMajeure))), ""},
		{"P.37 period longer than 366 days", ev(notice, fm(notice, notice.Add(MaxForceMajeure+time.Second))), "to"},
		{"P.37 period to 9999", ev(notice, fm(notice, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))), "to"},
		{"P.38 from 30 days before the notice", ev(notice, fm(notice.Add(-ForceMajeureLookback), notice)), ""},
		{"P.38 from more than 30 days before the notice", ev(notice, fm(notice.Add(-ForceMajeureLookback-time.Second), notice)), "from"},
		{"P.38 from 0001-01-01", ev(notice, fm(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), notice)), "from"},
		{"P.37 a period in a year the calendar lacks", ev(time.Date(2027, 12, 30, 9, 0, 0, 0, Almaty),
			fm(time.Date(2027, 12, 30, 9, 0, 0, 0, Almaty), time.Date(2028, 1, 2, 0, 0, 0, 0, Almaty))), "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := plausible(tc.e, calendar.Default())
			if tc.field == "" {
				assert.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
		})
	}
}
