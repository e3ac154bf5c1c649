package keys

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// Postgres keeps keys in table api_keys of a PostgreSQL database (the event store's pool,
// postgres.Store.Pool()), in the connection's search_path.
type Postgres struct{ sqlStore }

var _ Store = (*Postgres)(nil)

// postgresDialect stores TIMESTAMPTZ and serialises concurrent migrations by an advisory lock.
var postgresDialect = dialect{
	migration: "postgres.sql",
	lock:      `SELECT pg_advisory_xact_lock(hashtext('custody.api_keys'))`,
	numbered:  true,
	tieBreak:  "id",
	stamp:     func(t time.Time) any { return t },
}

// NewPostgres creates table api_keys if it is absent and returns a store on pool, through
// database/sql (stdlib.OpenDBFromPool: the pool keeps managing the connections). Concurrent
// starts are serialised by an advisory lock: CREATE TABLE IF NOT EXISTS alone can still fail
// when two sessions race.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool) (*Postgres, error) {
	db := stdlib.OpenDBFromPool(pool)
	s, err := newSQLStore(ctx, db, postgresDialect)
	if err != nil {
		_ = db.Close() // the handle's own; the pool stays open
		return nil, err
	}
	return &Postgres{s}, nil
}
