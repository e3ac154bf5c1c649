package projections_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// TestForceMajeure: a period declared within 3 working days of onset moves the deadlines it
// overlaps (P.37, P.38), even for clocks started before it was declared; one notified late
// does not count for the party that notified it (P.39).
func TestForceMajeure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		notified time.Time
		region   string
		deadline time.Time
		moved    bool
	}{
		{"P.38 notified in time: intake_wait moves by the overlap", day(3, 10, 0), "Almaty", day(6, 0, 0), true},
		{"P.39 notified late: the notifying party cannot rely on it", day(9, 10, 0), "Almaty", day(5, 0, 0), false},
		{"P.37 another region's force majeure moves nothing", day(3, 10, 0), "Astana", day(5, 0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			backends(t, func(t *testing.T, mk func(testing.TB) backend) {
				s := newScen(t, mk, projections.Options{})
				doc := s.newDoc()
				s.walk(doc, day(0, 9, 0), 10*time.Minute, toPacked...)
				reg := s.dispatch(day(0, 14, 0), day(0, 15, 0), doc)
				s.accept(reg, day(1, 10, 0), []uuid.UUID{doc}, nil, nil, nil) // intake_wait: day 5 00:00
				s.sync()                                                      // the clock's rows exist before the period is declared
				s.at(tc.notified)
				fm, err := s.svc.DeclareForceMajeure(s.ctx, demo.Platform, uuid.New(), tc.notified, domain.ForceMajeureDeclaredData{
					From: day(3, 0, 0), To: day(4, 0, 0), Orgs: []domain.Org{domain.OrgKaspi}, Region: tc.region,
					Description: "snowstorm: roads closed", Evidence: demo.Evidence(day(3, 0, 0)), Notified: demo.NotifiedBy(domain.OrgKaspi)})
				require.NoError(t, err)

				check := tc.deadline.Add(time.Hour)
				if tc.notified.After(check) {
					check = tc.notified
				}
				var got *query.Overdue
				for _, o := range s.overdue(check, doc) {
					if o.Rule == "intake_wait" {
						got = &o
					}
				}
				require.NotNil(t, got)
				assert.True(t, got.Deadline.Equal(tc.deadline), "deadline %s, want %s", got.Deadline, tc.deadline)
				assert.True(t, got.BaseDeadline.Equal(day(5, 0, 0)))
				if tc.moved {
					assert.Equal(t, []uuid.UUID{fm.DocumentID}, got.ForceMajeure)
				} else {
					assert.Empty(t, got.ForceMajeure)
				}
				// Incremental application (period after the clock) equals a rebuild (in log order).
				inc := dump(t, s.b.db, liveGen(t, s.b.db))
				st, err := s.p.Rebuild(s.ctx)
				require.NoError(t, err)
				assert.Equal(t, inc, dump(t, s.b.db, st.Generation))
			})
		})
	}
}

func charges(c query.Custody, kind string) []query.Charge {
	var out []query.Charge
	for _, ch := range c.Liability {
		if ch.Kind == kind {
			out = append(out, ch)
		}
	}
	return out
}

// TestLiability: a loss is charged to the last holder (P.22 Kaspi, P.23 GK, P.24), a report
// about another party's custody goes to the commission (P.36), a missing registry line is
// charged to the giving side (P.18).
func TestLiability(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{})
		kaspiLoss, gkLoss, disputed, missing, damaged := s.newDoc(), s.newDoc(), s.newDoc(), s.newDoc(), s.newDoc()
		extra := uuid.New() // an envelope the ledger does not know
		for _, d := range []uuid.UUID{kaspiLoss, gkLoss, disputed, missing, damaged} {
			s.walk(d, day(0, 9, 0), 10*time.Minute, toPacked...)
		}
		reg := s.dispatch(day(0, 14, 0), day(0, 15, 0), kaspiLoss, gkLoss, disputed, missing, damaged)
		s.accept(reg, day(1, 10, 0), []uuid.UUID{kaspiLoss, disputed}, []uuid.UUID{missing, gkLoss}, []uuid.UUID{damaged}, []uuid.UUID{extra})

		s.step(kaspiLoss, domain.OutForPostomatDelivery, day(1, 11, 0))
		s.step(kaspiLoss, domain.DocumentLost, day(1, 16, 0)) // reported by the Kaspi courier who held it
		s.step(gkLoss, domain.DocumentLost, day(1, 12, 0))    // reported by the GK courier who held it
		// GK may not report a loss of a document the ledger shows at Kaspi intake (issue 10 §4):
		// its concern goes to the commission (P.36).
		gk := demo.ActorOf(domain.RoleGKAccumulation, s.c.GKAccumulation)
		s.at(day(1, 17, 0))
		_, err := s.svc.AppendEvent(s.ctx, gk, domain.Event{ID: uuid.New(), DocumentID: disputed, Type: domain.DocumentLost,
			OccurredAt: day(1, 17, 0), Actor: gk, Payload: &domain.DocumentLostData{Cause: "not in the intake's count", LastSeen: s.c.GKCourier}}, nil)
		var fe *domain.ForbiddenError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, fe.Reason, "POST /v1/disputes")
		// The intake point that holds it reports the loss, naming the GK courier as the last
		// holder: the ledger disagrees, so the charge is for the commission (P.36).
		s.record(demo.ActorOf(domain.RoleKaspiIntake, s.c.KaspiIntake), disputed, day(1, 17, 0),
			&domain.DocumentLostData{Cause: "not in the intake's count", LastSeen: s.c.GKCourier})
		commission := domain.Actor{Role: domain.RoleCommission}
		s.at(day(2, 10, 0))
		op, err := s.svc.OpenDispute(s.ctx, commission, uuid.New(), day(2, 10, 0), domain.DisputeOpenedData{
			DocumentIDs: []uuid.UUID{disputed}, Parties: []domain.Org{domain.OrgGK, domain.OrgKaspi}, Subject: "who lost it"})
		require.NoError(t, err)
		s.at(day(3, 10, 0))
		_, err = s.svc.ResolveDispute(s.ctx, commission, op.DocumentID, uuid.New(), day(3, 10, 0), domain.DisputeResolvedData{
			ProtocolNumber: "PR-17", Decision: "Kaspi intake signed for it", ChargedTo: []domain.Org{domain.OrgKaspi}})
		require.NoError(t, err)

		t.Run("P.22 P.24 loss at Kaspi", func(t *testing.T) {
			l := charges(s.custody(kaspiLoss), "loss")
			require.Len(t, l, 1)
			assert.Equal(t, domain.OrgKaspi, l[0].Org)
			assert.Equal(t, "P.22, P.24", l[0].Source)
			assert.Equal(t, "KSP-ALA-CR1", l[0].Holder.Unit)
			assert.False(t, l[0].ForCommission)
			assert.Contains(t, l[0].Reasons[0], "last seen with kaspi/KSP-ALA-CR1")
			assert.Len(t, l[0].EventIDs, 2, "the loss report and the hand-over that opened the interval")
		})
		t.Run("P.23 P.24 loss at GK", func(t *testing.T) {
			c := s.custody(gkLoss)
			l := charges(c, "loss")
			require.Len(t, l, 1)
			assert.Equal(t, domain.OrgGK, l[0].Org)
			assert.Equal(t, "P.23, P.24", l[0].Source)
			assert.Len(t, charges(c, "missing_line"), 1, "its line was missing at acceptance too (P.18)")
			require.NotEmpty(t, c.Intervals)
			last := c.Intervals[len(c.Intervals)-1]
			assert.Equal(t, "GK-ALA-CR1", last.Holder.Unit)
			assert.Nil(t, last.To, "the interval stays open: nobody took it over")
		})
		t.Run("P.36 a report about another party's custody goes to the commission", func(t *testing.T) {
			c := s.custody(disputed)
			l := charges(c, "loss")
			require.Len(t, l, 1)
			assert.Equal(t, domain.OrgKaspi, l[0].Org, "charged to the ledger's last holder")
			assert.True(t, l[0].ForCommission)
			assert.Len(t, l[0].Reasons, 2, "last seen, and the report names another holder")
			require.Len(t, c.Disputes, 1)
			assert.Equal(t, "resolved", c.Disputes[0].Status)
			assert.Equal(t, "PR-17", c.Disputes[0].Protocol)
		})
		t.Run("P.18 a missing line is charged to the giving side", func(t *testing.T) {
			m := charges(s.custody(missing), "missing_line")
			require.Len(t, m, 1)
			assert.Equal(t, domain.OrgGK, m[0].Org)
			assert.Equal(t, "P.18", m[0].Source)
			rep, err := s.p.Queries().Liability(s.ctx, query.LiabilityFilter{Org: "gk"})
			require.NoError(t, err)
			require.Len(t, rep.Organisations, 1)
			assert.Equal(t, int64(2), rep.Organisations[0].MissingLines)
			assert.Equal(t, int64(1), rep.Organisations[0].Losses)
			rep, err = s.p.Queries().Liability(s.ctx, query.LiabilityFilter{From: day(1, 13, 0), To: day(2, 0, 0)})
			require.NoError(t, err)
			require.Len(t, rep.Charges, 2, "the two Kaspi losses of the afternoon")
			for _, c := range rep.Charges {
				assert.Equal(t, domain.OrgKaspi, c.Org)
			}
		})
		t.Run("P.18 reconciliation of the dispatch registry", func(t *testing.T) {
			r, err := s.p.Queries().Registry(s.ctx, reg)
			require.NoError(t, err)
			assert.Equal(t, domain.RegistryDispatch, r.Kind)
			assert.Equal(t, "accepted", r.Status)
			assert.Equal(t, query.LineCounts{Lines: 5, Accepted: 2, Missing: 2, Damaged: 1, Extra: 1}, r.Counts)
			require.NotNil(t, r.Reconciliation)
			rec := r.Reconciliation
			assert.False(t, rec.Balanced)
			assert.ElementsMatch(t, []uuid.UUID{kaspiLoss, disputed}, rec.Accepted)
			require.Len(t, rec.Missing, 2)
			for _, m := range rec.Missing {
				require.NotNil(t, m.LastHolder)
				assert.Equal(t, s.c.GKCourier, *m.LastHolder, "who held the missing line last")
				assert.Equal(t, "KSP-ALA-IN1", m.Receiver.Unit)
			}
			require.Len(t, rec.Damaged, 1)
			assert.Equal(t, damaged, rec.Damaged[0].DocumentID)
			require.Len(t, rec.Extra, 1)
			assert.Equal(t, extra, rec.Extra[0].DocumentID)
			assert.Len(t, r.Lines, 6)
			list, err := s.p.Queries().Registries(s.ctx, query.RegistryFilter{Kind: "dispatch", Unit: "GK-ALA-CR1", Date: "2026-04-06"})
			require.NoError(t, err)
			require.Len(t, list.Items, 1)
			list, err = s.p.Queries().Registries(s.ctx, query.RegistryFilter{Date: "2026-04-07"})
			require.NoError(t, err)
			assert.Empty(t, list.Items)
		})
	})
}

// TestNotifications: each trigger of DOMAIN.md makes its notifications once, with the masked
// contact in the list and the raw one only in the delivered message; delivery marks them and
// neither a second round nor a rebuild sends anything again.
func TestNotifications(t *testing.T) {
	backends(t, func(t *testing.T, mk func(testing.TB) backend) {
		s := newScen(t, mk, projections.Options{CONAddresses: map[string]string{"GK-ALA-ISS": demo.Almaty.CONAddress}})
		placed, delayed, lost, returned := s.newDoc(), s.newDoc(), s.newDoc(), s.newDoc()
		s.delivered(placed)
		s.walk(delayed, day(0, 9, 0), 10*time.Minute, toPacked...)
		s.step(delayed, domain.DeliveryDelayed, day(0, 11, 0))
		s.walk(lost, day(0, 9, 0), 10*time.Minute, toPacked...)
		s.walk(lost, day(0, 12, 0), time.Hour, domain.DocumentLost, domain.LossActRegistered, domain.ApplicationCancelled)
		s.delivered(returned)
		s.step(returned, domain.RemovedFromCell, day(5, 13, 0))
		s.step(returned, domain.ReturnedToKaspiIntake, day(5, 15, 0))
		reg := s.returnRegistry(day(7, 10, 0), returned)
		s.collectReturns(reg, day(8, 10, 0), day(8, 11, 0), returned)
		s.sync()

		list, err := s.p.Queries().Notifications(s.ctx, query.NotificationFilter{})
		require.NoError(t, err)
		type key struct {
			doc     uuid.UUID
			trigger string
			channel string
		}
		got := map[key]query.Notification{}
		for _, n := range list.Items {
			got[key{n.DocumentID, n.TriggerType, n.Channel}] = n
			assert.Equal(t, "pending", n.Status)
			assert.NotContains(t, n.Recipient.Phone, demo.Recipient(s.num[n.DocumentID]).Phone[2:8], "masked")
			assert.Contains(t, n.Recipient.Phone, "*")
		}
		want := []key{
			{placed, "PlacedInCell", "kaspi_app"},                                                   // P.28
			{returned, "PlacedInCell", "kaspi_app"},                                                 // P.28
			{delayed, "DeliveryDelayed", "kaspi_app"},                                               // P.27
			{lost, "ApplicationCancelled", "kaspi_app"}, {lost, "ApplicationCancelled", "sms_1414"}, // P.25
			{returned, "ReceivedAtIssuance", "kaspi_app"}, {returned, "ReceivedAtIssuance", "sms_1414"}, // P.34
		}
		assert.Len(t, got, len(want))
		for _, k := range want {
			assert.Contains(t, got, k)
		}
		assert.Equal(t, "P.28, P.29", got[key{placed, "PlacedInCell", "kaspi_app"}].Source)
		pick := got[key{placed, "PlacedInCell", "kaspi_app"}].Details.PickUpBy
		assert.True(t, pick.Equal(day(5, 12, 0)), "pick up by placed + 3 days: %s", pick)
		assert.Contains(t, got[key{returned, "ReceivedAtIssuance", "sms_1414"}].Text.RU, demo.Almaty.CONAddress)
		assert.Contains(t, got[key{delayed, "DeliveryDelayed", "kaspi_app"}].Text.RU, day(2, 11, 0).Format("02.01.2006 15:04"), "the new date (P.27)")

		// Deliver through the in-process channel.
		msgs := subscribe(t, s.p.Subscriber(), projections.ChannelKaspiApp, projections.ChannelSMS1414)
		n, err := s.p.Deliver(s.ctx)
		require.NoError(t, err)
		var statuses int // the outbox also carries the statuses passed to ИИС ЦОН (P.9, P.20)
		for _, doc := range []uuid.UUID{placed, delayed, lost, returned} {
			statuses += len(s.transmissions(doc))
		}
		assert.Equal(t, len(want)+statuses, n)
		seen := map[string]bool{}
		for range want {
			m := <-msgs
			m.Ack()
			key := m.Metadata.Get("dedup_key")
			assert.False(t, seen[key], "delivered once")
			seen[key] = true
			assert.Equal(t, key, m.UUID)
			var body struct {
				Recipient domain.RecipientContact `json:"recipient"`
				DedupKey  string                  `json:"dedup_key"`
			}
			require.NoError(t, json.Unmarshal(m.Payload, &body))
			assert.Equal(t, key, body.DedupKey)
			assert.True(t, strings.HasPrefix(body.Recipient.Phone, "+7701"), "the raw contact travels to the channel")
		}
		n, err = s.p.Deliver(s.ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		list, err = s.p.Queries().Notifications(s.ctx, query.NotificationFilter{Status: "delivered", DocumentID: lost})
		require.NoError(t, err)
		assert.Len(t, list.Items, 2)
		for _, it := range list.Items {
			assert.NotNil(t, it.DeliveredAt)
		}

		_, err = s.p.Rebuild(s.ctx)
		require.NoError(t, err)
		n, err = s.p.Deliver(s.ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "a rebuild sends nothing twice")
		list, err = s.p.Queries().Notifications(s.ctx, query.NotificationFilter{Status: "delivered"})
		require.NoError(t, err)
		assert.Len(t, list.Items, len(want))
		select {
		case m := <-msgs:
			t.Fatalf("unexpected message %s", m.UUID)
		default:
		}
	})
}

// subscribe merges the messages of topics into one channel.
func subscribe(t *testing.T, sub message.Subscriber, topics ...string) <-chan *message.Message {
	t.Helper()
	require.NotNil(t, sub)
	out := make(chan *message.Message, 100)
	for _, topic := range topics {
		ch, err := sub.Subscribe(t.Context(), topic)
		require.NoError(t, err)
		go func() {
			for m := range ch {
				out <- m
			}
		}()
	}
	return out
}
