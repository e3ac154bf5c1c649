package calendar

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, Almaty)
}

func day(y int, m time.Month, d int) time.Time { return at(y, m, d, 0, 0) }

// must turns a (time, error) result into the time, failing the test on an error.
func must(t *testing.T) func(time.Time, error) time.Time {
	return func(got time.Time, err error) time.Time {
		t.Helper()
		require.NoError(t, err)
		return got
	}
}

func wantTime(t *testing.T, got, want time.Time) {
	t.Helper()
	assert.Truef(t, got.Equal(want), "got %s, want %s", got.In(Almaty).Format(time.RFC3339), want.Format(time.RFC3339))
}

func TestAlmatyIsUTCPlus5(t *testing.T) {
	// Kazakhstan moved to a single zone UTC+5 on 1 March 2024; the embedded tzdata must know it.
	for _, d := range []time.Time{day(2025, 1, 15), day(2026, 7, 1), day(2027, 12, 31)} {
		_, off := d.Zone()
		assert.Equal(t, 5*3600, off, d.Format(time.DateOnly))
	}
}

func TestDefaultHoldsThreeYears(t *testing.T) {
	got := Default().Years()
	require.Equal(t, []int{2025, 2026, 2027}, got)
	for _, y := range got {
		f, ok := Default().Year(y)
		assert.True(t, ok)
		assert.NotEmpty(t, f.Source, y)
	}
	_, ok := Default().Year(2024)
	assert.False(t, ok, "2024 should be unknown")
}

// The 2026 days off as published with the 2026 production calendar.
func TestIsWorkingDay2026DaysOff(t *testing.T) {
	cases := []struct {
		name string
		date time.Time
	}{
		{"New Year day 1", day(2026, 1, 1)},
		{"New Year day 2", day(2026, 1, 2)},
		{"Orthodox Christmas, religious, not moved", day(2026, 1, 7)},
		{"Mar 9 for Mar 8 (Sunday)", day(2026, 3, 9)},
		{"Nauryz day 3 (Monday)", day(2026, 3, 23)},
		{"Mar 24 for Nauryz Mar 21 (Saturday)", day(2026, 3, 24)},
		{"Mar 25 for Nauryz Mar 22 (Sunday)", day(2026, 3, 25)},
		{"Unity Day", day(2026, 5, 1)},
		{"Defender of the Fatherland Day", day(2026, 5, 7)},
		{"May 11 for Victory Day (Saturday)", day(2026, 5, 11)},
		{"Kurban Ait first day", day(2026, 5, 27)},
		{"Capital Day", day(2026, 7, 6)},
		{"Aug 31 for Constitution Day (Sunday)", day(2026, 8, 31)},
		{"Oct 26 for Republic Day (Sunday)", day(2026, 10, 26)},
		{"Independence Day", day(2026, 12, 16)},
		{"a Saturday", day(2026, 3, 21)},
		{"a Sunday", day(2026, 3, 22)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range []int{0, 12, 23} {
				ok, err := Default().IsWorkingDay(tc.date.Add(time.Duration(h) * time.Hour))
				require.NoError(t, err)
				assert.Falsef(t, ok, "%s %02d:00 should be a day off", tc.date.Format(time.DateOnly), h)
			}
		})
	}
}

func TestIsWorkingDay2026Count(t *testing.T) {
	// The production calendar 2026 counts 246 working days for a five-day week.
	n := 0
	for d := day(2026, 1, 1); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		ok, err := Default().IsWorkingDay(d)
		require.NoError(t, err)
		if ok {
			n++
		}
	}
	assert.Equal(t, 246, n)
}

func TestIsWorkingDayOtherYears(t *testing.T) {
	cases := []struct {
		name    string
		date    time.Time
		working bool
	}{
		{"2025 Jan 3 off by Ministry of Labour order", day(2025, 1, 3), false},
		{"2025 Sunday Jan 5 worked instead", day(2025, 1, 5), true},
		{"2025 Mar 10 for Mar 8 (Saturday)", day(2025, 3, 10), false},
		{"2025 Kurban Ait Jun 6", day(2025, 6, 6), false},
		{"2025 Jul 7 for Capital Day (Sunday)", day(2025, 7, 7), false},
		{"2025 Sep 1 for Constitution Day (Saturday)", day(2025, 9, 1), false},
		{"2025 Oct 27 for Republic Day (Saturday)", day(2025, 10, 27), false},
		{"2025 Dec 31 a plain Wednesday", day(2025, 12, 31), true},
		{"2027 Jan 4 for Jan 2 (Saturday)", day(2027, 1, 4), false},
		{"2027 Mar 24 for Nauryz Mar 21 (Sunday)", day(2027, 3, 24), false},
		{"2027 May 3 for May 1 (Saturday)", day(2027, 5, 3), false},
		{"2027 May 10 for May 9 (Sunday)", day(2027, 5, 10), false},
		{"2027 May 17 after Kurban Ait on a Sunday: religious days are not moved", day(2027, 5, 17), true},
		{"2027 Oct 25 Republic Day (Monday)", day(2027, 10, 25), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Default().IsWorkingDay(tc.date)
			require.NoError(t, err)
			assert.Equal(t, tc.working, ok)
		})
	}
}

func TestUnknownYearIsAnError(t *testing.T) {
	c := Default()
	_, err := c.IsWorkingDay(day(2028, 1, 5))
	assert.ErrorIs(t, err, ErrUnknownYear, "IsWorkingDay 2028")
	_, err = c.NextWorkingDayAt(at(2027, 12, 31, 10, 0), 12)
	assert.ErrorIs(t, err, ErrUnknownYear, "NextWorkingDayAt past 2027")
	_, err = c.AddWorkingDays(at(2027, 12, 29, 10, 0), 3)
	assert.ErrorIs(t, err, ErrUnknownYear, "AddWorkingDays past 2027")
	_, err = c.WorkingDaysAfter(at(2024, 12, 30, 10, 0), 1)
	assert.ErrorIs(t, err, ErrUnknownYear, "WorkingDaysAfter in 2024")
}

func TestNextWorkingDayAt(t *testing.T) {
	cases := []struct {
		name string
		from time.Time
		hour int
		want time.Time
	}{
		{"P.17 registry handed Friday before Nauryz", at(2026, 3, 20, 16, 30), 12, at(2026, 3, 26, 12, 0)},
		{"P.17 handed Tuesday: Wednesday noon", at(2026, 2, 10, 9, 0), 12, at(2026, 2, 11, 12, 0)},
		{"P.10 order Thursday night before New Year's Friday", at(2026, 12, 31, 23, 59), 13, at(2027, 1, 5, 13, 0)},
		{"P.10 order Tuesday before Orthodox Christmas", at(2026, 1, 6, 10, 0), 13, at(2026, 1, 8, 13, 0)},
		{"P.17 handed Friday before Women's Day moved to Monday", at(2026, 3, 6, 17, 0), 12, at(2026, 3, 10, 12, 0)},
		{"P.17 handed Thursday Apr 30 before Unity Day", at(2026, 4, 30, 17, 0), 12, at(2026, 5, 4, 12, 0)},
		{"P.17 handed Wednesday May 6 before Defender Day", at(2026, 5, 6, 17, 0), 12, at(2026, 5, 8, 12, 0)},
		{"P.17 handed Friday May 8 before Victory Day moved to Monday", at(2026, 5, 8, 17, 0), 12, at(2026, 5, 12, 12, 0)},
		{"P.33 registry Tuesday before Kurban Ait", at(2026, 5, 26, 9, 0), 12, at(2026, 5, 28, 12, 0)},
		{"P.33 registry Friday before Capital Day", at(2026, 7, 3, 9, 0), 12, at(2026, 7, 7, 12, 0)},
		{"P.33 registry Friday before Constitution Day moved", at(2026, 8, 28, 9, 0), 12, at(2026, 9, 1, 12, 0)},
		{"P.33 registry Friday before Republic Day moved", at(2026, 10, 23, 9, 0), 12, at(2026, 10, 27, 12, 0)},
		{"P.33 registry Tuesday before Independence Day", at(2026, 12, 15, 9, 0), 12, at(2026, 12, 17, 12, 0)},
		{"P.17 handed on the holiday itself (Nauryz Monday)", at(2026, 3, 23, 9, 0), 12, at(2026, 3, 26, 12, 0)},
		{"P.10 a UTC instant is read in Almaty (19:30Z Monday = 00:30 Tuesday)", time.Date(2026, 2, 9, 19, 30, 0, 0, time.UTC), 13, at(2026, 2, 11, 13, 0)},
		{"2025 Jan 2: next working day is Sunday Jan 5 (worked by order)", at(2025, 1, 2, 12, 0), 12, at(2025, 1, 5, 12, 0)},
		{"hour 24 is the end of that day", at(2026, 2, 10, 9, 0), 24, at(2026, 2, 12, 0, 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantTime(t, must(t)(Default().NextWorkingDayAt(tc.from, tc.hour)), tc.want)
		})
	}
	_, err := Default().NextWorkingDayAt(at(2026, 1, 5, 0, 0), 25)
	assert.Error(t, err, "hour 25")
}

func TestAddWorkingDays(t *testing.T) {
	cases := []struct {
		name string
		from time.Time
		n    int
		want time.Time // 24:00 of the last day = 00:00 of the next
	}{
		{"P.11 accepted Monday: ends 24:00 Thursday", at(2026, 2, 9, 10, 0), 3, day(2026, 2, 13)},
		{"P.11 accepted Friday: weekend not counted", at(2026, 2, 13, 10, 0), 3, day(2026, 2, 19)},
		{"P.11 accepted Friday before Nauryz", at(2026, 3, 20, 10, 0), 3, day(2026, 3, 31)},
		{"P.11 accepted Wednesday before Orthodox Christmas", at(2025, 12, 31, 10, 0), 3, day(2026, 1, 9)},
		{"P.11 accepted Thursday Apr 30 across May holidays", at(2026, 4, 30, 10, 0), 3, day(2026, 5, 7)},
		{"P.26 cancelled Tuesday before Kurban Ait", at(2026, 5, 26, 10, 0), 3, day(2026, 6, 2)},
		{"P.30 storage ended Sunday: 1 working day is Monday", at(2026, 2, 15, 14, 0), 1, day(2026, 2, 17)},
		{"P.30 storage ended Friday before Capital Day", at(2026, 7, 3, 14, 0), 1, day(2026, 7, 8)},
		{"P.30 storage ended Saturday before Constitution Day moved", at(2026, 8, 29, 14, 0), 1, day(2026, 9, 2)},
		{"P.30 storage ended Saturday before Republic Day moved", at(2026, 10, 24, 14, 0), 1, day(2026, 10, 28)},
		{"P.30 storage ended on Independence Day", at(2026, 12, 16, 14, 0), 1, day(2026, 12, 18)},
		{"P.38 onset Friday Mar 6 2026, 3 working days past Mar 9", at(2026, 3, 6, 8, 0), 3, day(2026, 3, 13)},
		{"A3 §9 3 working days into 2027 across New Year moved day", at(2026, 12, 30, 10, 0), 3, day(2027, 1, 7)},
		{"2025 Jan 2: Sunday Jan 5 counts", at(2025, 1, 2, 10, 0), 1, day(2025, 1, 6)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantTime(t, must(t)(Default().AddWorkingDays(tc.from, tc.n)), tc.want)
		})
	}
	_, err := Default().AddWorkingDays(at(2026, 1, 5, 0, 0), 0)
	assert.Error(t, err, "0 working days")
}

func TestWorkingDaysAfter(t *testing.T) {
	// P.11 accepted Friday before Nauryz: the three working days counted.
	got, err := Default().WorkingDaysAfter(at(2026, 3, 20, 10, 0), 3)
	require.NoError(t, err)
	want := []time.Time{day(2026, 3, 26), day(2026, 3, 27), day(2026, 3, 30)}
	require.Len(t, got, len(want))
	for i := range want {
		wantTime(t, got[i], want[i])
	}
}

func TestAddCalendarDays(t *testing.T) {
	// P.21, P.29: three calendar days from the moment of placing: exactly 72 hours.
	from := at(2026, 3, 20, 15, 47)
	wantTime(t, AddCalendarDays(from, 3), at(2026, 3, 23, 15, 47))
	assert.Equal(t, 72*time.Hour, AddCalendarDays(from, 3).Sub(from), "P.29 storage")
}

func TestAddMonth(t *testing.T) {
	cases := []struct {
		name string
		from time.Time
		want time.Time
	}{
		{"P.35 Jan 31 -> 24:00 Feb 28", at(2026, 1, 31, 11, 0), day(2026, 3, 1)},
		{"P.35 Jan 31 2027 -> 24:00 Feb 28", at(2027, 1, 31, 11, 0), day(2027, 3, 1)},
		{"P.35 Jan 30 -> 24:00 Feb 28", at(2026, 1, 30, 11, 0), day(2026, 3, 1)},
		{"P.35 Jan 15 -> 24:00 Feb 15", at(2026, 1, 15, 11, 0), day(2026, 2, 16)},
		{"P.35 Mar 31 -> 24:00 Apr 30", at(2026, 3, 31, 23, 0), day(2026, 5, 1)},
		{"P.35 Dec 31 -> 24:00 Jan 31 next year", at(2026, 12, 31, 9, 0), day(2027, 2, 1)},
		{"P.35 Apr 30 -> 24:00 May 30", at(2026, 4, 30, 9, 0), day(2026, 5, 31)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantTime(t, AddMonth(tc.from), tc.want) })
	}
	wantTime(t, AddMonths(at(2024, 1, 31, 9, 0), 1), day(2024, 3, 1)) // leap year: Feb 29
	wantTime(t, EndOfDay(at(2026, 5, 5, 9, 0)), day(2026, 5, 6))
}

func TestTerm(t *testing.T) {
	c := Default()
	from := at(2026, 3, 20, 10, 0)
	cases := []struct {
		term Term
		want time.Time
		text string
	}{
		{Term{N: 20, Unit: Minutes}, at(2026, 3, 20, 10, 20), "20 minutes"},
		{Term{N: 1, Unit: Hours}, at(2026, 3, 20, 11, 0), "1 hour"},
		{Term{N: 3, Unit: CalendarDays}, at(2026, 3, 23, 10, 0), "3 calendar days"},
		{Term{N: 3, Unit: WorkingDays}, day(2026, 3, 31), "3 working days"},
		{Term{N: 1, Unit: Months}, day(2026, 4, 21), "1 month"},
		{Term{Unit: NextWorkingDayAt, Hour: 12}, at(2026, 3, 26, 12, 0), "12:00 next working day"},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			wantTime(t, must(t)(c.Deadline(from, tc.term)), tc.want)
			assert.Equal(t, tc.text, tc.term.String())
		})
	}
	bad := []Term{{N: 0, Unit: WorkingDays}, {N: 1, Unit: Hours, Hour: 3}, {N: 2, Unit: NextWorkingDayAt, Hour: 12},
		{Unit: NextWorkingDayAt, Hour: 30}, {N: 1, Unit: "fortnights"}}
	for _, b := range bad {
		assert.Error(t, b.Validate(), "%+v", b)
		_, err := c.Deadline(from, b)
		assert.Error(t, err, "%+v", b)
	}
}

const override2026 = `{
  "year": 2026,
  "source": "test: a decree moving Friday 2026-01-09 off and working Saturday 2026-01-10",
  "days_off": [
    {"date": "2026-01-01", "kind": "holiday", "note": "New Year"},
    {"date": "2026-01-02", "kind": "holiday", "note": "New Year"},
    {"date": "2026-01-07", "kind": "holiday", "note": "Christmas"},
    {"date": "2026-01-09", "kind": "decree", "note": "moved from Saturday 2026-01-10"}
  ],
  "working_days": [
    {"date": "2026-01-10", "kind": "workday", "note": "worked for Friday 2026-01-09"}
  ]
}`

func TestLoadOverrideReplacesAYear(t *testing.T) {
	fsys := fstest.MapFS{"2026.json": {Data: []byte(override2026)}, "2028.json": {Data: []byte(
		`{"year": 2028, "source": "test", "days_off": [{"date": "2028-01-03", "note": "test"}]}`)}}
	c, err := Default().Load(fsys)
	require.NoError(t, err)
	assert.Equal(t, []int{2025, 2026, 2027, 2028}, c.Years())
	check := func(c *Calendar, d time.Time, want bool) {
		t.Helper()
		ok, err := c.IsWorkingDay(d)
		require.NoError(t, err)
		assert.Equal(t, want, ok, d.Format(time.DateOnly))
	}
	check(c, day(2026, 1, 9), false)        // extra day off
	check(c, day(2026, 1, 10), true)        // working Saturday
	check(c, day(2026, 3, 9), true)         // the override replaced the whole year
	check(c, day(2028, 1, 3), false)        // added year
	check(Default(), day(2026, 1, 9), true) // Default is untouched
	check(Default(), day(2026, 3, 9), false)
	// A working Saturday is a next working day.
	wantTime(t, must(t)(c.NextWorkingDayAt(at(2026, 1, 8, 18, 0), 12)), at(2026, 1, 10, 12, 0))
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "2026.json")
	require.NoError(t, os.WriteFile(p, []byte(override2026), 0o600))
	c, err := Default().LoadFile(p)
	require.NoError(t, err)
	ok, err := c.IsWorkingDay(day(2026, 1, 10))
	require.NoError(t, err)
	assert.True(t, ok, "working Saturday loaded")
	c2, err := Default().Load(os.DirFS(dir))
	require.NoError(t, err)
	ok, err = c2.IsWorkingDay(day(2026, 1, 9))
	require.NoError(t, err)
	assert.False(t, ok, "decree day off loaded from a directory")
	_, err = Default().LoadFile(filepath.Join(dir, "missing.json"))
	assert.Error(t, err, "missing file")
	require.NoError(t, os.WriteFile(p, []byte(`{"year": 2026}`), 0o600))
	_, err = Default().LoadFile(p)
	assert.ErrorContains(t, err, "source is required")
}

func TestLoadRejectsBadData(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"not JSON", `{`, "unexpected EOF"},
		{"unknown field", `{"year": 2026, "source": "s", "holidays": []}`, "unknown field"},
		{"year out of range", `{"year": 1999, "source": "s"}`, "out of range"},
		{"no source", `{"year": 2026}`, "source is required"},
		{"bad date", `{"year": 2026, "source": "s", "days_off": [{"date": "2026-13-01", "note": "n"}]}`, "date"},
		{"date in another year", `{"year": 2026, "source": "s", "days_off": [{"date": "2027-01-01", "note": "n"}]}`, "another year"},
		{"no note", `{"year": 2026, "source": "s", "days_off": [{"date": "2026-01-01"}]}`, "no note"},
		{"listed twice", `{"year": 2026, "source": "s", "days_off": [{"date": "2026-01-01", "note": "n"}, {"date": "2026-01-01", "note": "n"}]}`, "twice"},
		{"off and working", `{"year": 2026, "source": "s", "days_off": [{"date": "2026-01-03", "note": "n"}], "working_days": [{"date": "2026-01-03", "note": "n"}]}`, "twice"},
		{"working Monday", `{"year": 2026, "source": "s", "working_days": [{"date": "2026-01-05", "note": "n"}]}`, "not a weekend day"},
		{"bad kind", `{"year": 2026, "source": "s", "days_off": [{"date": "2026-01-05", "kind": "workday", "note": "n"}]}`, "not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Default().Load(fstest.MapFS{"data/x.json": {Data: []byte(tc.data)}})
			assert.ErrorContains(t, err, tc.want)
		})
	}
	_, err := Default().Load(fstest.MapFS{})
	assert.Error(t, err, "empty directory")
	assert.NoError(t, YearFile{Year: 2026, Source: "s"}.Validate(), "minimal year")
	_, err = New(YearFile{Year: 3000})
	assert.Error(t, err, "year 3000")
}

func TestEmbeddedFilesParse(t *testing.T) {
	for _, y := range []string{"2025", "2026", "2027"} {
		data, err := embedded.ReadFile("data/" + y + ".json")
		require.NoError(t, err)
		f, err := ParseYear(data)
		require.NoError(t, err, y)
		for _, d := range append(f.DaysOff, f.WorkingDays...) {
			assert.NotEmpty(t, d.Source, d.Date)
			assert.NotEmpty(t, d.Kind, d.Date)
		}
	}
}
