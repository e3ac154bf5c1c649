package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
)

// TestServeReadyMeansReady: on a store the demo filled, no read-model answer given while
// /readyz says ready misses a registry of the log (issue 10 §9).
func TestServeReadyMeansReady(t *testing.T) {
	dir, bin := buildBinary(t)
	path := filepath.Join(dir, "custody.db")
	store := "sqlite:" + path
	out, err := exec.Command(bin, "demo", "--store", store, "--documents", "120").Output()
	require.NoError(t, err)
	auditor := regexp.MustCompile(`(?m)^\s+auditor\s+(\S+)\s*$`).FindSubmatch(out)
	require.NotNil(t, auditor, "%s", out)

	s, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	recs, err := s.ReadAll(context.Background(), 0, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	registries := map[string]bool{}
	for _, r := range recs {
		if strings.HasPrefix(r.StreamID, domain.RegistryPrefix) {
			registries[r.StreamID] = true
		}
	}
	require.NotEmpty(t, registries)

	srv := startServer(t, bin, store)
	cl := &client{t: t, base: srv.url, keys: map[domain.Role]string{domain.RoleAuditor: string(auditor[1])}}
	ready, notReady := 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for ready < 3 {
		require.True(t, time.Now().Before(deadline), "never ready")
		status, body := cl.tryGet("/readyz", "")
		if status != http.StatusOK {
			notReady++
			assert.Contains(t, string(body), "not ready", "the answer says why")
			continue
		}
		ready++
		status, body = cl.tryGet("/v1/registries?limit=1000", domain.RoleAuditor)
		require.Equal(t, http.StatusOK, status, "%s", body)
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		require.NoError(t, json.Unmarshal(body, &list))
		require.Len(t, list.Items, len(registries), "ready, so every registry of the log is there")
	}
	t.Logf("%d events; /readyz said not ready %d times first", len(recs), notReady)
	stopServer(t, srv)
}
