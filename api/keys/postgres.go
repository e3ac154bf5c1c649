package keys

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/custody-ledger/custody/internal/migrate"
)

// Postgres keeps keys in table api_keys of a PostgreSQL database (the event store's pool,
// postgres.Store.Pool()), in the connection's search_path.
type Postgres struct{ sqlStore }

var _ Store = (*Postgres)(nil)

// postgresDialect stores TIMESTAMPTZ.
var postgresDialect = dialect{
	migrate:  migrate.Postgres,
	numbered: true,
	tieBreak: "id",
	stamp:    func(t time.Time) any { return t },
}

// NewPostgres applies the keys' migrations and returns a store on pool, through database/sql
// (stdlib.OpenDBFromPool: the pool keeps managing the connections).
func NewPostgres(ctx context.Context, pool *pgxpool.Pool) (*Postgres, error) {
	db := stdlib.OpenDBFromPool(pool)
	s, err := newSQLStore(ctx, db, postgresDialect)
	if err != nil {
		_ = db.Close() // the handle's own; the pool stays open
		return nil, err
	}
	return &Postgres{s}, nil
}
