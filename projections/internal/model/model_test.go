package model

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// journey walks a document through steps with demo.Next, as the parties would record them.
func journey(t testing.TB, id uuid.UUID, start time.Time, gap time.Duration, steps ...domain.EventType) []Event {
	t.Helper()
	s := domain.State{DocumentID: id, Status: domain.StatusNew}
	var out []Event
	at := start
	for i, typ := range steps {
		var e domain.Event
		switch typ {
		case domain.HandedToCourier: // registry-driven in real life; written directly here
			e = domain.Event{ID: uuid.New(), DocumentID: id, Type: typ, OccurredAt: at,
				Payload: &domain.HandedToCourierData{Transfer: domain.Transfer{From: *s.Holder, To: demo.Almaty.GKCourier}, RegistryID: uuid.New()}}
		case domain.AcceptedAtKaspiIntake:
			e = domain.Event{ID: uuid.New(), DocumentID: id, Type: typ, OccurredAt: at,
				Payload: &domain.AcceptedAtKaspiIntakeData{Transfer: domain.Transfer{From: *s.Holder, To: demo.Almaty.KaspiIntake}}}
		default:
			e, _ = demo.Next(demo.Almaty, s, 7, typ, at)
		}
		require.Contains(t, domain.Allowed(s.Status), typ, "step %d %s from %s", i, typ, s.Status)
		s = domain.Evolve(s, e)
		out = append(out, Event{Event: e, Position: uint64(i + 1), Version: uint64(i + 1)})
		at = at.Add(gap)
	}
	return out
}

var postomatSteps = []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
	domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed,
	domain.HandedToCourier, domain.AcceptedAtKaspiIntake, domain.OutForPostomatDelivery, domain.PlacedInCell}

func TestDocumentRows(t *testing.T) {
	id := uuid.New()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, domain.Almaty)
	evs := journey(t, id, start, time.Hour, postomatSteps...)
	res := Document(id, evs, Env{Calendar: calendar.Default()})

	doc := res.Rows[Documents][id.String()]
	require.NotNil(t, doc)
	assert.Equal(t, string(domain.StatusInCell), doc[1])
	assert.Equal(t, "PM-ALA-0042", doc[Documents.Col("holder_unit")])
	assert.NotContains(t, doc[Documents.Col("flags")], demo.Recipient(7).IIN, "personal data stays out of the read model")

	assert.Len(t, res.Rows[Intervals], 7, "RAGS, GK courier, accumulation, GK courier, Kaspi intake, Kaspi courier, postomat")
	// P.28: one Kaspi app notification for the placement, with the raw contact only in the message.
	require.Len(t, res.Rows[Notifications], 1)
	// and one message per status passed to ИИС ЦОН (P.9 order, P.20 intake, out, cell).
	require.Len(t, res.Rows[Transmissions], 4)
	require.Len(t, res.Messages, 1+4)
	for _, r := range res.Rows[Transmissions] {
		assert.NotContains(t, string(res.Messages[r[0].(string)].Encode().Payload), demo.Recipient(7).Phone, "no personal data to ИИС ЦОН")
	}
	for k, n := range res.Rows[Notifications] {
		assert.Equal(t, ChannelKaspiApp, n[Notifications.Col("channel")])
		assert.NotContains(t, n[Notifications.Col("recipient")], demo.Recipient(7).Phone)
		m := res.Messages[k].Encode()
		var p Payload
		require.NoError(t, json.Unmarshal(m.Payload, &p))
		assert.Equal(t, demo.Recipient(7), p.Recipient)
		assert.Contains(t, p.Text.RU, "PM-ALA-0042")
		assert.Equal(t, evs[len(evs)-1].OccurredAt.Add(72*time.Hour).Unix(), p.Details.PickUpBy.Unix())
	}
	// Clocks: order_to_intake, intake_delivery, intake_wait stopped; cell_storage running; cell_removal derived.
	rules := map[string]bool{}
	for _, c := range res.Rows[Clocks] {
		rules[c[1].(string)] = c[Clocks.Col("stopped")] == int64(1)
	}
	assert.Equal(t, map[string]bool{"order_to_intake": true, "intake_delivery": true, "intake_wait": true,
		"cell_storage": false, "cell_removal": false}, rules)
}

func TestDiff(t *testing.T) {
	a, b := Rows{}, Rows{}
	a.Add(RegistryLines, Row{"r", "d1", int64(1), "listed"})
	a.Add(RegistryLines, Row{"r", "d2", int64(2), "listed"})
	b.Add(RegistryLines, Row{"r", "d1", int64(1), "accepted"})
	b.Add(RegistryLines, Row{"r", "d3", int64(3), "extra"})
	var ups, ins, dels []string
	Diff(a, b, func(c Change) {
		switch {
		case c.Delete:
			dels = append(dels, c.Row[1].(string))
		case c.Insert:
			ins = append(ins, c.Row[1].(string))
		default:
			ups = append(ups, c.Row[1].(string))
		}
	})
	assert.Equal(t, []string{"d1"}, ups, "a changed row is an upsert")
	assert.Equal(t, []string{"d3"}, ins, "a row the old set lacks is an insert")
	assert.Equal(t, []string{"d2"}, dels)
}
