// Package migrate applies the ledger's SQL migrations with goose (github.com/pressly/goose/v3).
// Each component (the event store, the API keys, the projections, the transparency log…)
// brings its own embedded *.sql files and keeps its own version table, goose_<name>, so
// components evolve independently in one database. Every Up takes one lock per database (per
// PostgreSQL search_path, per SQLite file) before it creates anything, so servers started at
// the same moment on an empty database wait for each other instead of colliding.
//
// Adding a migration: put NNNN_what.sql next to the component's others (the next number),
// starting with "-- +goose Up"; wrap statements that contain semicolons of their own
// (function bodies) in "-- +goose StatementBegin" / "-- +goose StatementEnd". Each file runs
// in one transaction. A new component declares a Component and calls Up on open.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// Dialect names the database: the values match the projections' and the store URLs'.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

func (d Dialect) goose() (goose.Dialect, error) {
	switch d {
	case SQLite:
		return goose.DialectSQLite3, nil
	case Postgres:
		return goose.DialectPostgres, nil
	}
	return "", fmt.Errorf("migrate: unknown dialect %q", d)
}

// Component is one owner of tables.
type Component struct {
	// Name is short and lower-case; the version table is goose_<Name>.
	Name string
	// FS holds the migrations at its root (fs.Sub of an embed.FS).
	FS fs.FS
	// Prepare, when set, runs under the lock before the version table is looked at (the event
	// store creates its PostgreSQL schema here).
	Prepare func(ctx context.Context, db *sql.DB) error
	// Legacy, when set, reports the highest version a runner older than goose applied, so a
	// database made before goose is adopted instead of migrated again. It runs only while the
	// version table does not exist yet.
	Legacy func(ctx context.Context, db *sql.DB, d Dialect) (int64, error)
}

var reName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Table is the component's goose version table.
func (c Component) Table() string { return "goose_" + c.Name }

// Up applies every pending migration of the components, in the order given, under the
// database's migration lock.
func Up(ctx context.Context, db *sql.DB, d Dialect, cs ...Component) error {
	if _, err := d.goose(); err != nil {
		return err
	}
	for _, c := range cs {
		if !reName.MatchString(c.Name) || c.FS == nil {
			return fmt.Errorf("migrate: component %q: want a lower-case name and migrations", c.Name)
		}
	}
	unlock, err := lock(ctx, db, d)
	if err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer unlock()
	for _, c := range cs {
		if err := up(ctx, db, d, c); err != nil {
			return fmt.Errorf("migrate %s: %w", c.Name, err)
		}
	}
	return nil
}

func up(ctx context.Context, db *sql.DB, d Dialect, c Component) error {
	if c.Prepare != nil {
		if err := c.Prepare(ctx, db); err != nil {
			return err
		}
	}
	gd, _ := d.goose()
	p, err := goose.NewProvider(gd, db, c.FS,
		goose.WithTableName(c.Table()),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(goose.NopLogger()))
	if err != nil {
		return err
	}
	if c.Legacy != nil {
		if err := adopt(ctx, db, d, c, p); err != nil {
			return err
		}
	}
	if err := refuseNewer(ctx, p); err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return err
	}
	for _, r := range res {
		slog.InfoContext(ctx, "migration applied", "component", c.Name, "version", r.Source.Version,
			"file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// refuseNewer stops a program from running on a schema a newer one has migrated: goose would
// go on silently.
func refuseNewer(ctx context.Context, p *goose.Provider) error {
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	var known int64
	for _, s := range p.ListSources() {
		known = max(known, s.Version)
	}
	if have > known {
		return fmt.Errorf("database schema version %d is newer than this program's %d", have, known)
	}
	return nil
}

// adopt records as applied, in a new version table, the migrations an older runner applied.
func adopt(ctx context.Context, db *sql.DB, d Dialect, c Component, p *goose.Provider) error {
	exists, err := TableExists(ctx, db, d, c.Table())
	if err != nil || exists {
		return err
	}
	done, err := c.Legacy(ctx, db, d)
	if err != nil {
		return fmt.Errorf("read the versions of the earlier runner: %w", err)
	}
	if done <= 0 {
		return nil
	}
	gd, _ := d.goose()
	store, err := database.NewStore(gd, c.Table())
	if err != nil {
		return err
	}
	known := map[int64]bool{}
	for _, s := range p.ListSources() {
		known[s.Version] = true
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := store.CreateVersionTable(ctx, tx); err != nil {
		return fmt.Errorf("create %s: %w", c.Table(), err)
	}
	for v := int64(0); v <= done; v++ {
		if v > 0 && !known[v] {
			return fmt.Errorf("the earlier runner applied version %d, which this program does not have", v)
		}
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return fmt.Errorf("adopt version %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	slog.InfoContext(ctx, "migrations adopted from the earlier runner", "component", c.Name, "version", done)
	return nil
}

// TableExists reports whether table exists in the schema the connection uses.
func TableExists(ctx context.Context, db *sql.DB, d Dialect, table string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if d == Postgres {
		q = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	var n int
	if err := db.QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", table, err)
	}
	return n > 0, nil
}

// MaxVersionIn is a Legacy for runners that kept their versions in a table: the largest
// version in table (matching where, if given), or 0 when the table does not exist.
func MaxVersionIn(table, where string) func(context.Context, *sql.DB, Dialect) (int64, error) {
	return func(ctx context.Context, db *sql.DB, d Dialect) (int64, error) {
		ok, err := TableExists(ctx, db, d, table)
		if err != nil || !ok {
			return 0, err
		}
		q := `SELECT COALESCE(MAX(version), 0) FROM ` + table
		if where != "" {
			q += ` WHERE ` + where
		}
		var v int64
		if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
			return 0, fmt.Errorf("read %s: %w", table, err)
		}
		return v, nil
	}
}

// IfTableExists is a Legacy for runners that kept no versions: version v is applied when
// table exists.
func IfTableExists(table string, v int64) func(context.Context, *sql.DB, Dialect) (int64, error) {
	return func(ctx context.Context, db *sql.DB, d Dialect) (int64, error) {
		ok, err := TableExists(ctx, db, d, table)
		if err != nil || !ok {
			return 0, err
		}
		return v, nil
	}
}
