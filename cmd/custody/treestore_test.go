package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// TestSequencerOnItsOwnTreeStore, end to end in process on PostgreSQL: the tree lives apart
// from the store (--tree-store; here another schema, where a deployment names another
// server); `serve --sequencer=false` adds nothing to it, `custody sequence` builds and signs
// it, the API serves that process's checkpoints and proofs, the store's schema holds no tree
// table, and `verify` and `audit export` read the same tree.
func TestSequencerOnItsOwnTreeStore(t *testing.T) {
	ctx := context.Background()
	storeURL, treeURL := pgtest.Schema(t), pgtest.Schema(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "checkpoint.key")
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
	lastLine := func(out string) string {
		out = strings.TrimSpace(out)
		return out[strings.LastIndex(out, "\n")+1:]
	}
	out, err := cli("keys", "checkpoint", "--origin", "custody.test/log", "--out", keyFile)
	require.NoError(t, err)
	public := lastLine(out)
	_, err = cli("demo", "--store", storeURL, "--documents", "2")
	require.NoError(t, err)
	out, err = cli("keys", "create", "--store", storeURL, "--org", string(domain.OrgOf(domain.RoleAuditor)), "--role", string(domain.RoleAuditor))
	require.NoError(t, err)
	auditor := lastLine(out)
	s, err := postgres.Open(ctx, storeURL)
	require.NoError(t, err)
	recs, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NotEmpty(t, recs)

	treeDB, err := sql.Open("pgx", treeURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = treeDB.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+auditor)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "not within 20s: %s", what)
		}
	}

	sctx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- run(sctx, []string{"serve", "--store", storeURL, "--tree-store", treeURL, "--sequencer=false",
			"--listen", addr}, io.Discard, io.Discard)
	}()
	defer func() { stopServe(); <-served }()
	waitFor("the server is ready", func() bool { code, _ := get("/readyz"); return code == http.StatusOK })
	time.Sleep(200 * time.Millisecond) // a sequencer in serve would have added the demo log by now
	tl, err := transparency.OpenLog(ctx, treeDB, projections.Postgres)
	require.NoError(t, err)
	n, _, err := tl.Size(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "serve --sequencer=false adds nothing to the tree")
	code, _ := get("/v1/checkpoints/latest")
	assert.Equal(t, http.StatusNotFound, code)

	qctx, stopSequence := context.WithCancel(ctx)
	sequenced := make(chan error, 1)
	go func() {
		sequenced <- run(qctx, []string{"sequence", "--store", storeURL, "--tree-store", treeURL,
			"--checkpoint-key", keyFile, "--checkpoint-every", "50ms"}, io.Discard, io.Discard)
	}()
	var cp struct {
		Size uint64 `json:"size"`
		Note string `json:"note"`
	}
	waitFor("the API serves the sequence process's checkpoint of the whole log", func() bool {
		code, body := get("/v1/checkpoints/latest")
		return code == http.StatusOK && json.Unmarshal(body, &cp) == nil && cp.Size == uint64(len(recs))
	})
	verifier, err := note.NewVerifier(public)
	require.NoError(t, err)
	_, err = note.Open([]byte(cp.Note), note.VerifierList(verifier))
	require.NoError(t, err, "the checkpoint is signed with the sequence process's key")
	code, body := get("/v1/proofs/inclusion?position=1&size=" + strconv.FormatUint(cp.Size, 10))
	require.Equal(t, http.StatusOK, code, string(body))
	stopSequence()
	require.NoError(t, <-sequenced)

	for url, want := range map[string]bool{storeURL: false, treeURL: true} {
		db, err := sql.Open("pgx", url)
		require.NoError(t, err)
		var tables int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_name LIKE 'tlog%'`).Scan(&tables))
		require.NoError(t, db.Close())
		assert.Equal(t, want, tables > 0, "tree tables in %s", redact(url))
	}

	out, err = cli("verify", "--store", storeURL, "--tree-store", treeURL, "--public-key", public)
	require.NoError(t, err, out)
	assert.Contains(t, out, `"key_pinned":true`)
	doc := strings.TrimPrefix(recs[0].StreamID, domain.DocumentPrefix)
	bundle := filepath.Join(dir, "bundle.json")
	_, err = cli("audit", "export", "--store", storeURL, "--tree-store", treeURL, "--document", doc, "--out", bundle)
	require.NoError(t, err)
	out, err = cli("audit", "verify", bundle, "--public-key", public)
	require.NoError(t, err, out)
	assert.Contains(t, out, "document "+doc)
}

// TestTreeStoreRefusesOtherURLs: --tree-store takes postgres:// or sqlite:PATH, refused before
// anything is opened; a tree store that cannot be reached is named without its password.
func TestTreeStoreRefusesOtherURLs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custody.db")
	store := "sqlite:" + path
	for _, bad := range []string{"mysql://u:secret@h/db", "sqlite:"} {
		for _, cmd := range [][]string{{"verify"}, {"serve", "--listen", "127.0.0.1:0"}, {"sequence"}, {"audit", "export", "--from", "1"}} {
			err := run(context.Background(), append(cmd, "--store", store, "--tree-store", bad), io.Discard, io.Discard)
			require.ErrorIs(t, err, errUsage, "%s %s", cmd, bad)
			assert.NotContains(t, err.Error(), "secret")
		}
	}
	assert.NoFileExists(t, path, "nothing was opened")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"verify", "--store", store, "--tree-store", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open the tree store")
	assert.NotContains(t, err.Error(), "secret")
}
