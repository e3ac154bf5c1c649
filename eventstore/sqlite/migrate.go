package sqlite

import (
	"embed"
	"io/fs"

	"github.com/custody-ledger/custody/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations is the event store's migration component (version table goose_eventstore).
// The runner before goose kept its versions in schema_migrations under component
// "eventstore"; a file it made is adopted at that version.
func Migrations() migrate.Component {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err) // a constant path into an embedded FS
	}
	return migrate.Component{
		Name:   "eventstore",
		FS:     sub,
		Legacy: migrate.MaxVersionIn("schema_migrations", "component = 'eventstore'"),
	}
}
