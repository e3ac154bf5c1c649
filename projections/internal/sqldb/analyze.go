package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// Analyze gives PostgreSQL's planner what a freshly built generation lacks: statistics (without
// them it guesses a third of a table for a range, and scans the hand-overs of today's
// intervals sequentially) and the visibility map (without it an index-only scan reads the
// heap row by row: the console's counts over the clocks and the documents). It runs VACUUM
// (ANALYZE) on the generation's tables and the outbox; autovacuum keeps them up after that.
// SQLite's planner does without: nothing to do there.
func Analyze(ctx context.Context, db *sql.DB, d Dialect, gen int64) error {
	if d != Postgres {
		return nil
	}
	tables := []string{"projections_outbox"}
	for _, t := range model.Tables {
		tables = append(tables, t.Name(gen))
	}
	for _, t := range tables {
		if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return fmt.Errorf("projections: analyze %s: %w", t, err)
		}
	}
	return nil
}
