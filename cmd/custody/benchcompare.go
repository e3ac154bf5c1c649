package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/rounds"
)

// benchCompare measures, in one process and interleaved, the same single-event appends (a new
// document's DeliveryRequested) through the HTTP API and straight into the store, and prints
// HTTP ÷ store: what the API, the keys, the decoding and the command loop cost on top of the
// store. The API runs in this process on a loopback port, without the read models.
func benchCompare(ctx context.Context, store, read string, conc, nRounds int, roundTime time.Duration, out io.Writer) error {
	b, err := openBackend(ctx, store, read)
	if err != nil {
		return err
	}
	defer b.Close()
	secrets, err := mintKeys(ctx, b, benchUnits())
	if err != nil {
		return err
	}
	ks, err := b.keyStore(ctx)
	if err != nil {
		return err
	}
	handler, err := api.New(api.Config{Service: commands.New(b.events), Keys: ks, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	httpRun := &benchRun{url: "http://" + l.Addr().String(), client: client, keys: secrets}
	var seq atomic.Int64
	next := func() (uuid.UUID, domain.Event, domain.Actor) {
		doc := uuid.New()
		e, a := demo.Next(demo.Almaty, domain.State{DocumentID: doc, Status: domain.StatusNew}, int(seq.Add(1)),
			domain.DeliveryRequested, time.Now())
		e.ID = uuid.New()
		return doc, e, a
	}
	viaHTTP := func(ctx context.Context) error {
		doc, e, a := next()
		body := map[string]any{"document_id": doc, "event_id": e.ID, "type": e.Type, "occurred_at": e.OccurredAt,
			"actor": map[string]string{"org": string(a.Org), "unit": a.Unit, "employee_id": a.EmployeeID}, "data": e.Payload}
		if !httpRun.post(ctx, a.Role, "/v1/documents", body, nil) {
			return fmt.Errorf("POST /v1/documents failed: %v", httpRun.errors)
		}
		return nil
	}
	viaStore := func(ctx context.Context) error {
		doc, e, _ := next()
		data, err := domain.Encode(e)
		if err != nil {
			return err
		}
		_, err = eventstore.AppendOne(ctx, b.events, domain.DocumentStream(doc), eventstore.NoStream,
			eventstore.EventData{ID: e.ID, Type: string(e.Type), SchemaVersion: domain.SchemaVersion, Data: data})
		return err
	}
	res, err := rounds.Run(ctx, nRounds, roundTime, clients("http", conc, viaHTTP), clients("store", conc, viaStore))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "single-event appends, %d clients, %s each per round, store %s\n", conc, roundTime, redact(store))
	res.Write(out, "events/s", "store")
	return nil
}

// clients is a contender of conc goroutines, each calling op until the round's time is up.
func clients(name string, conc int, op func(context.Context) error) rounds.Contender {
	return rounds.Contender{Name: name, Run: func(ctx context.Context, d time.Duration) (float64, error) {
		var (
			done  atomic.Int64
			wg    sync.WaitGroup
			mu    sync.Mutex
			first error
		)
		start := time.Now()
		for range conc {
			wg.Go(func() {
				for time.Since(start) < d && ctx.Err() == nil {
					if err := op(ctx); err != nil {
						mu.Lock()
						first = errors.Join(first, err)
						mu.Unlock()
						return
					}
					done.Add(1)
				}
			})
		}
		wg.Wait()
		if first != nil {
			return 0, first
		}
		return float64(done.Load()) / time.Since(start).Seconds(), nil
	}}
}
