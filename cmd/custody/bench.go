package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
)

// cmdBench drives postomat journeys over HTTP against a running server and reports
// throughput and latency percentiles; with --compare, see benchCompare. Keys are minted in the server's store (--store), which
// the server sees at once.
func cmdBench(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	store, read := storeFlags(fs)
	url := fs.String("url", "http://127.0.0.1:8080", "the server's base URL")
	conc := fs.Int("concurrency", 8, "concurrent clients, each driving its own documents")
	dur := fs.Duration("duration", 10*time.Second, "how long to run")
	compare := fs.Bool("compare", false, "serve the API in this process and compare HTTP appends with store appends, interleaved (--url is not used)")
	nRounds := fs.Int("rounds", 3, "with --compare: interleaved rounds (at least 3)")
	roundTime := fs.Duration("round-time", 3*time.Second, "with --compare: how long each contender runs per round")
	cpuProfile := fs.String("cpuprofile", "", "with --compare: write a CPU profile of the run (server and clients) to this file")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *compare {
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return benchCompare(ctx, *store, *read, *conc, max(3, *nRounds), *roundTime, out)
	}
	b, err := openBackend(ctx, *store, *read)
	if err != nil {
		return err
	}
	secrets, err := mintKeys(ctx, b, benchUnits())
	b.Close()
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}, Timeout: 30 * time.Second}
	r := &benchRun{url: strings.TrimRight(*url, "/"), client: client, keys: secrets}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				r.journey(ctx, w*1_000_000+n)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	return r.report(out, *conc, elapsed)
}

type benchRun struct {
	url    string
	client *http.Client
	keys   map[domain.Role]string

	mu        sync.Mutex
	latencies []time.Duration
	events    int
	errors    map[string]int
	journeys  int
}

// benchUnits lists the keys a journey needs: one per role at the demo city's units.
func benchUnits() []keySpec {
	c := demo.Almaty
	return []keySpec{
		{domain.RoleKaspiPlatform, demo.Platform.Unit}, {domain.RoleRAGS, c.RAGS.Unit},
		{domain.RoleGKCourier, c.GKCourier.Unit}, {domain.RoleGKAccumulation, c.GKAccumulation.Unit},
		{domain.RoleKaspiIntake, c.KaspiIntake.Unit}, {domain.RoleKaspiCourier, c.KaspiCourier.Unit},
	}
}

// journey: 7 single appends up to packing, a one-line dispatch registry formed, handed over
// and accepted, then 3 appends to the recipient: 13 requests, 16 events.
func (r *benchRun) journey(ctx context.Context, n int) {
	c := demo.Almaty
	doc := uuid.New()
	s := domain.State{DocumentID: doc, Status: domain.StatusNew}
	step := func(t domain.EventType) bool {
		e, a := demo.Next(c, s, n, t, time.Now())
		e.ID = uuid.New()
		path := "/v1/documents/" + doc.String() + "/events"
		body := map[string]any{"event_id": e.ID, "type": e.Type, "occurred_at": e.OccurredAt,
			"actor": map[string]string{"org": string(a.Org), "unit": a.Unit, "employee_id": a.EmployeeID}, "data": e.Payload}
		if s.Status == domain.StatusNew {
			path, body["document_id"] = "/v1/documents", doc
		}
		if !r.post(ctx, a.Role, path, body, nil) {
			return false
		}
		s = domain.Evolve(s, e)
		return true
	}
	for _, t := range []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
		domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed} {
		if !step(t) {
			return
		}
	}
	var formed struct {
		RegistryID uuid.UUID `json:"registry_id"`
	}
	if !r.post(ctx, domain.RoleGKAccumulation, "/v1/registries", map[string]any{"event_id": uuid.New(), "kind": domain.RegistryDispatch,
		"from_unit": c.GKAccumulation.Unit, "to_unit": c.KaspiIntake.Unit, "document_ids": []uuid.UUID{doc},
		"occurred_at": time.Now()}, &formed) {
		return
	}
	reg := "/v1/registries/" + formed.RegistryID.String()
	if !r.post(ctx, domain.RoleGKAccumulation, reg+"/handover", map[string]any{"event_id": uuid.New(),
		"courier": map[string]string{"unit": c.GKCourier.Unit, "employee_id": c.GKCourier.EmployeeID}, "occurred_at": time.Now()}, nil) {
		return
	}
	if !r.post(ctx, domain.RoleKaspiIntake, reg+"/acceptance", map[string]any{"event_id": uuid.New(), "accepted": []uuid.UUID{doc},
		"missing": []uuid.UUID{}, "damaged": []uuid.UUID{}, "occurred_at": time.Now()}, nil) {
		return
	}
	// Each registry step writes the registry's event and the document's: formed (AddedToRegistry),
	// handed over (HandedToCourier), accepted (AcceptedAtKaspiIntake).
	r.addEvents(6)
	holder := c.KaspiIntake
	s.Status, s.Holder, s.LastOccurred = domain.StatusAtKaspiIntake, &holder, time.Now()
	for _, t := range []domain.EventType{domain.OutForPostomatDelivery, domain.PlacedInCell, domain.CollectedByRecipient} {
		if !step(t) {
			return
		}
	}
	r.mu.Lock()
	r.journeys++
	r.mu.Unlock()
}

func (r *benchRun) addEvents(n int) {
	r.mu.Lock()
	r.events += n
	r.mu.Unlock()
}

// post sends one request and records its latency; it reports whether it got a 201.
func (r *benchRun) post(ctx context.Context, role domain.Role, path string, body any, into any) bool {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+path, bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.keys[role])
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := r.client.Do(req)
	lat := time.Since(start)
	if err != nil {
		if ctx.Err() == nil {
			r.fail("transport")
		}
		return false
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(data, &p)
		r.fail(fmt.Sprintf("%d %s", resp.StatusCode, p.Code))
		return false
	}
	if into != nil {
		_ = json.Unmarshal(data, into)
	}
	r.mu.Lock()
	r.latencies = append(r.latencies, lat)
	if !strings.HasPrefix(path, "/v1/registries") {
		r.events++
	}
	r.mu.Unlock()
	return true
}

func (r *benchRun) fail(what string) {
	r.mu.Lock()
	if r.errors == nil {
		r.errors = map[string]int{}
	}
	r.errors[what]++
	r.mu.Unlock()
}

func (r *benchRun) report(out io.Writer, conc int, elapsed time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	secs := elapsed.Seconds()
	fmt.Fprintf(out, "concurrency %d, %.1fs: %d journeys, %d requests (%.0f req/s), %d events (%.0f events/s)\n",
		conc, secs, r.journeys, len(lat), float64(len(lat))/secs, r.events, float64(r.events)/secs)
	fmt.Fprintf(out, "latency p50 %s  p90 %s  p99 %s  max %s\n", pct(0.50).Round(time.Microsecond),
		pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	for what, n := range r.errors {
		fmt.Fprintf(out, "errors %s: %d\n", what, n)
	}
	if len(lat) == 0 {
		return fmt.Errorf("no request succeeded")
	}
	return nil
}
