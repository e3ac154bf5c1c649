package projections_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/query"
)

// memoryBackend is the in-memory event store with its read models in an SQLite file.
func memoryBackend(t testing.TB) backend {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "read.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return backend{name: "memory", store: memory.New(), db: s.DB(), dialect: projections.SQLite}
}

// poke appends bytes straight into a stream, past every check of the write side, and returns
// the position they got.
func (s *scen) poke(stream, typ string, data []byte) uint64 {
	s.t.Helper()
	res, err := eventstore.AppendOne(s.ctx, s.b.store, stream, eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: typ,
		SchemaVersion: domain.SchemaVersion, Data: data})
	require.NoError(s.t, err)
	return res.Records[0].Position
}

// pokeEvent encodes e as the write side would, then edits its stored JSON with edit (nil:
// unchanged), and appends it straight into the document's stream.
func (s *scen) pokeEvent(e domain.Event, edit func(env map[string]any)) uint64 {
	s.t.Helper()
	data, err := domain.Encode(e)
	require.NoError(s.t, err)
	if edit != nil {
		var env map[string]any
		require.NoError(s.t, json.Unmarshal(data, &env))
		edit(env)
		data, err = json.Marshal(env)
		require.NoError(s.t, err)
	}
	return s.poke(commands.DocumentStream(e.DocumentID), string(e.Type), data)
}

// TestPoisonEventsAreQuarantined: events the write side would refuse, written straight into
// each store, neither stop nor stall the runner (issue 10 §1): it quarantines exactly those,
// goes on with the same streams and others, and a rebuild gives the same tables.
func TestPoisonEventsAreQuarantined(t *testing.T) {
	projections.SetCommitBackoff(10 * time.Millisecond)
	for _, mk := range []func(testing.TB) backend{memoryBackend, sqliteBackend, pgBackend} {
		name := mk(t).name
		t.Run(name, func(t *testing.T) {
			s := newScen(t, mk, projections.Options{Poll: 20 * time.Millisecond, DisableWatch: true})
			before := s.newDoc()
			s.walk(before, day(0, 9, 0), 10*time.Minute, toPacked...)

			// The 9999 delay on a document with a Kaspi order: its notification cannot be encoded.
			delayed := s.newDoc()
			s.walk(delayed, day(0, 9, 0), 10*time.Minute, toPacked[:3]...)
			platform := demo.ActorOf(domain.RoleKaspiPlatform, s.c.KaspiIntake)
			var want []uint64
			want = append(want, s.pokeEvent(domain.Event{ID: uuid.New(), DocumentID: delayed, Type: domain.DeliveryDelayed,
				OccurredAt: day(0, 10, 0), Actor: platform,
				Payload: &domain.DeliveryDelayedData{NewDate: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}}, nil))

			// Bytes that are not JSON, and an event of the wrong shape, in another document.
			broken := s.newDoc()
			s.walk(broken, day(0, 9, 0), 10*time.Minute, toPacked[:2]...)
			want = append(want, s.poke(commands.DocumentStream(broken), string(domain.CollectedFromRags), []byte("\x00not json{")))
			placed := domain.Event{ID: uuid.New(), DocumentID: broken, Type: domain.PlacedInCell, OccurredAt: day(0, 11, 0),
				Actor: platform, Payload: &domain.PlacedInCellData{}}
			want = append(want, s.pokeEvent(placed, func(env map[string]any) { env["data"] = map[string]any{"cell_id": 42} }))

			if name == "postgres" {
				// A NUL in a text column: PostgreSQL refuses the row, so the batch cannot commit.
				nul := s.newDoc()
				e, _ := demo.Next(s.c, domain.State{DocumentID: nul, Status: domain.StatusNew}, 99, domain.DeliveryRequested, day(0, 9, 0))
				e.Payload.(*domain.DeliveryRequestedData).ApplicationNo = "APP\x00-1"
				want = append(want, s.pokeEvent(e, nil))
			}

			// The write side goes on with the delayed document after its poison event.
			s.walk(delayed, day(0, 12, 0), 10*time.Minute, toPacked[3:]...)
			after := s.newDoc()
			s.walk(after, day(0, 13, 0), 10*time.Minute, toPacked...)

			reg := prometheus.NewRegistry()
			reg.MustRegister(s.p.Metrics()...)
			ctx, cancel := context.WithCancel(s.ctx)
			done := make(chan error, 1)
			go func() { done <- s.p.Run(ctx) }()
			defer func() {
				cancel()
				require.NoError(t, <-done)
			}()
			require.Eventually(t, func() bool {
				l, err := s.p.Lag(s.ctx)
				return err == nil && l.Positions == 0
			}, 20*time.Second, 20*time.Millisecond, "the runner gets past the poison events")
			select {
			case err := <-done:
				t.Fatalf("the runner stopped: %v", err)
			default:
			}

			q, err := s.p.Quarantine(s.ctx)
			require.NoError(t, err)
			var got []uint64
			for _, e := range q {
				got = append(got, e.Position)
				assert.NotEmpty(t, e.Error)
				assert.NotEmpty(t, e.Stream)
				assert.NotEmpty(t, e.Type)
			}
			assert.Equal(t, want, got, "exactly the poison events are quarantined")
			assert.Equal(t, float64(len(want)), metricValue(t, reg, "custody_projection_quarantined"))

			// Queries answer, with the events before and after the poison ones.
			for _, d := range []uuid.UUID{before, delayed, after} {
				c, err := s.p.Queries().Custody(s.ctx, d)
				require.NoError(t, err)
				assert.Equal(t, string(domain.StatusPacked), c.State)
			}
			c, err := s.p.Queries().Custody(s.ctx, broken)
			require.NoError(t, err)
			assert.Equal(t, string(domain.StatusIssued), c.State)

			// A rebuild skips the same events and builds the same tables.
			// (PostgreSQL's error names the generation's table.)
			tables := regexp.MustCompile(`rm[0-9]+_`)
			inc := dump(t, s.b.db, liveGen(t, s.b.db))
			st, err := s.p.Rebuild(s.ctx)
			require.NoError(t, err)
			reb := dump(t, s.b.db, st.Generation)
			for _, d := range []map[string]string{inc, reb} {
				d["quarantine"] = tables.ReplaceAllString(d["quarantine"], "rm_")
			}
			assert.Equal(t, inc, reb)
		})
	}
}

// TestFixAndRebuildClearQuarantine: a projection bug quarantines an event; the fixed code's
// rebuild projects it and the quarantine is empty again.
func TestFixAndRebuildClearQuarantine(t *testing.T) {
	b := sqliteBackend(t)
	var victim uuid.UUID
	o := projections.Options{DisableWatch: true, BatchSize: 4}
	projections.SetPlanHook(&o, func(id uuid.UUID) {
		if id == victim {
			panic("a projection bug")
		}
	})
	s := newScen(t, func(testing.TB) backend { return b }, o)
	doc := s.newDoc()
	s.walk(doc, day(0, 9, 0), 10*time.Minute, toPacked[:3]...)
	_, stored, err := s.svc.Document(s.ctx, doc)
	require.NoError(t, err)
	victim = stored[1].Event.ID
	s.sync()
	q, err := s.p.Quarantine(s.ctx)
	require.NoError(t, err)
	require.Len(t, q, 1)
	assert.Equal(t, stored[1].Position, q[0].Position)
	assert.Contains(t, q[0].Error, "a projection bug")

	fixed := open(t, b, nil, projections.Options{})
	_, err = fixed.Rebuild(s.ctx)
	require.NoError(t, err)
	q, err = fixed.Quarantine(s.ctx)
	require.NoError(t, err)
	assert.Empty(t, q)
	c, err := fixed.Queries().Custody(s.ctx, doc)
	require.NoError(t, err)
	assert.Len(t, c.Intervals, 1, "the issuing event is projected now")
}

// metricValue reads one gauge or counter from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			if g := mf.Metric[0].GetGauge(); g != nil {
				return g.GetValue()
			}
			return mf.Metric[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestWatchGoesOnPastADocumentItCannotLoad: a poison event in one document's stream makes
// that document unreadable for the write side; the deadline watch records the other
// documents' misses and counts that one as failed, tick after tick (issue 10 §1).
func TestWatchGoesOnPastADocumentItCannotLoad(t *testing.T) {
	s := newScen(t, sqliteBackend, projections.Options{})
	good, bad := s.newDoc(), s.newDoc()
	for _, d := range []uuid.UUID{good, bad} {
		s.walk(d, day(0, 9, 0), 10*time.Minute, toPacked[:3]...)
	}
	s.poke(commands.DocumentStream(bad), string(domain.CollectedFromRags), []byte("not json"))
	s.at(day(14, 0, 0))
	s.sync()
	for range 2 {
		r, err := s.p.WatchTick(s.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, r.Failed, "the unreadable document")
		s.sync()
	}
	c := s.custody(good)
	var missed int
	for _, ch := range c.Liability {
		if ch.Kind == string(domain.ChargeDeadlineMissed) {
			missed++
		}
	}
	assert.Positive(t, missed, "the readable document's miss is recorded")
}

// TestRunnerSurvivesPanics: a panic in delivery (here right after a publish) fails that round
// only; the runner keeps following the log and the notification is delivered on a later round
// (issue 10 §1: no part of serve ends the process).
func TestRunnerSurvivesPanics(t *testing.T) {
	var panicked atomic.Bool
	o := projections.Options{Poll: 20 * time.Millisecond, DeliveryPoll: 10 * time.Millisecond, DisableWatch: true}
	projections.SetFailpoint(&o, func(point string) error {
		if point == "after-publish" && panicked.CompareAndSwap(false, true) {
			panic("delivery bug")
		}
		return nil
	})
	s := newScen(t, sqliteBackend, o)
	doc := s.newDoc()
	s.delivered(doc) // PlacedInCell notifies the recipient (P.28)
	msgs := subscribe(t, s.p.Subscriber(), projections.ChannelKaspiApp)
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan error, 1)
	go func() { done <- s.p.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	require.Eventually(t, func() bool {
		list, err := s.p.Queries().Notifications(s.ctx, query.NotificationFilter{Status: "delivered", DocumentID: doc})
		return err == nil && len(list.Items) == 1
	}, 20*time.Second, 20*time.Millisecond)
	assert.True(t, panicked.Load())
	m := <-msgs
	m.Ack()
	assert.Equal(t, doc.String(), m.Metadata.Get("document_id"))

	after := s.newDoc() // the runner still follows the log
	s.walk(after, day(3, 9, 0), 10*time.Minute, toPacked...)
	require.Eventually(t, func() bool {
		c, err := s.p.Queries().Custody(s.ctx, after)
		return err == nil && c.State == string(domain.StatusPacked)
	}, 20*time.Second, 20*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the runner stopped: %v", err)
	default:
	}
}
