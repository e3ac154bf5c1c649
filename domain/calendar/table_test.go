package calendar

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTablesEqualTheWalk: over every day the calendar holds, and the days around them,
// counting working days from the tables gives what the day-by-day walk gives, errors
// included, for the embedded calendar and for one with a year missing in the middle.
func TestTablesEqualTheWalk(t *testing.T) {
	gapped, err := New(mustYear(t, Default(), 2025), mustYear(t, Default(), 2027))
	require.NoError(t, err)
	require.Len(t, gapped.runs, 2)
	for _, c := range []struct {
		name string
		cal  *Calendar
	}{{"default", Default()}, {"gapped", gapped}} {
		t.Run(c.name, func(t *testing.T) {
			ys := c.cal.Years()
			require.NotEmpty(t, c.cal.runs)
			from := time.Date(ys[0]-1, 12, 1, 0, 0, 0, 0, Almaty)
			to := time.Date(ys[len(ys)-1]+1, 2, 1, 0, 0, 0, 0, Almaty)
			checked := 0
			for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
				for _, at := range []time.Time{d, d.Add(12 * time.Hour), d.Add(24*time.Hour - time.Minute), d.UTC()} {
					for _, n := range []int{1, 2, 3, 5, 10, 20, 60, 250, 300} {
						got, gotErr := c.cal.AddWorkingDays(at, n)
						want, wantErr := c.cal.addWorkingDaysWalk(at, n)
						if wantErr != nil {
							require.EqualError(t, gotErr, wantErr.Error(), "%s + %d", at, n)
							continue
						}
						require.NoError(t, gotErr, "%s + %d", at, n)
						require.True(t, want.Equal(got), "%s + %d working days: tables %s, walk %s", at, n, got, want)
						require.Equal(t, want.Location(), got.Location())
						checked++
					}
					got, gotErr := c.cal.NextWorkingDayAt(at, 12)
					wd, wantErr := c.cal.nextWorking(civilOf(at))
					if wantErr != nil {
						require.EqualError(t, gotErr, wantErr.Error(), "%s", at)
						continue
					}
					require.NoError(t, gotErr)
					require.True(t, wd.midnight().Add(12*time.Hour).Equal(got), "next working day after %s", at)
				}
			}
			require.Greater(t, checked, 10000)
		})
	}
}

// TestDayNumbers: dayNumber and civilOfDay agree with the time package over two centuries.
func TestDayNumbers(t *testing.T) {
	for d := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2150; d = d.AddDate(0, 0, 1) {
		c := civil{d.Year(), d.Month(), d.Day()}
		n := dayNumber(c)
		require.Equal(t, int(d.Unix()/86400), n, "%s", d)
		require.Equal(t, c, civilOfDay(n))
	}
}

func mustYear(t *testing.T, c *Calendar, y int) YearFile {
	t.Helper()
	f, ok := c.Year(y)
	require.True(t, ok, "year %d", y)
	return f
}
