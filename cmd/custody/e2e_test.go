package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
)

// The end-to-end test builds the binary, serves on a fresh SQLite store, drives a postomat
// journey and a registry hand-over over HTTP, kills the server with SIGKILL in the middle of a
// stream of appends, restarts it, and checks that every acknowledged event is there, once, and
// that `custody verify` passes.
func TestEndToEndKillAndRestart(t *testing.T) {
	dir, bin := buildBinary(t)
	store := "sqlite:" + filepath.Join(dir, "custody.db")

	secrets := createKeys(t, bin, store)

	srv := startServer(t, bin, store)
	cl := &client{t: t, base: srv.url, keys: secrets}

	// A full postomat journey, with its dispatch registry, over HTTP.
	doc := cl.journey(1, true)
	var state map[string]any
	cl.get("/v1/documents/"+doc.String(), domain.RoleAuditor, &state)
	assert.Equal(t, string(domain.StatusCollected), state["state"])

	// A stream of appends (each a new document), killed mid-way.
	var (
		mu    sync.Mutex
		acked = map[uuid.UUID]uuid.UUID{} // event id -> document id
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				d := uuid.New()
				e, a := demo.Next(demo.Almaty, domain.State{DocumentID: d, Status: domain.StatusNew}, 1000*w+n,
					domain.DeliveryRequested, time.Now())
				status, _, err := cl.tryPost(a.Role, "/v1/documents", startBody(d, e, a))
				if err != nil || status != http.StatusCreated {
					continue // not acknowledged: may or may not be stored
				}
				mu.Lock()
				acked[e.ID] = d
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGKILL))
	_ = srv.cmd.Wait()
	close(stop)
	wg.Wait()
	require.NotEmpty(t, acked, "some appends were acknowledged before the kill")

	srv = startServer(t, bin, store)
	cl.base = srv.url
	for id, d := range acked {
		var evs struct {
			Events []struct {
				EventID uuid.UUID `json:"event_id"`
			} `json:"events"`
		}
		cl.get("/v1/documents/"+d.String()+"/events", domain.RoleAuditor, &evs)
		n := 0
		for _, e := range evs.Events {
			if e.EventID == id {
				n++
			}
		}
		require.Equal(t, 1, n, "acknowledged event %s is stored exactly once", id)
	}
	doc2 := cl.journey(2, false)
	cl.get("/v1/documents/"+doc2.String(), domain.RoleAuditor, &state)
	assert.Equal(t, string(domain.StatusPacked), state["state"], "the restarted server takes new events")

	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, srv.cmd.Wait(), "graceful shutdown on SIGTERM")
	out, err := exec.Command(bin, "verify", "--store", store).CombinedOutput()
	require.NoError(t, err, "custody verify: %s", out)
	assert.Contains(t, string(out), `"ok":true`)
	t.Logf("%d acknowledged appends survived SIGKILL; verify: %s", len(acked), strings.TrimSpace(string(out)))
}

type server struct {
	cmd *exec.Cmd
	url string
}

func startServer(t *testing.T, bin, store string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	cmd := exec.Command(bin, "serve", "--store", store, "--listen", addr)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() { // keep the pipe drained; show the server's log on failure
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if testing.Verbose() {
				t.Log(sc.Text())
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return &server{cmd: cmd, url: url}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not start")
	return nil
}

type client struct {
	t    *testing.T
	base string
	keys map[domain.Role]string
}

func startBody(doc uuid.UUID, e domain.Event, a domain.Actor) map[string]any {
	b := eventBody(e, a)
	b["document_id"] = doc
	return b
}

func eventBody(e domain.Event, a domain.Actor) map[string]any {
	return map[string]any{"event_id": e.ID, "type": e.Type, "occurred_at": e.OccurredAt,
		"actor": map[string]string{"org": string(a.Org), "unit": a.Unit, "employee_id": a.EmployeeID}, "data": e.Payload}
}

func (c *client) tryPost(role domain.Role, path string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.keys[role])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (c *client) post(role domain.Role, path string, body any, into any) {
	c.t.Helper()
	status, data, err := c.tryPost(role, path, body)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusCreated, status, "POST %s: %s", path, data)
	if into != nil {
		require.NoError(c.t, json.Unmarshal(data, into))
	}
}

func (c *client) get(path string, role domain.Role, into any) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.keys[role])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(c.t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, data)
	require.NoError(c.t, json.Unmarshal(data, into), string(data))
}

// journey drives one document to packing and, when full, through a dispatch registry to the
// recipient.
func (c *client) journey(n int, full bool) uuid.UUID {
	city := demo.Almaty
	doc := uuid.New()
	s := domain.State{DocumentID: doc, Status: domain.StatusNew}
	at := time.Now().Add(-2 * time.Hour)
	step := func(t domain.EventType) {
		at = at.Add(time.Minute)
		e, a := demo.Next(city, s, n, t, at)
		if s.Status == domain.StatusNew {
			c.post(a.Role, "/v1/documents", startBody(doc, e, a), nil)
		} else {
			c.post(a.Role, "/v1/documents/"+doc.String()+"/events", eventBody(e, a), nil)
		}
		s = domain.Evolve(s, e)
	}
	for _, t := range []domain.EventType{domain.DeliveryRequested, domain.DocumentIssued, domain.KaspiOrderCreated,
		domain.CollectedFromRags, domain.ReceivedAtAccumulation, domain.RoutedForDelivery, domain.Packed} {
		step(t)
	}
	if !full {
		return doc
	}
	var formed struct {
		RegistryID uuid.UUID `json:"registry_id"`
	}
	at = at.Add(time.Minute)
	c.post(domain.RoleGKAccumulation, "/v1/registries", map[string]any{"event_id": uuid.New(), "kind": domain.RegistryDispatch,
		"from_unit": city.GKAccumulation.Unit, "to_unit": city.KaspiIntake.Unit, "document_ids": []uuid.UUID{doc},
		"occurred_at": at}, &formed)
	reg := "/v1/registries/" + formed.RegistryID.String()
	at = at.Add(time.Minute)
	c.post(domain.RoleGKAccumulation, reg+"/handover", map[string]any{"event_id": uuid.New(),
		"courier": map[string]string{"unit": city.GKCourier.Unit, "employee_id": city.GKCourier.EmployeeID}, "occurred_at": at}, nil)
	at = at.Add(time.Minute)
	c.post(domain.RoleKaspiIntake, reg+"/acceptance", map[string]any{"event_id": uuid.New(), "accepted": []uuid.UUID{doc},
		"missing": []uuid.UUID{}, "damaged": []uuid.UUID{}, "occurred_at": at}, nil)
	stored, err := fetchState(c, doc)
	require.NoError(c.t, err)
	s = stored
	for _, t := range []domain.EventType{domain.OutForPostomatDelivery, domain.PlacedInCell, domain.CollectedByRecipient} {
		step(t)
	}
	return doc
}

// fetchState rebuilds the document's state from its events over HTTP, as an integrator would.
func fetchState(c *client, doc uuid.UUID) (domain.State, error) {
	var evs struct {
		Events []struct {
			Type       domain.EventType `json:"type"`
			OccurredAt time.Time        `json:"occurred_at"`
			EventID    uuid.UUID        `json:"event_id"`
			Data       json.RawMessage  `json:"data"`
		} `json:"events"`
	}
	c.get("/v1/documents/"+doc.String()+"/events", domain.RoleAuditor, &evs)
	s := domain.State{DocumentID: doc, Status: domain.StatusNew}
	for _, e := range evs.Events {
		p, err := domain.DecodePayload(e.Type, e.Data)
		if err != nil {
			return s, err
		}
		s = domain.Evolve(s, domain.Event{ID: e.EventID, DocumentID: doc, Type: e.Type, OccurredAt: e.OccurredAt, Payload: p})
	}
	return s, nil
}
