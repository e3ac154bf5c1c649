package transparency_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

// backend is an event store, its SQL database (db, holding the events) and the database the
// tree lives in (tree): the same on PostgreSQL, a file of its own on SQLite, as custody serve
// keeps them.
type backend struct {
	store   eventstore.Store
	db      *sql.DB
	tree    *sql.DB
	dialect transparency.Dialect
}

func sqliteBackend(t testing.TB) backend {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custody.db")
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	tree, err := sqlite.OpenDB(ctx, transparency.TreeFile(path), sqlite.Rebuildable())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tree.Close(); _ = s.Close() })
	return backend{store: s, db: s.DB(), tree: tree, dialect: projections.SQLite}
}

func pgBackend(t testing.TB) backend {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.Schema(t))
	require.NoError(t, err)
	db := stdlib.OpenDBFromPool(s.Pool())
	t.Cleanup(func() { _ = db.Close(); _ = s.Close() })
	return backend{store: s, db: db, tree: db, dialect: projections.Postgres}
}

// backends runs fn on SQLite and on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, open func(testing.TB) backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteBackend) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgBackend) })
}

// testKey makes a checkpoint key for an origin.
func testKey(t testing.TB, origin string) *transparency.Key {
	t.Helper()
	file, _, err := transparency.GenerateKey(origin)
	require.NoError(t, err)
	k, err := transparency.ParseKey(file)
	require.NoError(t, err)
	return k
}

// seedDocs appends events round-robin to docs document streams, perDoc events each, so the
// streams interleave in the global log. It returns the document ids.
func seedDocs(t testing.TB, s eventstore.Store, docs, perDoc int) []uuid.UUID {
	t.Helper()
	ids := make([]uuid.UUID, docs)
	for i := range ids {
		ids[i] = uuid.New()
	}
	for v := range perDoc {
		for _, id := range ids {
			appendTo(t, s, commands.DocumentStream(id), fmt.Sprintf(`{"n":%d}`, v))
		}
	}
	return ids
}

func appendTo(t testing.TB, s eventstore.Store, stream, data string) eventstore.Record {
	t.Helper()
	res, err := eventstore.AppendOne(context.Background(), s, stream, eventstore.Any,
		eventstore.EventData{ID: uuid.New(), Type: "TestEvent", SchemaVersion: 1, Data: []byte(data)})
	require.NoError(t, err)
	return res.Records[0]
}

// sequencer opens the log and a sequencer over it.
func sequencer(t testing.TB, b backend, opts transparency.Options) (*transparency.Log, *transparency.Sequencer) {
	t.Helper()
	l, err := transparency.OpenLog(context.Background(), b.tree, b.dialect)
	require.NoError(t, err)
	return l, transparency.NewSequencer(l, b.store, opts)
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
