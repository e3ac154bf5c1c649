package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

	// Each client goroutine drives one keep-alive connection itself (rawConn), as a load
	// generator such as wrk does: net/http's Transport would add two goroutines and a header
	// map per request, client CPU taken from the server it measures in this process.
	addr := l.Addr().String()
	conns := make(chan *rawConn, conc)
	for range conc {
		conns <- &rawConn{addr: addr}
	}
	defer func() {
		close(conns)
		for c := range conns {
			c.close()
		}
	}()
	auth := "Bearer " + secrets[domain.RoleKaspiPlatform]
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
		if a.Role != domain.RoleKaspiPlatform {
			return fmt.Errorf("DeliveryRequested is recorded by %s, not %s", a.Role, domain.RoleKaspiPlatform)
		}
		body, err := json.Marshal(createBody{DocumentID: doc, EventID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt,
			Actor: actorBody{Org: string(a.Org), Unit: a.Unit, EmployeeID: a.EmployeeID}, Data: e.Payload})
		if err != nil {
			return err
		}
		c := <-conns
		defer func() { conns <- c }()
		status, answer, err := c.post(ctx, "/v1/documents", auth, body)
		if err != nil {
			return fmt.Errorf("POST /v1/documents: %w", err)
		}
		if status != http.StatusCreated {
			return fmt.Errorf("POST /v1/documents: %d %s", status, answer)
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

// createBody is the body of POST /v1/documents, encoded as the API documents it.
type createBody struct {
	DocumentID uuid.UUID        `json:"document_id"`
	EventID    uuid.UUID        `json:"event_id"`
	Type       domain.EventType `json:"type"`
	OccurredAt time.Time        `json:"occurred_at"`
	Actor      actorBody        `json:"actor"`
	Data       any              `json:"data"`
}

type actorBody struct {
	Org        string `json:"org"`
	Unit       string `json:"unit"`
	EmployeeID string `json:"employee_id"`
}

// rawConn is one keep-alive HTTP/1.1 connection used by one goroutine at a time: it writes a
// request and reads the response in the calling goroutine. It redials after an error or a
// response that closes the connection.
type rawConn struct {
	addr string
	conn net.Conn
	in   *bufio.Reader
	out  bytes.Buffer
}

// post sends body to path and returns the status and, unless it is 201, the response body.
func (c *rawConn) post(ctx context.Context, path, auth string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.in = conn, bufio.NewReader(conn)
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		c.close()
		return 0, nil, err
	}
	c.out.Reset()
	fmt.Fprintf(&c.out, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, c.addr, auth, len(body))
	c.out.Write(body)
	if _, err := c.conn.Write(c.out.Bytes()); err != nil {
		c.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.in, nil)
	if err != nil {
		c.close()
		return 0, nil, err
	}
	var answer []byte
	if resp.StatusCode == http.StatusCreated {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		answer, err = io.ReadAll(resp.Body)
	}
	_ = resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	return resp.StatusCode, answer, err
}

func (c *rawConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn, c.in = nil, nil
	}
}
