package model

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// TestIndexedEnvProjectsTheSame: every stream of a demo data set (documents and applications)
// projects to the same rows and messages with its env's force-majeure periods indexed by region
// as with the whole list, among periods of its own region, of another, of everywhere, and
// notified late; and a period that cannot be judged leaves the env unindexed.
func TestIndexedEnvProjectsTheSame(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 15, 18, 0, 0, 0, domain.Almaty)
	m := memory.New()
	svc := commands.New(m, commands.WithClock(func() time.Time { return now }))
	_, err := demo.Generate(ctx, svc, demo.Options{Documents: 60, Now: now})
	require.NoError(t, err)
	recs, err := m.ReadAll(ctx, 0, 0)
	require.NoError(t, err)

	streams := map[string][]Event{}
	var order []string
	var fms []deadline.ForceMajeure
	for _, r := range recs {
		e, err := domain.DecodeStored(r.Data)
		require.NoError(t, err)
		if f, ok := deadline.FromEvent(e); ok {
			fms = append(fms, f)
		}
		if _, ok := streams[r.StreamID]; !ok {
			order = append(order, r.StreamID)
		}
		streams[r.StreamID] = append(streams[r.StreamID], Event{Event: e, Position: r.Position, Version: r.Version, RecordedAt: r.RecordedAt})
	}
	// Periods of the demo's region, of another, of everywhere, and one notified late, over the
	// demo's weeks (besides any the demo declares).
	from := now.AddDate(0, 0, -20)
	fms = append(fms,
		deadline.ForceMajeure{ID: uuid.New(), From: from.Add(-24 * time.Hour), To: from.Add(12 * time.Hour), Region: demo.Almaty.Name, NotifyingOrg: domain.OrgGK, NotifiedAt: from},
		deadline.ForceMajeure{ID: uuid.New(), From: from.AddDate(0, 0, -9), To: from.AddDate(0, 0, -8), NotifyingOrg: domain.OrgKaspi, NotifiedAt: from.AddDate(0, 0, -9)},
		deadline.ForceMajeure{ID: uuid.New(), From: from, To: from.Add(30 * time.Hour), Region: "Shymkent", NotifyingOrg: domain.OrgKaspi, NotifiedAt: from},
		deadline.ForceMajeure{ID: uuid.New(), From: from.Add(-72 * time.Hour), To: from.Add(-60 * time.Hour), NotifyingOrg: domain.OrgGK, NotifiedAt: from.Add(-70 * time.Hour)},
		deadline.ForceMajeure{ID: uuid.New(), From: from.Add(48 * time.Hour), To: from.Add(60 * time.Hour), Region: demo.Almaty.Name,
			Orgs: []domain.Org{domain.OrgKaspi}, NotifyingOrg: domain.OrgKaspi, NotifiedAt: from.AddDate(0, 0, 10)})
	env := Env{Calendar: calendar.Default(), ForceMajeure: fms}
	indexed := env.Indexed()
	require.NotNil(t, indexed.byRegion)

	moved, apps := 0, 0
	for _, s := range order {
		evs := streams[s]
		var kind StreamKind
		switch {
		case strings.HasPrefix(s, domain.DocumentPrefix):
			kind = KindDocument
		case strings.HasPrefix(s, domain.ApplicationPrefix):
			kind, apps = KindApplication, apps+1
		default:
			continue
		}
		id := evs[0].DocumentID
		want, got := Project(kind, id, evs, env), Project(kind, id, evs, indexed)
		require.Equal(t, want, got, "stream %s", s)
		for _, r := range want.Rows[Clocks] {
			if r[Clocks.Col("force_majeure")] != "[]" {
				moved++
			}
		}
	}
	assert.Positive(t, moved, "some clocks are moved by force majeure")
	assert.Positive(t, apps, "the demo has applications")

	bad := Env{Calendar: calendar.Default(), ForceMajeure: append(fms[:1:1], deadline.ForceMajeure{ID: uuid.New(), From: from, To: from})}
	assert.Nil(t, bad.Indexed().byRegion, "a period that ends where it begins cannot be judged")
}
