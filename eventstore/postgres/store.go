package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	channel string // NOTIFY channel of this schema
	poll    time.Duration
	hold    bool // serialise commits (benchmark comparison only)

	heads headCache           // where this process last saw streams end
	local eventstore.Notifier // wakes this process's subscribers after each commit
	ping  chan struct{}       // asks the notifier goroutine to tell other processes

	mu         sync.Mutex
	listeners  int                // running Subscribe calls
	stopListen context.CancelFunc // stops the LISTEN goroutine when the last one ends
	closed     bool
	bg         sync.WaitGroup
	stopBG     context.CancelFunc
}

var _ eventstore.Store = (*Store)(nil)

// Option configures Open.
type Option func(*config)

type config struct {
	schema   string
	poll     time.Duration
	maxConns int32
	hold     bool
}

// WithSchema puts the store's tables in schema (created if missing) and sets the pool's
// search_path to it. Without it the schema is the first entry of the URL's search_path
// parameter, else "public".
func WithSchema(schema string) Option { return func(c *config) { c.schema = schema } }

// WithPollInterval sets how often an idle subscriber reads the log without a wake-up
// (default 500ms). Wake-ups come from this process's commits at once and from other
// processes' commits through NOTIFY; polling only covers what those miss.
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.poll = d } }

// WithMaxConns sets the pool size unless the URL sets pool_max_conns (default 4×CPUs, at
// least 16, so concurrent writers share WAL flushes instead of queueing for a connection).
func WithMaxConns(n int) Option { return func(c *config) { c.maxConns = int32(n) } }

// withSerializedCommits makes every append hold the position lock until it has committed:
// the simple design this package does not use, kept so the benchmarks can measure it.
func withSerializedCommits() Option { return func(c *config) { c.hold = true } }

// Open connects to the PostgreSQL database at url (postgres://…), applies the embedded
// migrations to the store's schema and returns the store.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg := config{poll: 500 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if cfg.schema == "" {
		cfg.schema = firstSchema(pc.ConnConfig.RuntimeParams["search_path"])
	}
	if cfg.schema == "" {
		cfg.schema = "public"
	}
	pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.schema}.Sanitize()
	if !strings.Contains(url, "pool_max_conns") {
		pc.MaxConns = max(16, 4*int32(runtime.NumCPU()))
		if cfg.maxConns > 0 {
			pc.MaxConns = cfg.maxConns
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", mapErr(ctx, err))
	}
	if err := migrateSchema(ctx, pool, cfg.schema); err != nil {
		pool.Close()
		return nil, err
	}
	bgCtx, stopBG := context.WithCancel(context.Background())
	s := &Store{
		pool:    pool,
		schema:  cfg.schema,
		channel: channelName(cfg.schema),
		poll:    cfg.poll,
		hold:    cfg.hold,
		ping:    make(chan struct{}, 1),
		stopBG:  stopBG,
	}
	s.bg.Go(func() { s.notifyLoop(bgCtx) })
	return s, nil
}

// Pool returns the connection pool, whose search_path is the store's schema, for read models
// that live next to the events.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the schema that holds the store's tables.
func (s *Store) Schema() string { return s.schema }

// Close stops the background goroutines and closes the pool. Running subscriptions end with
// an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.stopListen != nil {
		s.stopListen()
	}
	s.mu.Unlock()
	s.stopBG()
	s.bg.Wait()
	s.pool.Close()
	return nil
}

var errClosed = errors.New("postgres: store is closed")

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func firstSchema(searchPath string) string {
	first, _, _ := strings.Cut(searchPath, ",")
	first = strings.TrimSpace(first)
	if strings.HasPrefix(first, `"`) && strings.HasSuffix(first, `"`) && len(first) >= 2 {
		return strings.ReplaceAll(first[1:len(first)-1], `""`, `"`)
	}
	if first == "$user" {
		return ""
	}
	return first
}

// channelName is the NOTIFY channel of a schema; channel names are identifiers, at most 63
// bytes, so long schema names are cut and made unique again with a hash.
func channelName(schema string) string {
	c := "custody_events." + schema
	if len(c) <= 63 {
		return c
	}
	var h uint32 = 2166136261
	for i := 0; i < len(schema); i++ {
		h = (h ^ uint32(schema[i])) * 16777619
	}
	return c[:54] + "." + strconv.FormatUint(uint64(h), 16)
}

// Migrations is the event store's migration component (version table goose_eventstore). The
// runner before goose kept its versions in schema_migrations; a schema it made is adopted.
// The schema itself is created under the migration lock.
func Migrations(schema string) migrate.Component {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // a constant path into an embedded FS
	}
	return migrate.Component{
		Name: "eventstore",
		FS:   sub,
		Prepare: func(ctx context.Context, db *sql.DB) error {
			_, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
			return err
		},
		Legacy: migrate.MaxVersionIn("schema_migrations", ""),
	}
}

func migrateSchema(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }() // the handle's own; the pool stays open
	if err := migrate.Up(ctx, db, migrate.Postgres, Migrations(schema)); err != nil {
		return fmt.Errorf("postgres: %w", mapErr(ctx, err))
	}
	return nil
}
