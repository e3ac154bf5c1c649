// Package sqldb is the thin SQL layer of the projections: embedded migrations of the global
// tables (migrate.go; version table goose_projections), generations of read-model tables
// (generations.go), and batched upserts and deletes (writer.go). Every statement is written once with $n
// placeholders, which both PostgreSQL (pgx stdlib) and SQLite (modernc) accept.
package sqldb

import (
	"context"
	"database/sql"
)

// Dialect names the SQL database the read models live in.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Valid reports whether d is a known dialect.
func (d Dialect) Valid() bool { return d == SQLite || d == Postgres }

// Querier is *sql.DB or *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
