package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/sqlite"
)

// createKeys makes, with the binary, a key for each unit the journeys use and an auditor's.
func createKeys(t *testing.T, bin, store string) map[domain.Role]string {
	t.Helper()
	secrets := map[domain.Role]string{}
	for _, s := range append(benchUnits(), keySpec{domain.RoleAuditor, ""}) {
		out, err := exec.Command(bin, "keys", "create", "--store", store, "--org", string(domain.OrgOf(s.role)),
			"--unit", s.unit, "--role", string(s.role)).Output()
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		secrets[s.role] = lines[len(lines)-1]
	}
	return secrets
}

// buildBinary builds custody into a temporary directory.
func buildBinary(t *testing.T) (dir, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "custody")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "go build")
	return dir, bin
}

// TestServeSurvivesPoisonEvent: the issue 10 §1 scenario with the real binary. A
// DeliveryDelayed to 9999-12-31 on a document with a Kaspi order, written straight into the
// store, used to make the projection panic and `custody serve` exit, again on every restart.
// Now serve stays up across restarts, /readyz says degraded, the other read models answer,
// and `custody projections quarantine` names the event without its payload.
func TestServeSurvivesPoisonEvent(t *testing.T) {
	dir, bin := buildBinary(t)
	path := filepath.Join(dir, "custody.db")
	store := "sqlite:" + path
	secrets := createKeys(t, bin, store)
	srv := startServer(t, bin, store)
	cl := &client{t: t, base: srv.url, keys: secrets}
	doc := cl.journey(1, false) // packed, with a Kaspi order
	stopServer(t, srv)

	// Straight into the store, past the API's checks.
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	var st domain.State
	st, stored, err := commands.New(s).Document(ctx, doc)
	require.NoError(t, err)
	e := domain.Event{ID: uuid.New(), DocumentID: doc, Type: domain.DeliveryDelayed, OccurredAt: st.LastOccurred.Add(time.Minute),
		Actor:   demo.ActorOf(domain.RoleKaspiPlatform, demo.Almaty.KaspiIntake),
		Payload: &domain.DeliveryDelayedData{NewDate: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Reason: "secret reason"}}
	data, err := domain.Encode(e)
	require.NoError(t, err)
	res, err := eventstore.AppendOne(ctx, s, commands.DocumentStream(doc), eventstore.Exact(uint64(len(stored))),
		eventstore.EventData{ID: e.ID, Type: string(e.Type), SchemaVersion: domain.SchemaVersion, Data: data})
	require.NoError(t, err)
	poison := res.Records[0].Position
	require.NoError(t, s.Close())

	for round := range 2 { // and again after a restart
		srv = startServer(t, bin, store)
		cl.base = srv.url
		ready := waitReady(t, srv.url, "degraded")
		assert.EqualValues(t, 1, ready["quarantined"], "round %d", round)
		// Writes and the read models still answer.
		other := cl.journey(10+round, false)
		var custody map[string]any
		require.Eventually(t, func() bool {
			status, body := cl.tryGet("/v1/documents/"+other.String()+"/custody", domain.RoleAuditor)
			return status == http.StatusOK && json.Unmarshal(body, &custody) == nil && custody["state"] == string(domain.StatusPacked)
		}, 20*time.Second, 50*time.Millisecond)
		cl.get("/v1/documents/"+doc.String()+"/custody", domain.RoleAuditor, &custody)
		assert.Equal(t, string(domain.StatusPacked), custody["state"])
		status, body := cl.tryGet("/metrics", "")
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, string(body), "custody_projection_quarantined 1")
		stopServer(t, srv)
	}

	out, err := exec.Command(bin, "projections", "quarantine", "--store", store).Output()
	require.NoError(t, err)
	var q struct {
		Position uint64 `json:"position"`
		Stream   string `json:"stream"`
		Type     string `json:"type"`
		Error    string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(out, &q), "%s", out)
	assert.Equal(t, poison, q.Position)
	assert.Equal(t, commands.DocumentStream(doc), q.Stream)
	assert.Equal(t, string(domain.DeliveryDelayed), q.Type)
	assert.Contains(t, q.Error, "year outside of range")
	assert.NotContains(t, string(out), "secret reason", "never the payload")
}

func stopServer(t *testing.T, srv *server) {
	t.Helper()
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, srv.cmd.Wait(), "graceful shutdown on SIGTERM")
}

// waitReady polls /readyz until its status is want, and returns the answer.
func waitReady(t *testing.T, url, want string) map[string]any {
	t.Helper()
	var last map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = nil
			_ = json.Unmarshal(body, &last)
			if last["status"] == want {
				return last
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz never said %q; last answer %v", want, last)
	return nil
}

func (c *client) tryGet(path string, role domain.Role) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+c.keys[role])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}
