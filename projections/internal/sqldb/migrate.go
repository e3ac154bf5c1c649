package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies the embedded migrations that are not yet recorded in
// projections_migrations. Concurrent callers are serialised by the database (an advisory
// transaction lock on PostgreSQL, BEGIN IMMEDIATE on the event store's SQLite handle).
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS projections_migrations (
		version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("projections: create projections_migrations: %w", err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(files)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1886547812, hashtext(current_schema()))`); err != nil {
			return fmt.Errorf("projections: migrate lock: %w", err)
		}
	}
	applied := map[int64]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM projections_migrations`)
	if err != nil {
		return fmt.Errorf("projections: migrate: %w", err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		v, err := strconv.ParseInt(name[:4], 10, 64)
		if err != nil {
			return fmt.Errorf("projections: migration %s: %w", name, err)
		}
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		for _, stmt := range splitSQL(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("projections: migration %s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO projections_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			v, name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("projections: record migration %s: %w", name, err)
		}
	}
	return tx.Commit()
}

// splitSQL splits a migration into statements at semicolons ending a line, dropping comments.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}
