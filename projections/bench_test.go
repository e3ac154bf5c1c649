package projections_test

import (
	"context"
	"encoding/gob"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/projections"
)

// benchEvents is the size of the rebuild benchmark's log: CUSTODY_BENCH_EVENTS, default one
// million.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("CUSTODY_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

type storedRecord struct {
	StreamID      string
	Version       uint64
	EventID       uuid.UUID
	Type          string
	SchemaVersion int
	Data          []byte
}

// benchLog returns a log of at least n events: demo data sets (benchStream) generated through
// commands. Generating a million events takes minutes, so the log is cached in the temporary
// directory.
func benchLog(b *testing.B, n int) []eventstore.Record {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("custody-bench-log-%d-cities-2.gob", n))
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		var srs []storedRecord
		if err := gob.NewDecoder(f).Decode(&srs); err == nil {
			return fromStored(srs)
		}
	}
	var recs []eventstore.Record
	benchStream(b, func(_ int, events int) bool { return events >= n }, func(run []eventstore.Record) {
		recs = append(recs, run...)
	})
	srs := make([]storedRecord, len(recs))
	for i, r := range recs {
		srs[i] = storedRecord{r.StreamID, r.Version, r.EventID, r.Type, r.SchemaVersion, r.Data}
	}
	if f, err := os.Create(path + ".tmp"); err == nil {
		if gob.NewEncoder(f).Encode(srs) == nil && f.Close() == nil {
			_ = os.Rename(path+".tmp", path)
		}
	}
	return fromStored(srs)
}

// benchCitiesPerDay is how many cities' demo runs share a day: two fill 2026 from March with
// about 12 million events (the nationwide benchmark's 10 million fit).
const benchCitiesPerDay = 2

// benchStream writes demo runs through commands, each on a memory store of its own, and hands
// each run's records to emit in run order, until done(document streams so far, events so far).
// Nothing but the current runs is held in memory, so the log can be far larger than RAM would
// allow as one slice; runs are generated on every core while emit (e.g. a load into PostgreSQL)
// works.
//
// Each demo run writes the 50 days before its Now (its ids derive from that start day and its
// city), 45 documents a working day (the demo's ЦОН documents of a day must be routed before its
// RAGS registry at 17:00), in a city of its own (the pilot runs in every city at once, each with
// its own force-majeure days); benchCitiesPerDay runs share a day, successive days from
// 2026-03-01. The runs share no stream, so separate stores give the log one store would.
func benchStream(b *testing.B, done func(docs, events int) bool, emit func([]eventstore.Record)) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		run  int
		recs []eventstore.Record
		err  error
	}
	runs, results := make(chan int), make(chan result)
	workers := max(1, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for run := range runs {
				recs, err := benchRun(ctx, run)
				select {
				case results <- result{run, recs, err}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { // hand out runs while the consumer wants more; at most a few ahead of it
		defer close(runs)
		for run := 0; ; run++ {
			select {
			case runs <- run:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	defer cancel()
	start := time.Now()
	pending := map[int][]eventstore.Record{}
	docs, events := 0, 0
	for next := 0; !done(docs, events); {
		r := <-results
		require.NoError(b, r.err, "demo run %d", r.run)
		pending[r.run] = r.recs
		for recs, ok := pending[next]; ok && !done(docs, events); recs, ok = pending[next] {
			delete(pending, next)
			for i := range recs {
				recs[i].Position = uint64(events + i + 1)
				if recs[i].Version == 1 && strings.HasPrefix(recs[i].StreamID, domain.DocumentPrefix) {
					docs++
				}
			}
			events += len(recs)
			emit(recs)
			if next%50 == 49 {
				b.Logf("generated %d runs, %d documents, %d events in %s", next+1, docs, events, time.Since(start).Round(time.Second))
			}
			next++
		}
	}
}

// benchRun is one city's demo run (benchStream) on a memory store of its own.
func benchRun(ctx context.Context, run int) ([]eventstore.Record, error) {
	now := almaty(2026, 3, 1, 18, 0).AddDate(0, 0, run/benchCitiesPerDay)
	if now.Year() != 2026 {
		return nil, fmt.Errorf("run %d ends in %d: the pilot's period ends with 2026 (order p.6)", run, now.Year())
	}
	m := memory.New()
	svc := commands.New(m, commands.WithClock(func() time.Time { return now }))
	if _, err := demo.Generate(ctx, svc, demo.Options{Documents: 1600, PerDay: 45, Now: now, City: benchCity(run)}); err != nil {
		return nil, err
	}
	return m.ReadAll(ctx, 0, 0)
}

// benchCity is the demo city with its own name and units.
func benchCity(n int) demo.City {
	c := demo.Almaty
	suffix := fmt.Sprintf("-%03d", n)
	c.Name += suffix
	for _, h := range []*domain.Holder{&c.RAGS, &c.GKCourier, &c.GKAccumulation, &c.GKIssuance, &c.KaspiIntake, &c.KaspiCourier, &c.Postomat} {
		h.Unit += suffix
	}
	return c
}

func fromStored(srs []storedRecord) []eventstore.Record {
	out := make([]eventstore.Record, len(srs))
	for i, s := range srs {
		out[i] = eventstore.Record{StreamID: s.StreamID, Version: s.Version, EventID: s.EventID, Type: s.Type,
			SchemaVersion: s.SchemaVersion, Data: s.Data, Position: uint64(i + 1)}
	}
	return out
}

// BenchmarkRebuild rebuilds every read model from position zero over a log of about a
// million events (CUSTODY_BENCH_EVENTS) on SQLite and on PostgreSQL, and reports events/s.
// CUSTODY_BENCH_ROUNDS rebuilds (default 1) over the same loaded store give the median and
// range; CUSTODY_BENCH_UNLOGGED=compare alternates, on PostgreSQL, rebuilds into LOGGED and
// UNLOGGED tables (Options.RebuildUnlogged), rotating which goes first, and prints the paired
// ratio. Run it alone: go test -run '^$' -bench Rebuild -benchtime 1x ./projections/
func BenchmarkRebuild(b *testing.B) {
	recs := benchLog(b, benchEvents())
	rounds := 1
	if n, err := strconv.Atoi(os.Getenv("CUSTODY_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for _, bk := range []struct {
		name string
		mk   func(testing.TB) backend
	}{{"sqlite", sqliteBackend}, {"postgres", pgBackend}} {
		b.Run(bk.name, func(b *testing.B) {
			be := bk.mk(b)
			start := time.Now()
			load(b, be.store, recs)
			b.Logf("loaded %d events in %s", len(recs), time.Since(start).Round(time.Second))
			variants := []string{"logged"}
			if bk.name == "postgres" && os.Getenv("CUSTODY_BENCH_UNLOGGED") == "compare" {
				variants = append(variants, "unlogged")
			}
			ps := map[string]*projections.Projections{}
			for _, v := range variants {
				ps[v] = open(b, be, nil, projections.Options{Logger: slog.New(slog.DiscardHandler), RebuildUnlogged: v == "unlogged"})
			}
			ctx := context.Background()
			b.ResetTimer()
			var total time.Duration
			rates := map[string][]float64{}
			for range b.N {
				for round := range rounds {
					for i := range variants {
						v := variants[(i+round)%len(variants)]
						st, err := ps[v].Rebuild(ctx)
						require.NoError(b, err)
						require.Equal(b, len(recs), st.Events)
						total += st.Duration
						rates[v] = append(rates[v], st.EventsPerSecond)
						b.Logf("%s %s round %d: rebuilt %d events in %s: %.0f events/s (read %s, plan %s, commit %s, index %s, set logged %s; %d rows, %d stream reads)",
							bk.name, v, round+1, st.Events, st.Duration.Round(time.Millisecond), st.EventsPerSecond, st.Read.Round(time.Millisecond),
							st.Plan.Round(time.Millisecond), st.Commit.Round(time.Millisecond), st.Index.Round(time.Millisecond),
							st.Logged.Round(time.Millisecond), st.Rows, st.StreamReads)
					}
				}
			}
			for _, v := range variants {
				r := slices.Sorted(slices.Values(rates[v]))
				b.Logf("%s %s: median %.0f events/s (range %.0f–%.0f) over %d rebuilds", bk.name, v, r[len(r)/2], r[0], r[len(r)-1], len(r))
			}
			if len(variants) == 2 {
				var ratios []float64
				for i := range rates["unlogged"] {
					ratios = append(ratios, rates["unlogged"][i]/rates["logged"][i])
				}
				slices.Sort(ratios)
				b.Logf("%s unlogged ÷ logged: median %.2f (range %.2f–%.2f)", bk.name, ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
			}
			b.ReportMetric(float64(len(recs)*b.N*rounds*len(variants))/total.Seconds(), "events/s")
		})
	}
}

// BenchmarkLag appends custody bench's journey (7 appends, a one-line dispatch registry formed,
// handed over and accepted, 3 appends: 13 requests, 16 events) through commands at
// CUSTODY_BENCH_RATE requests/s (default 1000) for CUSTODY_BENCH_SECONDS (default 20) while the
// runner follows the log, and reports the apply delay of each event (recorded in the store →
// its read-model rows committed): p50, p99 and max.
func BenchmarkLag(b *testing.B) {
	rate, secs := 1000, 20
	if v, err := strconv.Atoi(os.Getenv("CUSTODY_BENCH_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("CUSTODY_BENCH_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	for _, bk := range []struct {
		name string
		mk   func(testing.TB) backend
	}{{"sqlite", sqliteBackend}, {"postgres", pgBackend}} {
		b.Run(bk.name, func(b *testing.B) {
			for range b.N {
				be := bk.mk(b)
				var (
					mu     sync.Mutex
					delays []time.Duration
				)
				o := projections.Options{Logger: slog.New(slog.DiscardHandler), DisableWatch: true}
				projections.OnCommit(&o, func(recorded []time.Time, committed time.Time) {
					mu.Lock()
					for _, r := range recorded {
						delays = append(delays, committed.Sub(r))
					}
					mu.Unlock()
				})
				p := open(b, be, nil, o)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Run(ctx) }()

				svc := commands.New(be.store)
				requests, events, failed := drive(ctx, svc, rate, time.Duration(secs)*time.Second)
				// Wait for the runner to apply the tail, then stop it.
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if l, err := p.Lag(ctx); err == nil && l.Positions == 0 {
						break
					}
				}
				cancel()
				require.NoError(b, <-done)
				mu.Lock()
				slices.Sort(delays)
				pct := func(q float64) time.Duration { return delays[min(len(delays)-1, int(float64(len(delays))*q))] }
				require.NotEmpty(b, delays)
				b.Logf("%s: %d requests (%.0f/s), %d events, %d failed; apply delay p50 %s p99 %s max %s",
					bk.name, requests, float64(requests)/float64(secs), events, failed,
					pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), delays[len(delays)-1].Round(time.Millisecond))
				b.ReportMetric(pct(0.99).Seconds(), "p99-lag-s")
				b.ReportMetric(pct(0.5).Seconds(), "p50-lag-s")
				b.ReportMetric(float64(requests)/float64(secs), "appends/s")
				mu.Unlock()
			}
		})
	}
}

// drive runs custody bench's journey through commands at rate requests/s for d.
func drive(ctx context.Context, svc *commands.Service, rate int, d time.Duration) (requests, events, failed int64) {
	var req, ev, fail atomic.Int64
	tokens := make(chan struct{}, rate)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	go func() { // a token per request, spread evenly
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
		}
	}()
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-tokens:
			return true
		}
	}
	c := demo.Almaty
	var wg sync.WaitGroup
	// 32 appenders reach about 1,000 requests/s; 64 overload SQLite's single writer (each append
	// is its own fsync'd transaction), and the runner, whose transactions wait in SQLite's
	// sleeping busy handler rather than the store's queue, then loses the lock for up to a second.
	for w := range 32 {
		wg.Go(func() {
			for n := w * 1_000_000; ctx.Err() == nil; n++ {
				if err := journey(ctx, svc, c, n, wait, &req, &ev); err != nil && ctx.Err() == nil {
					fail.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return req.Load(), ev.Load(), fail.Load()
}

func journey(ctx context.Context, svc *commands.Service, c demo.City, n int, wait func() bool, req, ev *atomic.Int64) error {
	doc := uuid.New()
	s := domain.State{DocumentID: doc, Status: domain.StatusNew}
	step := func(t domain.EventType) error {
		if !wait() {
			return ctx.Err()
		}
		e, a := demo.Next(c, s, n, t, time.Now())
		if _, err := svc.AppendEvent(ctx, a, e, nil); err != nil {
			return err
		}
		req.Add(1)
		ev.Add(1)
		s = domain.Evolve(s, e)
		return nil
	}
	for _, t := range []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
		domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed} {
		if err := step(t); err != nil {
			return err
		}
	}
	acc := demo.ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
	if !wait() {
		return ctx.Err()
	}
	res, err := svc.FormRegistry(ctx, acc, commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
		FromUnit: c.GKAccumulation.Unit, ToUnit: c.KaspiIntake.Unit, DocumentIDs: []uuid.UUID{doc}, OccurredAt: time.Now()})
	if err != nil {
		return err
	}
	if !wait() {
		return ctx.Err()
	}
	if _, err := svc.HandOverRegistry(ctx, acc, commands.Handover{EventID: uuid.New(), RegistryID: res.RegistryID,
		Courier: c.GKCourier, OccurredAt: time.Now()}); err != nil {
		return err
	}
	if !wait() {
		return ctx.Err()
	}
	if _, err := svc.AcceptRegistry(ctx, demo.ActorOf(domain.RoleKaspiIntake, c.KaspiIntake), commands.Acceptance{
		EventID: uuid.New(), RegistryID: res.RegistryID, Accepted: []uuid.UUID{doc}, OccurredAt: time.Now()}); err != nil {
		return err
	}
	req.Add(3)
	ev.Add(6)
	st, _, err := svc.Document(ctx, doc)
	if err != nil {
		return err
	}
	s = st
	for _, t := range []domain.EventType{domain.OutForPostomatDelivery, domain.PlacedInCell, domain.CollectedByRecipient} {
		if err := step(t); err != nil {
			return err
		}
	}
	return nil
}
