package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/custody-ledger/custody/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the projections' migration component (version table goose_projections): the
// global tables, outside any generation; the same files run on SQLite and PostgreSQL. The
// runner before goose kept its versions in projections_migrations; a database it made is
// adopted at that version.
func Migrations() migrate.Component {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // a constant path into an embedded FS
	}
	return migrate.Component{
		Name:   "projections",
		FS:     sub,
		Legacy: migrate.MaxVersionIn("projections_migrations", ""),
	}
}

// Migrate applies the pending migrations of the projections' global tables, under the
// database's migration lock (internal/migrate).
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	if err := migrate.Up(ctx, db, migrate.Dialect(d), Migrations()); err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	return nil
}
