package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// The demo's month of A1–A3 applications (seed 003) has every kind of case the reports show:
// refusals at the ЦОН, extensions told and untold, late steps, and applications still running.
func TestDemoApplications(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 15, 18, 0, 0, 0, domain.Almaty)
	m := memory.New()
	svc := commands.New(m, commands.WithClock(func() time.Time { return now }))
	sum, err := demo.Generate(ctx, svc, demo.Options{Documents: 12, PerDay: 12, Now: now, Applications: 48})
	require.NoError(t, err)
	assert.Greater(t, sum.Applications, 40, "about a month of applications, the last ones after now")
	assert.Positive(t, sum.RefusedAtIntake)
	assert.Positive(t, sum.Extended)

	recs, err := m.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	streams := map[string][]domain.Event{}
	for _, r := range recs {
		if len(r.StreamID) > len(domain.ApplicationPrefix) && r.StreamID[:len(domain.ApplicationPrefix)] == domain.ApplicationPrefix {
			e, err := domain.Decode(r.Data)
			require.NoError(t, err)
			streams[r.StreamID] = append(streams[r.StreamID], e)
		}
	}
	require.Equal(t, sum.Applications, len(streams))
	late, running, states := map[deadline.RuleID]int{}, 0, map[domain.Status]int{}
	for _, evs := range streams {
		states[domain.FoldApplication(evs[0].DocumentID, evs).Status]++
		for _, c := range services.Clocks(evs, services.Env{}) {
			if c.Late() || (!c.Stopped && now.After(c.Adjusted)) {
				late[c.Rule]++
			}
			if !c.Stopped {
				running++
			}
		}
	}
	for _, rule := range []deadline.RuleID{services.GKForward, "resolution", "review", services.ExtensionNotice} {
		assert.Positive(t, late[rule], "some applications are late at %s", rule)
	}
	assert.Positive(t, running, "the last applications are still running")
	for _, s := range []domain.Status{domain.AppRefusedAtIntake, domain.AppResultIssued, domain.AppDelivered, domain.AppInReview} {
		assert.Positive(t, states[s], "an application ends in %s", s)
	}
}
