package projections_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// transmissions returns what doc passed to ИИС ЦОН.
func (s *scen) transmissions(doc uuid.UUID) []query.Transmission {
	s.t.Helper()
	s.sync()
	l, err := s.p.Queries().Transmissions(s.ctx, doc)
	require.NoError(s.t, err)
	return l.Items
}

var iisCON = domain.Actor{Role: domain.RoleIISCON, Org: domain.OrgGK, Unit: "IIS-CON"}

// TestP9P20P22P31StatusesPassedToIISCON: Kaspi's statuses reach ИИС ЦОН as messages of the
// outbox (one per status, its dedup key derived from the status event), visible per document
// with their delivery state, overdue when undelivered after the delay, acknowledged by
// ИИС ЦОН through a recorded event, and never sent twice by a rebuild; the ЦОН route passes
// nothing (P.9 is Kaspi's duty).
func TestP9P20P22P31StatusesPassedToIISCON(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{TransmitDelay: 30 * time.Minute})
		doc, con, lost := s.newDoc(), s.newDoc(), s.newDoc()
		s.delivered(doc) // order day 0 09:20, at intake day 1 10:00, out day 2 10:00, in the cell day 2 12:00
		s.walk(con, day(0, 9, 0), 10*time.Minute, domain.DocumentIssued, domain.CollectedFromRags, domain.ReceivedAtAccumulation,
			domain.RoutedForDelivery)
		s.walk(lost, day(0, 9, 0), 10*time.Minute, toPacked...)
		reg := s.dispatch(day(0, 14, 0), day(0, 15, 0), lost)
		s.accept(reg, day(1, 10, 0), []uuid.UUID{lost}, nil, nil, nil)
		s.step(lost, domain.DocumentLost, day(2, 9, 0)) // lost at Kaspi intake: P.22(3)

		got := s.transmissions(doc)
		var statuses, sources []string
		for _, tr := range got {
			statuses, sources = append(statuses, tr.Status), append(sources, tr.Source)
			assert.Equal(t, "pending", tr.Delivery)
			assert.Equal(t, doc.String()+"/"+tr.EventID.String()+"/iis_con", tr.DedupKey, "the key is derived from the status event")
		}
		assert.Equal(t, []string{"KaspiOrderCreated", "AcceptedAtKaspiIntake", "OutForPostomatDelivery", "PlacedInCell"}, statuses)
		assert.Equal(t, []string{"P.9", "P.20", "P.20", "P.20"}, sources)
		assert.Empty(t, s.transmissions(con), "P.9 the ЦОН route passes nothing through Kaspi")
		lostTr := s.transmissions(lost)
		require.NotEmpty(t, lostTr)
		assert.Equal(t, "DocumentLost", lostTr[len(lostTr)-1].Status)
		assert.Equal(t, "P.22(3)", lostTr[len(lostTr)-1].Source)

		// Undelivered after the delay: in the overdue list (unfiltered, by rule, and Kaspi's,
		// never another organisation's), oldest breach first among the clocks, charged to Kaspi.
		s.at(day(2, 13, 0))
		s.sync()
		lateOf := func(f query.OverdueFilter) []string {
			t.Helper()
			list, err := s.p.Queries().Overdue(s.ctx, f)
			require.NoError(t, err)
			assert.True(t, slices.IsSortedFunc(list.Items, func(a, b query.Overdue) int { return a.Deadline.Compare(b.Deadline) }),
				"oldest breach first")
			var late []string
			for _, o := range list.Items {
				if o.DocumentID == doc && o.Rule == query.RuleTransmission {
					late = append(late, o.StartEvent.String())
					assert.Equal(t, domain.OrgKaspi, o.Charged)
					assert.True(t, o.Breach)
				}
			}
			return late
		}
		late := lateOf(query.OverdueFilter{})
		assert.Len(t, late, 4, "every status undelivered for over 30 minutes")
		assert.Equal(t, late, lateOf(query.OverdueFilter{Rule: query.RuleTransmission}))
		assert.Equal(t, late, lateOf(query.OverdueFilter{Org: string(domain.OrgKaspi)}))
		assert.Empty(t, lateOf(query.OverdueFilter{Org: string(domain.OrgGK)}), "P.9/P.20/P.31 are Kaspi's obligation")
		assert.Empty(t, lateOf(query.OverdueFilter{Rule: "intake_wait"}))
		ov, err := s.p.Queries().Overview(s.ctx)
		require.NoError(t, err)
		all, err := s.p.Queries().Overdue(s.ctx, query.OverdueFilter{Page: query.Page{Limit: 1000}})
		require.NoError(t, err)
		assert.Equal(t, int64(len(all.Items)), ov.Overdue, "the console's overview counts the overdue list")
		lateAll := 0
		for _, o := range all.Items {
			if o.Rule == query.RuleTransmission {
				lateAll++
			}
		}
		assert.Equal(t, 4+3, lateAll, "doc's four statuses, lost's order, intake and loss (P.22(3))")
		assert.Contains(t, ov.OverdueByRule, query.Count{Key: query.RuleTransmission, N: int64(lateAll)})
		// Page by page (the clocks and the statuses merged at each page's cursor), the same list.
		var unit string // the cell's: a filter that skips the other documents' statuses
		for _, o := range all.Items {
			if o.DocumentID == doc && o.Holder != nil {
				unit = o.Holder.Unit
			}
		}
		require.NotEmpty(t, unit)
		for _, f := range []query.OverdueFilter{{}, {Rule: query.RuleTransmission}, {Org: string(domain.OrgKaspi)}, {Unit: unit}} {
			full, err := s.p.Queries().Overdue(s.ctx, query.OverdueFilter{Rule: f.Rule, Org: f.Org, Unit: f.Unit, Page: query.Page{Limit: 1000}})
			require.NoError(t, err)
			var paged []query.Overdue
			for cur := ""; ; {
				f.Page = query.Page{Limit: 2, Cursor: cur}
				page, err := s.p.Queries().Overdue(s.ctx, f)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page.Items), 2)
				paged = append(paged, page.Items...)
				if cur = page.NextCursor; cur == "" {
					break
				}
			}
			assert.Equal(t, full.Items, paged, "pages of 2 of %+v", f)
			if f.Unit != "" {
				assert.Len(t, full.Items, 4, "doc's statuses alone: lost's are skipped (its holder is not the cell)")
			}
		}

		msgs := subscribe(t, s.p.Subscriber(), projections.ChannelIISCON)
		n, err := s.p.Deliver(s.ctx)
		require.NoError(t, err)
		assert.Positive(t, n)
		seen := map[string]bool{}
		for len(seen) < len(got)+len(lostTr) {
			m := <-msgs
			m.Ack()
			var body struct {
				DedupKey   string    `json:"dedup_key"`
				DocumentID uuid.UUID `json:"document_id"`
				Status     string    `json:"status"`
				OccurredAt time.Time `json:"occurred_at"`
			}
			require.NoError(t, json.Unmarshal(m.Payload, &body))
			assert.False(t, seen[body.DedupKey], "one message per status")
			seen[body.DedupKey] = true
			assert.NotEmpty(t, body.Status)
			assert.False(t, body.OccurredAt.IsZero())
		}
		for _, tr := range s.transmissions(doc) {
			assert.Equal(t, "delivered", tr.Delivery)
		}
		assert.Empty(t, lateOf(query.OverdueFilter{}), "delivered: no longer overdue")

		// ИИС ЦОН acknowledges: recorded, idempotent, 422 unless it names an unacknowledged status.
		placed := got[3].EventID
		ack := domain.Event{ID: uuid.New(), DocumentID: doc, Type: domain.StatusTransmissionAcknowledged, OccurredAt: day(2, 13, 40),
			Actor: iisCON, Payload: &domain.StatusTransmissionAcknowledgedData{Transmitted: placed, ReceivedAt: day(2, 12, 1)}}
		s.at(day(2, 13, 40))
		_, err = s.svc.AppendEvent(s.ctx, iisCON, ack, nil)
		require.NoError(t, err)
		_, err = s.svc.AppendEvent(s.ctx, iisCON, ack, nil)
		require.NoError(t, err, "a retry is the first answer")
		again := ack
		again.ID = uuid.New()
		_, err = s.svc.AppendEvent(s.ctx, iisCON, again, nil)
		var tr *domain.TransitionError
		require.ErrorAs(t, err, &tr, "already acknowledged: 422")
		again.Payload = &domain.StatusTransmissionAcknowledgedData{Transmitted: uuid.New(), ReceivedAt: day(2, 12, 1)}
		_, err = s.svc.AppendEvent(s.ctx, iisCON, again, nil)
		require.ErrorAs(t, err, &tr, "names no transmission of this document: 422")
		byPlatform := ack
		byPlatform.ID, byPlatform.Actor = uuid.New(), demo.Platform
		byPlatform.Payload = &domain.StatusTransmissionAcknowledgedData{Transmitted: got[0].EventID, ReceivedAt: day(2, 12, 1)}
		_, err = s.svc.AppendEvent(s.ctx, demo.Platform, byPlatform, nil)
		var fe *domain.ForbiddenError
		require.ErrorAs(t, err, &fe, "only ИИС ЦОН acknowledges")
		after := s.transmissions(doc)
		require.NotNil(t, after[3].AcknowledgedAt)
		assert.True(t, after[3].AcknowledgedAt.Equal(day(2, 12, 1)))
		assert.Equal(t, ack.ID, *after[3].AckEventID)
		assert.Nil(t, after[0].AcknowledgedAt)

		// A crash or a rebuild never makes a second message with a new key.
		_, err = s.p.Rebuild(s.ctx)
		require.NoError(t, err)
		n, err = s.p.Deliver(s.ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing sent twice")
	})
}
