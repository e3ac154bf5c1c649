package projections_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// backend is an event store and the SQL database the read models live in.
type backend struct {
	name    string
	store   eventstore.Store
	db      *sql.DB
	dialect projections.Dialect
}

// sqliteBackend opens the embedded store in a temporary file; its database holds the read
// models, as in production.
func sqliteBackend(t testing.TB) backend {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "custody.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return backend{name: "sqlite", store: s, db: s.DB(), dialect: projections.SQLite}
}

// pgBackend opens the PostgreSQL store in a schema of its own; the read models share its pool.
func pgBackend(t testing.TB) backend {
	t.Helper()
	url := pgtest.Schema(t)
	s, err := postgres.Open(context.Background(), url)
	require.NoError(t, err)
	db := stdlib.OpenDBFromPool(s.Pool())
	t.Cleanup(func() { _ = db.Close(); _ = s.Close() })
	return backend{name: "postgres", store: s, db: db, dialect: projections.Postgres}
}

// backends runs fn on SQLite and on PostgreSQL (skipped when no server is reachable).
func backends(t *testing.T, fn func(t *testing.T, b func(testing.TB) backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteBackend) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgBackend) })
}

// clock is a settable clock shared by the services and the projections.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func almaty(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, domain.Almaty)
}

// demoData caches generated data sets: generating through commands is the slow part.
var demoData sync.Map

// demoLog generates the demo data set (n documents, ending before now) on a memory store and
// returns its records in log order.
func demoLog(t testing.TB, n int, now time.Time) []eventstore.Record {
	t.Helper()
	key := fmt.Sprintf("%d/%s", n, now.Format(time.RFC3339))
	if v, ok := demoData.Load(key); ok {
		return v.([]eventstore.Record)
	}
	ctx := context.Background()
	m := memory.New()
	svc := commands.New(m, commands.WithClock(func() time.Time { return now }))
	_, err := demo.Generate(ctx, svc, demo.Options{Documents: n, Now: now, PerDay: 12})
	require.NoError(t, err)
	recs, err := m.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	demoData.Store(key, recs)
	return recs
}

// load appends records to a store in large atomic multi-stream appends (one fsync per
// chunk): each stream keeps its order; how streams interleave in the log may change.
func load(t testing.TB, s eventstore.Store, recs []eventstore.Record) {
	t.Helper()
	ctx := context.Background()
	for len(recs) > 0 {
		n := min(len(recs), 1000)
		var parts []eventstore.StreamAppend
		idx := map[string]int{}
		for _, r := range recs[:n] {
			i, ok := idx[r.StreamID]
			if !ok {
				i = len(parts)
				idx[r.StreamID] = i
				parts = append(parts, eventstore.StreamAppend{StreamID: r.StreamID, Expected: eventstore.Exact(r.Version - 1)})
			}
			parts[i].Events = append(parts[i].Events, eventstore.EventData{ID: r.EventID, Type: r.Type,
				SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata})
		}
		_, err := s.AppendMulti(ctx, parts...)
		require.NoError(t, err)
		recs = recs[n:]
	}
}

// dump renders every read-model table of a generation as text, ordered by primary key, for
// byte-for-byte comparison.
func dump(t testing.TB, db *sql.DB, gen int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range model.Tables {
		rows, err := sqldb.ReadRows(context.Background(), db, tb, gen, "")
		require.NoError(t, err)
		var b strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&b, "%q\n", []any(r))
		}
		out[tb.Base] = b.String()
	}
	return out
}

func liveGen(t testing.TB, db *sql.DB) int64 {
	t.Helper()
	g, err := sqldb.Live(context.Background(), db)
	require.NoError(t, err)
	return g.Gen
}

func open(t testing.TB, b backend, svc *commands.Service, o projections.Options) *projections.Projections {
	t.Helper()
	if svc == nil {
		o.DisableWatch = true
	}
	if o.Logger == nil && !testing.Verbose() {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := projections.Open(context.Background(), b.db, b.dialect, b.store, svc, o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}
