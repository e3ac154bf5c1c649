package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/projections/query"
)

// storeApplications reads every application stream of a store, events in stream order.
func storeApplications(t *testing.T, store string) map[uuid.UUID][]domain.Event {
	t.Helper()
	b, err := openBackend(t.Context(), store, "")
	require.NoError(t, err)
	defer b.Close()
	out := map[uuid.UUID][]domain.Event{}
	for after := uint64(0); ; {
		recs, err := b.events.ReadAll(t.Context(), after, 1000)
		require.NoError(t, err)
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			after = r.Position
			if !strings.HasPrefix(r.StreamID, domain.ApplicationPrefix) {
				continue
			}
			e, err := domain.Decode(r.Data)
			require.NoError(t, err)
			out[e.DocumentID] = append(out[e.DocumentID], e)
		}
	}
}

// An operator's calendar (--calendar / CUSTODY_CALENDAR) reaches every command that decides
// events or computes deadlines, not only serve (issue 10): the demo plans its applications'
// working days by it, and rebuild computes the clocks with it.
func TestDeadlineFlagsReachRebuildAndDemo(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	run := func(cmd func(context.Context, []string, io.Writer) error, args ...string) {
		t.Helper()
		require.NoError(t, cmd(ctx, args, io.Discard), "%v", args)
	}
	rebuild := func(ctx context.Context, args []string, out io.Writer) error {
		return cmdRebuild(ctx, args, out, slog.New(slog.DiscardHandler))
	}

	// The day the embedded calendar's demo times most application events on becomes a day off.
	plain := "sqlite:" + filepath.Join(dir, "plain.db")
	run(cmdDemo, "--store", plain, "--documents", "20")
	perDay := map[string]int{}
	for _, evs := range storeApplications(t, plain) {
		for _, e := range evs {
			perDay[e.OccurredAt.In(domain.Almaty).Format(time.DateOnly)]++
		}
	}
	dayOff := ""
	for d, n := range perDay {
		if dayOff == "" || n > perDay[dayOff] || (n == perDay[dayOff] && d < dayOff) {
			dayOff = d
		}
	}
	require.NotEmpty(t, dayOff, "the demo records applications")
	off, err := calendar.ParseDate(dayOff)
	require.NoError(t, err)
	yf, ok := calendar.Default().Year(off.Year())
	require.True(t, ok)
	yf.DaysOff = append(yf.DaysOff, calendar.Day{Date: dayOff, Kind: calendar.Operator, Note: "test: a decree's day off"})
	data, err := json.Marshal(yf)
	require.NoError(t, err)
	calFile := filepath.Join(dir, "calendar.json")
	require.NoError(t, os.WriteFile(calFile, data, 0o600))
	cal, err := calendar.Default().LoadFile(calFile)
	require.NoError(t, err)

	// demo: by the environment variable, as an operator sets it for every command.
	t.Setenv("CUSTODY_CALENDAR", calFile)
	store := "sqlite:" + filepath.Join(dir, "custody.db")
	run(cmdDemo, "--store", store, "--documents", "20")
	apps := storeApplications(t, store)
	require.NotEmpty(t, apps)
	for _, evs := range apps {
		for _, e := range evs {
			assert.NotEqual(t, dayOff, e.OccurredAt.In(domain.Almaty).Format(time.DateOnly),
				"%s of %s planned on the operator's day off", e.Type, e.DocumentID)
		}
	}

	// rebuild: by the flags, the office hours too. Every clock of the rebuilt read models is
	// the overrides', and some differ from the embedded data's (those running over the day off,
	// the office's minute and hour terms).
	hoursFile := filepath.Join(dir, "hours.json")
	require.NoError(t, os.WriteFile(hoursFile, []byte(`{"default": {"open": "09:00", "close": "18:00"},
	  "units": {"RAGS-ALA-01": {"open": "10:00", "close": "13:00"}}}`), 0o600))
	hours, err := services.LoadOfficeHours(hoursFile)
	require.NoError(t, err)
	run(rebuild, "--store", store, "--calendar", calFile, "--office-hours", hoursFile)
	b, err := openBackend(ctx, store, "")
	require.NoError(t, err)
	defer b.Close()
	p, err := openProjections(ctx, b, commands.New(b.events, commands.WithCalendar(cal), commands.WithOfficeHours(hours)), "",
		slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	moved, shorter := 0, 0
	for id, evs := range apps {
		withDefault, byCalendar := map[string]time.Time{}, map[string]time.Time{}
		for _, c := range services.Clocks(evs, services.Env{}) {
			withDefault[string(c.Rule)+"/"+c.StartEvent.String()] = c.Deadline
		}
		for _, c := range services.Clocks(evs, services.Env{Calendar: cal}) {
			byCalendar[string(c.Rule)+"/"+c.StartEvent.String()] = c.Deadline
		}
		for _, c := range services.Clocks(evs, services.Env{Calendar: cal, Hours: hours}) {
			if c.Stopped && !c.StoppedAt.After(c.Start) {
				continue // never running at any moment the read model can be asked about
			}
			got, err := p.Queries().ActiveDeadlines(ctx, id, c.Start)
			require.NoError(t, err)
			k := string(c.Rule) + "/" + c.StartEvent.String()
			i := slices.IndexFunc(got, func(d query.ActiveDeadline) bool { return d.Rule == c.Rule && d.StartEvent == c.StartEvent })
			require.GreaterOrEqual(t, i, 0, "%s of application %s in the rebuilt read models", k, id)
			assert.True(t, c.Deadline.Equal(got[i].BaseDeadline), "%s: rebuilt %s, the override gives %s", k, got[i].BaseDeadline, c.Deadline)
			if !byCalendar[k].Equal(withDefault[k]) {
				moved++
			}
			if !c.Deadline.Equal(byCalendar[k]) {
				shorter++
			}
		}
	}
	assert.Positive(t, moved, "clocks running over the day off end later by the calendar")
	assert.Positive(t, shorter, "the office's minute and hour terms count in its own hours")

	for name, cmd := range map[string]func(context.Context, []string, io.Writer) error{"demo": cmdDemo, "rebuild": rebuild} {
		err := cmd(ctx, []string{"--store", store, "--calendar", filepath.Join(dir, "missing.json")}, io.Discard)
		assert.ErrorContains(t, err, "--calendar", name)
	}
}
