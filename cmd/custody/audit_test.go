package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// TestAuditCommands, end to end in process: `keys checkpoint` makes the key, `serve` sequences
// and publishes checkpoints to a directory, `audit export` writes a document's bundle,
// `audit verify` checks it offline (and fails naming an edited proof or another key), an
// application's bundle likewise (and fails naming its dropped last event), and `verify` compares the rebuilt tree with the checkpoints until an event is deleted.
func TestAuditCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "custody.db")
	store := "sqlite:" + dbPath
	keyFile, witness := filepath.Join(dir, "checkpoint.key"), filepath.Join(dir, "witness")
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
	out, err := cli("keys", "checkpoint", "--origin", "custody.test/log", "--out", keyFile)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	public := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(public, "custody.test/log+"), public)
	_, err = cli("keys", "checkpoint", "--out", keyFile)
	require.Error(t, err, "an existing key file is never overwritten")
	otherFile := filepath.Join(dir, "other.key")
	out, err = cli("keys", "checkpoint", "--origin", "custody.test/log", "--out", otherFile)
	require.NoError(t, err)
	other := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

	_, err = cli("demo", "--store", store, "--documents", "3")
	require.NoError(t, err)

	// Serve until the witness holds a checkpoint of the whole log.
	s, err := sqlite.Open(ctx, dbPath)
	require.NoError(t, err)
	recs, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	last := filepath.Join(witness, transparency.FileName(uint64(len(recs))))
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- run(sctx, []string{"serve", "--store", store, "--listen", "127.0.0.1:0", "--checkpoint-key", keyFile,
			"--checkpoint-publish", witness, "--checkpoint-every", "50ms"}, io.Discard, io.Discard)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for _, err := os.Stat(last); err != nil; _, err = os.Stat(last) {
		require.True(t, time.Now().Before(deadline), "no checkpoint of size %d published", len(recs))
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	require.NoError(t, <-served)

	doc := strings.TrimPrefix(recs[0].StreamID, "document-")
	bundle := filepath.Join(dir, "bundle.json")
	_, err = cli("audit", "export", "--store", store, "--document", doc, "--out", bundle)
	require.NoError(t, err)
	out, err = cli("audit", "verify", bundle, "--public-key", public, "--checkpoint", last)
	require.NoError(t, err)
	assert.Contains(t, out, "ok: ")
	assert.Contains(t, out, "document "+doc)
	assert.Contains(t, out, "ok: complete: version", "the stream's head at the checkpoint shows the bundle complete")

	_, err = cli("audit", "verify", bundle, "--public-key", other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "checkpoint signature")

	var b transparency.Bundle
	raw, err := os.ReadFile(bundle)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &b))
	require.NotEmpty(t, b.Events[1].Proof)
	b.Events[1].Proof[0][3] ^= 0x40
	edited := filepath.Join(dir, "edited.json")
	raw, err = json.Marshal(&b)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(edited, raw, 0o600))
	_, err = cli("audit", "verify", edited, "--public-key", public)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "inclusion proof")

	raw, err = os.ReadFile(bundle)
	require.NoError(t, err)
	var cut transparency.Bundle
	require.NoError(t, json.Unmarshal(raw, &cut))
	cut.Events = cut.Events[:len(cut.Events)-1] // the document's last event left out
	raw, err = json.Marshal(&cut)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(edited, raw, 0o600))
	_, err = cli("audit", "verify", edited, "--public-key", public)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is incomplete: the bundle ends at version")

	// An application of the RAGS services (its own stream), exported and verified the same way.
	i := slices.IndexFunc(recs, func(r eventstore.Record) bool { return strings.HasPrefix(r.StreamID, domain.ApplicationPrefix) })
	require.GreaterOrEqual(t, i, 0, "the demo files applications")
	app := strings.TrimPrefix(recs[i].StreamID, domain.ApplicationPrefix)
	appBundle := filepath.Join(dir, "application.json")
	_, err = cli("audit", "export", "--store", store, "--application", app, "--out", appBundle)
	require.NoError(t, err)
	out, err = cli("audit", "verify", appBundle, "--public-key", public, "--checkpoint", last)
	require.NoError(t, err)
	assert.Contains(t, out, "events of application "+app)
	assert.Contains(t, out, "ok: complete: version", "the application's stream head shows the bundle complete")
	assert.Contains(t, out, "is the application's last event")
	raw, err = os.ReadFile(appBundle)
	require.NoError(t, err)
	var appCut transparency.Bundle
	require.NoError(t, json.Unmarshal(raw, &appCut))
	require.Greater(t, len(appCut.Events), 1)
	appCut.Events = appCut.Events[:len(appCut.Events)-1]
	raw, err = json.Marshal(&appCut)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(edited, raw, 0o600))
	_, err = cli("audit", "verify", edited, "--public-key", public)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "application "+app+" is incomplete: the bundle ends at version")
	_, err = cli("audit", "export", "--store", store, "--application", app, "--document", doc)
	assert.ErrorIs(t, err, errUsage, "one of document, application and range")

	out, err = cli("verify", "--store", store, "--public-key", public, "--checkpoint", last)
	require.NoError(t, err, out)
	assert.Contains(t, out, `"key_pinned":true`)

	// The last event of a stream goes; every chain still holds, the tree does not.
	s, err = sqlite.Open(ctx, dbPath)
	require.NoError(t, err)
	_, err = s.DB().ExecContext(ctx, `DELETE FROM events WHERE position = $1`, recs[len(recs)-1].Position)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = cli("verify", "--store", store, "--public-key", public, "--checkpoint", last)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not match its signed checkpoints")
}

// TestTreeMovedToItsOwnFile: a store whose tree an earlier version kept in the store's own
// file: `verify` moves the tree (checkpoints and all) to custody.tlog.db and checks the log
// against the moved checkpoints; the store's file keeps no tree table.
func TestTreeMovedToItsOwnFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "custody.db")
	store := "sqlite:" + dbPath
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
	_, err := cli("demo", "--store", store, "--documents", "2")
	require.NoError(t, err)

	s, err := sqlite.Open(ctx, dbPath)
	require.NoError(t, err)
	file, public, err := transparency.GenerateKey("custody.test/log")
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "checkpoint.key")
	require.NoError(t, os.WriteFile(keyFile, file, 0o600))
	key, err := transparency.LoadKey(keyFile)
	require.NoError(t, err)
	old, err := transparency.OpenLog(ctx, s.DB(), projections.SQLite)
	require.NoError(t, err)
	require.NoError(t, transparency.NewSequencer(old, s, transparency.Options{Key: key}).CatchUp(ctx))
	cp, err := old.Latest(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = os.Stat(transparency.TreeFile(dbPath))
	require.ErrorIs(t, err, os.ErrNotExist)

	out, err := cli("verify", "--store", store, "--public-key", public)
	require.NoError(t, err, out)
	var rep struct {
		Tree transparency.TreeReport `json:"tree"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.True(t, rep.Tree.OK)
	assert.Equal(t, []uint64{cp.Size}, rep.Tree.Checkpoints, "the moved checkpoint is the one compared")
	assert.FileExists(t, transparency.TreeFile(dbPath))

	s, err = sqlite.Open(ctx, dbPath)
	require.NoError(t, err)
	defer s.Close()
	var n int
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'tlog%'`).Scan(&n))
	assert.Zero(t, n, "no tree table is left in the store's file")
}
