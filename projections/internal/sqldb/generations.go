package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// Generation statuses.
const (
	StatusBuilding = "building"
	StatusLive     = "live"
	StatusRetired  = "retired"
)

// ErrNoGeneration: no generation is live yet (nothing built).
var ErrNoGeneration = errors.New("projections: no live read-model generation")

// Generation is one row of projections_generations.
type Generation struct {
	Gen          int64
	Status       string
	ModelVersion int64
	Position     uint64
	CreatedAt    time.Time
	SwitchedAt   time.Time
}

// Live returns the live generation, or ErrNoGeneration.
func Live(ctx context.Context, q Querier) (Generation, error) {
	gens, err := Generations(ctx, q)
	if err != nil {
		return Generation{}, err
	}
	for _, g := range gens {
		if g.Status == StatusLive {
			return g, nil
		}
	}
	return Generation{}, ErrNoGeneration
}

// Generations lists every generation, newest first.
func Generations(ctx context.Context, q Querier) ([]Generation, error) {
	rows, err := q.QueryContext(ctx, `SELECT gen, status, model_version, position, created_at, switched_at
		FROM projections_generations ORDER BY gen DESC`)
	if err != nil {
		return nil, fmt.Errorf("projections: read generations: %w", err)
	}
	defer rows.Close()
	var out []Generation
	for rows.Next() {
		var (
			g                Generation
			pos, created, sw int64
		)
		if err := rows.Scan(&g.Gen, &g.Status, &g.ModelVersion, &pos, &created, &sw); err != nil {
			return nil, fmt.Errorf("projections: read generations: %w", err)
		}
		g.Position, g.CreatedAt, g.SwitchedAt = uint64(pos), time.UnixMicro(created).UTC(), model.Time(sw, time.UTC)
		out = append(out, g)
	}
	return out, rows.Err()
}

// Position returns a generation's checkpoint.
func Position(ctx context.Context, q Querier, gen int64) (uint64, string, error) {
	var (
		pos    int64
		status string
	)
	err := q.QueryRowContext(ctx, `SELECT position, status FROM projections_generations WHERE gen = $1`, gen).Scan(&pos, &status)
	if err != nil {
		return 0, "", fmt.Errorf("projections: generation %d: %w", gen, err)
	}
	return uint64(pos), status, nil
}

// Create makes a new generation with empty tables, in status (building, or live when there is
// none yet), and returns its number.
func Create(ctx context.Context, db *sql.DB, d Dialect, status string, now time.Time) (int64, error) {
	return create(ctx, db, d, status, now, false)
}

// CreateUnlogged is Create for a generation to be built, whose tables PostgreSQL does not
// write to its WAL until SetLogged (a crash empties them; a rebuild is not resumed anyway).
func CreateUnlogged(ctx context.Context, db *sql.DB, d Dialect, now time.Time) (int64, error) {
	return create(ctx, db, d, StatusBuilding, now, d == Postgres)
}

// SetLogged makes the tables of a generation created by CreateUnlogged ordinary ones: PostgreSQL
// rewrites each into its WAL.
func SetLogged(ctx context.Context, db *sql.DB, gen int64) error {
	for _, t := range model.Tables {
		if _, err := db.ExecContext(ctx, "ALTER TABLE "+t.Name(gen)+" SET LOGGED"); err != nil {
			return fmt.Errorf("projections: set %s logged: %w", t.Name(gen), err)
		}
	}
	return nil
}

func create(ctx context.Context, db *sql.DB, d Dialect, status string, now time.Time, unlogged bool) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("projections: new generation: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if d == Postgres { // serialise generation numbering between processes
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1886547812, hashtext(current_schema()))`); err != nil {
			return 0, fmt.Errorf("projections: new generation: %w", err)
		}
	}
	if status == StatusLive {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM projections_generations WHERE status = $1`, StatusLive).Scan(&n); err != nil {
			return 0, fmt.Errorf("projections: new generation: %w", err)
		}
		if n > 0 {
			return 0, errLiveExists
		}
	}
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(gen), 0) + 1 FROM projections_generations`).Scan(&gen); err != nil {
		return 0, fmt.Errorf("projections: new generation: %w", err)
	}
	for _, t := range model.Tables {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t.Name(gen)); err != nil {
			return 0, fmt.Errorf("projections: new generation: %w", err)
		}
		ddl := t.DDL(gen)
		if unlogged {
			ddl = strings.Replace(ddl, "CREATE TABLE", "CREATE UNLOGGED TABLE", 1)
		}
		stmts := append([]string{ddl}, t.IndexDDL(gen, true)...)
		if status == StatusLive { // built incrementally while it serves: every index from the start
			stmts = append(stmts, t.IndexDDL(gen, false)...)
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return 0, fmt.Errorf("projections: create %s: %w", t.Name(gen), err)
			}
		}
	}
	sw := int64(0)
	if status == StatusLive {
		sw = now.UnixMicro()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO projections_generations (gen, status, model_version, position, created_at, switched_at)
		VALUES ($1, $2, $3, 0, $4, $5)`, gen, status, int64(model.Version), now.UnixMicro(), sw); err != nil {
		return 0, fmt.Errorf("projections: new generation: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("projections: new generation: %w", err)
	}
	return gen, nil
}

var errLiveExists = errors.New("projections: a live generation exists")

// IsLiveExists reports the error Create returns when asked for a first live generation that
// another process made first.
func IsLiveExists(err error) bool { return errors.Is(err, errLiveExists) }

// Restart empties the tables of a generation being built and sets its checkpoint back to
// zero.
func Restart(ctx context.Context, db *sql.DB, gen int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: restart generation %d: %w", gen, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE projections_generations SET position = 0 WHERE gen = $1 AND status = $2`, gen, StatusBuilding)
	if err != nil {
		return fmt.Errorf("projections: restart generation %d: %w", gen, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("projections: restart generation %d: it is no longer being built", gen)
	}
	for _, t := range model.Tables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.Name(gen)); err != nil {
			return fmt.Errorf("projections: restart generation %d: %w", gen, err)
		}
	}
	return tx.Commit()
}

// Switch makes gen the live generation and retires the one before, atomically.
func Switch(ctx context.Context, db *sql.DB, gen int64, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: switch to generation %d: %w", gen, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `UPDATE projections_generations SET status = $1 WHERE status = $2`, StatusRetired, StatusLive); err != nil {
		return fmt.Errorf("projections: switch to generation %d: %w", gen, err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE projections_generations SET status = $1, switched_at = $2 WHERE gen = $3 AND status = $4`,
		StatusLive, now.UnixMicro(), gen, StatusBuilding)
	if err != nil {
		return fmt.Errorf("projections: switch to generation %d: %w", gen, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("projections: switch to generation %d: it is no longer being built", gen)
	}
	return tx.Commit()
}

// Drop removes a generation's tables and row.
func Drop(ctx context.Context, db *sql.DB, gen int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: drop generation %d: %w", gen, err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range model.Tables {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t.Name(gen)); err != nil {
			return fmt.Errorf("projections: drop %s: %w", t.Name(gen), err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM projections_generations WHERE gen = $1`, gen); err != nil {
		return fmt.Errorf("projections: drop generation %d: %w", gen, err)
	}
	return tx.Commit()
}

// ErrFenced: the checkpoint moved under the writer (another runner applied the batch, or the
// generation was retired); the writer must reload and not apply anything.
var ErrFenced = errors.New("projections: checkpoint moved: another runner is active or the generation changed")

// Advance moves a generation's checkpoint from `from` to `to` inside tx, and fails with
// ErrFenced unless it was exactly at `from`. Done first in the batch transaction, it takes the
// generation row's lock, so two runners can never both apply the same batch.
func Advance(ctx context.Context, tx *sql.Tx, gen int64, from, to uint64) error {
	res, err := tx.ExecContext(ctx, `UPDATE projections_generations SET position = $1
		WHERE gen = $2 AND position = $3 AND status IN ($4, $5)`, int64(to), gen, int64(from), StatusLive, StatusBuilding)
	if err != nil {
		return fmt.Errorf("projections: advance checkpoint: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("projections: advance checkpoint: %w", err)
	}
	if n != 1 {
		return ErrFenced
	}
	return nil
}
