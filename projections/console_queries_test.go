package projections_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// all pages through a list.
func all[T any](t *testing.T, page func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var out []T
	for cursor := ""; ; {
		items, next, err := page(cursor)
		require.NoError(t, err)
		out = append(out, items...)
		if cursor = next; cursor == "" {
			return out
		}
	}
}

// TestConsoleQueries checks the console's counts against the lists behind them, on the demo
// data set, on SQLite and PostgreSQL.
func TestConsoleQueries(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		ctx := context.Background()
		now := almaty(2026, 12, 7, 12, 0)
		b := mk(t)
		recs := demoLog(t, 120, now)
		load(t, b.store, recs)
		apps := map[string]bool{} // applications of seed 003 share the documents read model
		for _, r := range recs {
			if strings.HasPrefix(r.StreamID, domain.ApplicationPrefix) {
				apps[r.StreamID] = true
			}
		}
		p := open(t, b, nil, projections.Options{DisableDelivery: true})
		_, err := p.CatchUp(ctx)
		require.NoError(t, err)
		q := p.Queries().WithClock(func() time.Time { return now })

		o, err := q.Overview(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(120+len(apps)), o.Documents)
		var sum int64
		for _, c := range o.ByState {
			sum += c.N
			docs := all(t, func(cur string) ([]query.DocumentSummary, string, error) {
				l, err := q.Documents(ctx, query.DocumentFilter{State: c.Key, Page: query.Page{Cursor: cur, Limit: 7}})
				return l.Items, l.NextCursor, err
			})
			assert.Len(t, docs, int(c.N), "state %s: the count is the list behind it", c.Key)
		}
		assert.Equal(t, o.Documents, sum)
		require.NotEmpty(t, o.ByHolder)
		for _, c := range o.ByHolder {
			docs := all(t, func(cur string) ([]query.DocumentSummary, string, error) {
				l, err := q.Documents(ctx, query.DocumentFilter{HolderOrg: c.Key, Active: true, Page: query.Page{Cursor: cur}})
				return l.Items, l.NextCursor, err
			})
			assert.Len(t, docs, int(c.N), "holder %s", c.Key)
		}

		overdue := all(t, func(cur string) ([]query.Overdue, string, error) {
			l, err := q.Overdue(ctx, query.OverdueFilter{Page: query.Page{Cursor: cur, Limit: 5}})
			return l.Items, l.NextCursor, err
		})
		assert.Equal(t, int64(len(overdue)), o.Overdue)
		for _, c := range o.OverdueByRule {
			l, err := q.Overdue(ctx, query.OverdueFilter{Rule: c.Key, Page: query.Page{Limit: 1000}})
			require.NoError(t, err)
			assert.Len(t, l.Items, int(c.N), "rule %s", c.Key)
		}

		// Region: the overdue rows of the documents of one city.
		docs := all(t, func(cur string) ([]query.DocumentSummary, string, error) {
			l, err := q.Documents(ctx, query.DocumentFilter{Page: query.Page{Cursor: cur}})
			return l.Items, l.NextCursor, err
		})
		city := map[string]string{}
		for _, d := range docs {
			city[d.DocumentID.String()] = d.City
		}
		require.NotEmpty(t, overdue)
		region := city[overdue[0].DocumentID.String()]
		want := 0
		for _, x := range overdue {
			if city[x.DocumentID.String()] == region {
				want++
			}
		}
		inRegion, err := q.Overdue(ctx, query.OverdueFilter{Region: region, Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		assert.Len(t, inRegion.Items, want)
		none, err := q.Overdue(ctx, query.OverdueFilter{Region: "Nowhere", Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		assert.Empty(t, none.Items)

		// Due soon: running clocks with a deadline in the next 24 hours, none of them overdue.
		soon, err := q.DueSoon(ctx, query.DueSoonFilter{Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		for _, x := range soon.Items {
			assert.False(t, x.Deadline.Before(now), "not yet overdue")
			assert.True(t, x.Deadline.Before(now.Add(24*time.Hour)))
		}
		later, err := q.DueSoon(ctx, query.DueSoonFilter{Within: 30 * 24 * time.Hour, Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, len(later.Items), len(soon.Items))

		// Losses this month and the documents behind them; hand-overs since a day.
		lost := all(t, func(cur string) ([]query.DocumentSummary, string, error) {
			l, err := q.Documents(ctx, query.DocumentFilter{LostSince: query.MonthStart(now), Page: query.Page{Cursor: cur}})
			return l.Items, l.NextCursor, err
		})
		assert.Len(t, lost, int(o.LossesThisMonth))
		everLost, err := q.Documents(ctx, query.DocumentFilter{LostSince: now.AddDate(-1, 0, 0)})
		require.NoError(t, err)
		assert.NotEmpty(t, everLost.Items, "the demo loses a document")
		handed, err := q.Documents(ctx, query.DocumentFilter{HandedSince: now.AddDate(0, 0, -3), Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		assert.NotEmpty(t, handed.Items)

		// Deliveries: one row per channel and status, summing to the notifications.
		counts, err := q.Deliveries(ctx)
		require.NoError(t, err)
		var n int64
		for _, c := range counts {
			if c.Channel != projections.ChannelIISCON { // statuses passed to ИИС ЦОН are no notifications
				n += c.N
			}
		}
		notes := all(t, func(cur string) ([]query.Notification, string, error) {
			l, err := q.Notifications(ctx, query.NotificationFilter{Page: query.Page{Cursor: cur, Limit: 1000}})
			return l.Items, l.NextCursor, err
		})
		assert.Equal(t, int64(len(notes)), n)
		sms, err := q.Notifications(ctx, query.NotificationFilter{Channel: "sms_1414", Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		for _, x := range sms.Items {
			assert.Equal(t, "sms_1414", x.Channel)
		}
		// Filtered by delivery status (read from the outbox's index), with and without the
		// channel, paged: as many as the counts by channel and status, in the unfiltered order.
		byStatus := map[string]int64{}
		for _, c := range counts {
			if c.Channel == projections.ChannelIISCON {
				continue
			}
			byStatus[c.Status] += c.N
			got := all(t, func(cur string) ([]query.Notification, string, error) {
				l, err := q.Notifications(ctx, query.NotificationFilter{Status: c.Status, Channel: c.Channel, Page: query.Page{Cursor: cur, Limit: 7}})
				return l.Items, l.NextCursor, err
			})
			assert.Len(t, got, int(c.N), "%s %s", c.Channel, c.Status)
			for _, x := range got {
				assert.Equal(t, c.Status, x.Status)
				assert.Equal(t, c.Channel, x.Channel)
			}
		}
		require.NotEmpty(t, byStatus)
		for st, n := range byStatus {
			got := all(t, func(cur string) ([]query.Notification, string, error) {
				l, err := q.Notifications(ctx, query.NotificationFilter{Status: st, Page: query.Page{Cursor: cur, Limit: 7}})
				return l.Items, l.NextCursor, err
			})
			var want []query.Notification
			for _, x := range notes {
				if x.Status == st {
					want = append(want, x)
				}
			}
			assert.Equal(t, want, got, st)
			assert.Len(t, got, int(n), st)
		}

		// The commission takes up the loss (P.36): the dispute is listed with its documents and,
		// once resolved, its decision.
		svc := commands.New(b.store, commands.WithClock(func() time.Time { return now }))
		commission := domain.Actor{Role: domain.RoleCommission}
		opened, err := svc.OpenDispute(ctx, commission, uuid.New(), now.Add(-2*time.Hour), domain.DisputeOpenedData{
			DocumentIDs: []uuid.UUID{everLost.Items[0].DocumentID}, Parties: []domain.Org{domain.OrgGK, domain.OrgKaspi},
			Subject: "who lost the envelope"})
		require.NoError(t, err)
		_, err = svc.ResolveDispute(ctx, commission, opened.DocumentID, uuid.New(), now.Add(-time.Hour), domain.DisputeResolvedData{
			ProtocolNumber: "PR-1", Decision: "GK answers", ChargedTo: []domain.Org{domain.OrgGK}})
		require.NoError(t, err)
		_, err = p.CatchUp(ctx)
		require.NoError(t, err)
		ds, err := q.Disputes(ctx, query.Page{})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		assert.Equal(t, opened.DocumentID, ds[0].DisputeID)
		assert.Equal(t, []uuid.UUID{everLost.Items[0].DocumentID}, ds[0].DocumentIDs)
		assert.Equal(t, "resolved", ds[0].Status)
		assert.Equal(t, "GK answers", ds[0].Decision)
	})
}
