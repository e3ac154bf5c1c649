package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/sqlite"
)

func event() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "Tested", SchemaVersion: 1, Data: []byte(`{"ok":true}`)}
}

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenCreatesDirsAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "custody.db")
	s := open(t, path)
	require.NoError(t, s.Close())
	s = open(t, path) // the second open must not re-apply anything

	rows, err := s.DB().QueryContext(t.Context(), `SELECT version_id FROM goose_eventstore WHERE is_applied ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var got []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v))
		got = append(got, v)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int64{0, 1}, got)
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custody.db")
	s := open(t, path)
	_, err := s.DB().ExecContext(t.Context(),
		`INSERT INTO goose_eventstore (version_id, is_applied) VALUES (999, 1)`)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = sqlite.Open(t.Context(), path)
	require.ErrorContains(t, err, "newer")
}

func TestOpenRefusesURLs(t *testing.T) {
	for _, p := range []string{"", "file:x.db", "x.db?mode=ro"} {
		_, err := sqlite.Open(t.Context(), p)
		assert.Error(t, err, p)
	}
}

// Every pooled connection must run with the settings durability depends on: the store's
// file fsyncs every commit (FULL); a Rebuildable file only its WAL checkpoints (NORMAL).
func TestPragmas(t *testing.T) {
	store := open(t, filepath.Join(t.TempDir(), "custody.db"))
	rebuildable, err := sqlite.OpenDB(t.Context(), filepath.Join(t.TempDir(), "custody.tlog.db"), sqlite.Rebuildable())
	require.NoError(t, err)
	t.Cleanup(func() { _ = rebuildable.Close() })
	for _, tc := range []struct {
		name string
		db   *sql.DB
		sync int
	}{
		{"the store's file: synchronous=FULL", store.DB(), 2},
		{"a rebuildable file: synchronous=NORMAL", rebuildable, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			conns := make([]interface{ Close() error }, 0, 4)
			defer func() {
				for _, c := range conns {
					_ = c.Close()
				}
			}()
			for range 4 { // hold several connections at once so each is a different one
				c, err := tc.db.Conn(ctx)
				require.NoError(t, err)
				conns = append(conns, c)
				var mode string
				var sync, fk, busy int
				require.NoError(t, c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
				require.NoError(t, c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync))
				require.NoError(t, c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk))
				require.NoError(t, c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy))
				assert.Equal(t, "wal", mode)
				assert.Equal(t, tc.sync, sync)
				assert.Equal(t, 1, fk, "foreign_keys=ON")
				assert.Positive(t, busy)
			}
		})
	}
}

// Two stores on one file behave like two processes: the file's write lock orders them, and a
// subscriber sees the other's events by polling.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "custody.db")
	a, b := open(t, path), open(t, path)
	ctx := t.Context()

	var got []eventstore.Record
	var mu sync.Mutex
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = a.Subscribe(subCtx, 0, func(r eventstore.Record) error {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
			return nil
		})
	}()

	var wg sync.WaitGroup
	for _, s := range []*sqlite.Store{a, b} {
		wg.Go(func() {
			for range 10 {
				_, err := eventstore.AppendOne(ctx, s, "shared", eventstore.Any, event())
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()

	all, err := b.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 20)
	rep, err := eventstore.VerifyAll(ctx, a)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Break)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 20
	}, 5*time.Second, 10*time.Millisecond, "the subscriber on a sees b's events")
	mu.Lock()
	defer mu.Unlock()
	for i := range got {
		assert.Equal(t, all[i].EventID, got[i].EventID)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "custody.db"))
	require.NoError(t, s.Close())
	_, err := eventstore.AppendOne(t.Context(), s, "x", eventstore.Any, event())
	require.Error(t, err)
	_, err = s.Head(t.Context())
	require.Error(t, err)
}
