// Package sqldb is the thin SQL layer of the projections: embedded migrations of the global
// tables (projections_migrations, separate from the event store's), generations of read-model
// tables, and batched upserts and deletes. Every statement is written once with $n
// placeholders, which both PostgreSQL (pgx stdlib) and SQLite (modernc) accept.
package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// Dialect names the SQL database the read models live in.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Valid reports whether d is a known dialect.
func (d Dialect) Valid() bool { return d == SQLite || d == Postgres }

//go:embed migrations/*.sql
var migrations embed.FS

// Generation statuses.
const (
	StatusBuilding = "building"
	StatusLive     = "live"
	StatusRetired  = "retired"
)

// ErrNoGeneration: no generation is live yet (nothing built).
var ErrNoGeneration = errors.New("projections: no live read-model generation")

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

// Querier is *sql.DB or *sql.Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
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
		stmts := append([]string{t.DDL(gen)}, t.IndexDDL(gen, true)...)
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

// CreateIndexes creates the secondary indexes a generation being built does without (see
// model.Index), before it is switched to.
func CreateIndexes(ctx context.Context, db *sql.DB, gen int64) error {
	for _, t := range model.Tables {
		for _, stmt := range t.IndexDDL(gen, false) {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("projections: index %s: %w", t.Name(gen), err)
			}
		}
	}
	return nil
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

// maxChunk bounds the rows of one statement (and so its placeholders: SQLite allows 32766).
const maxChunk = 128

// Writer writes row changes to one generation's tables with multi-row statements. Chunks are
// powers of two, so each table has a handful of distinct statements (pgx caches prepared
// statements by text).
type Writer struct {
	gen     int64
	dialect Dialect
	mu      sync.Mutex
	cache   map[string]string
	// BulkRows: from this many upserts of one table in a batch, PostgreSQL takes the bulk path.
	BulkRows int
}

// NewWriter returns a writer for generation gen.
func NewWriter(gen int64, d Dialect) *Writer {
	return &Writer{gen: gen, dialect: d, cache: map[string]string{}}
}

// param is the n-th placeholder. SQLite gets anonymous "?" (the arguments come in placeholder
// order): it resolves "$n" by name, a linear search per parameter, which made statements of
// thousands of parameters quadratic.
func (w *Writer) param(n int) string {
	if w.dialect == SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// DefaultBulkRows is how many upserts of one table in one batch make the PostgreSQL bulk path
// (COPY into a staging table, then one INSERT ... SELECT ... ON CONFLICT) worth its extra
// round trips; it is about 1.6 times faster per row than multi-row INSERT statements.
const DefaultBulkRows = 128

// Apply writes the changes: deletions first, then upserts, table by table. conn is the
// connection tx runs on (for COPY on PostgreSQL); it may be nil.
func (w *Writer) Apply(ctx context.Context, tx *sql.Tx, conn *sql.Conn, changes []model.Change) error {
	byTable := map[*model.Table][2][]model.Row{}
	for _, c := range changes {
		e := byTable[c.Table]
		if c.Delete {
			e[0] = append(e[0], c.Row)
		} else {
			e[1] = append(e[1], c.Row)
		}
		byTable[c.Table] = e
	}
	for _, t := range model.Tables {
		e, ok := byTable[t]
		if !ok {
			continue
		}
		if err := chunks(e[0], func(rs []model.Row) error { return w.exec(ctx, tx, t, true, rs) }); err != nil {
			return err
		}
		if w.dialect == Postgres && conn != nil && len(e[1]) >= w.BulkRows && isPgx(conn) {
			if err := w.bulk(ctx, tx, conn, t, e[1]); err != nil {
				return err
			}
			continue
		}
		if err := chunks(e[1], func(rs []model.Row) error { return w.exec(ctx, tx, t, false, rs) }); err != nil {
			return err
		}
	}
	return nil
}

// isPgx reports whether conn is a pgx connection (the bulk path needs pgx's COPY; another
// PostgreSQL driver gets plain statements).
func isPgx(conn *sql.Conn) bool {
	ok := false
	_ = conn.Raw(func(dc any) error {
		_, ok = dc.(*stdlib.Conn)
		return nil
	})
	return ok
}

// bulk upserts rows through a temporary staging table filled by COPY, in tx's transaction
// (the staging table belongs to the session and empties itself at commit).
func (w *Writer) bulk(ctx context.Context, tx *sql.Tx, conn *sql.Conn, t *model.Table, rows []model.Row) error {
	stage := fmt.Sprintf("projections_stage_v%d_%s", model.Version, t.Base) // same columns in every generation of a version
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s) ON COMMIT DELETE ROWS",
		stage, t.Name(w.gen))); err != nil {
		return fmt.Errorf("projections: staging table for %s: %w", t.Name(w.gen), err)
	}
	src := make([][]any, len(rows))
	for i, r := range rows {
		src[i] = r
	}
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection: %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{stage}, t.ColNames(), pgx.CopyFromRows(src))
		return err
	})
	if err != nil {
		return fmt.Errorf("projections: copy %d rows of %s: %w", len(rows), t.Name(w.gen), err)
	}
	if _, err := tx.ExecContext(ctx, w.merge(t, stage)); err != nil {
		return fmt.Errorf("projections: merge %d rows of %s: %w", len(rows), t.Name(w.gen), err)
	}
	return nil
}

func (w *Writer) merge(t *model.Table, stage string) string {
	key := t.Base + "/merge"
	w.mu.Lock()
	defer w.mu.Unlock()
	if q, ok := w.cache[key]; ok {
		return q
	}
	cols := t.ColNames()
	set := make([]string, 0, len(cols)-t.PK)
	for _, c := range cols[t.PK:] {
		set = append(set, c+" = excluded."+c)
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT (%s) DO UPDATE SET %s", t.Name(w.gen),
		strings.Join(cols, ", "), strings.Join(cols, ", "), stage, strings.Join(cols[:t.PK], ", "), strings.Join(set, ", "))
	w.cache[key] = q
	return q
}

func chunks(rows []model.Row, fn func([]model.Row) error) error {
	for len(rows) > 0 {
		n := maxChunk
		for n > len(rows) {
			n /= 2
		}
		if err := fn(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (w *Writer) exec(ctx context.Context, tx *sql.Tx, t *model.Table, del bool, rows []model.Row) error {
	q := w.statement(t, del, len(rows))
	var args []any
	if del {
		args = make([]any, 0, len(rows)*t.PK)
		for _, r := range rows {
			args = append(args, r[:t.PK]...)
		}
	} else {
		args = make([]any, 0, len(rows)*len(t.Cols))
		for _, r := range rows {
			args = append(args, r...)
		}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		op := "upsert"
		if del {
			op = "delete"
		}
		return fmt.Errorf("projections: %s %d rows of %s: %w", op, len(rows), t.Name(w.gen), err)
	}
	return nil
}

func (w *Writer) statement(t *model.Table, del bool, n int) string {
	key := fmt.Sprintf("%s/%t/%d", t.Base, del, n)
	w.mu.Lock()
	defer w.mu.Unlock()
	if q, ok := w.cache[key]; ok {
		return q
	}
	var b strings.Builder
	p := 1
	name, cols := t.Name(w.gen), t.ColNames()
	if del {
		fmt.Fprintf(&b, "DELETE FROM %s WHERE ", name)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(")
			for j := 0; j < t.PK; j++ {
				if j > 0 {
					b.WriteString(" AND ")
				}
				fmt.Fprintf(&b, "%s = %s", cols[j], w.param(p))
				p++
			}
			b.WriteString(")")
		}
	} else {
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", name, strings.Join(cols, ", "))
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(w.param(p))
				p++
			}
			b.WriteString(")")
		}
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", strings.Join(cols[:t.PK], ", "))
		for j, c := range cols[t.PK:] {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s = excluded.%s", c, c)
		}
	}
	q := b.String()
	w.cache[key] = q
	return q
}

// ReadRows reads every row of a table of generation gen, ordered by primary key, as Rows.
func ReadRows(ctx context.Context, q Querier, t *model.Table, gen int64, where string, args ...any) ([]model.Row, error) {
	query := fmt.Sprintf("SELECT %s FROM %s", strings.Join(t.ColNames(), ", "), t.Name(gen))
	if where != "" {
		query += " WHERE " + where
	}
	query += " ORDER BY " + strings.Join(t.ColNames()[:t.PK], ", ")
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: read %s: %w", t.Name(gen), err)
	}
	defer rows.Close()
	var out []model.Row
	for rows.Next() {
		r, err := ScanRow(rows, t)
		if err != nil {
			return nil, fmt.Errorf("projections: read %s: %w", t.Name(gen), err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ScanRow scans one row of t (all columns, in order).
func ScanRow(rows *sql.Rows, t *model.Table) (model.Row, error) {
	dest := make([]any, len(t.Cols))
	ints := make([]int64, len(t.Cols))
	strs := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		if c.Text {
			dest[i] = &strs[i]
		} else {
			dest[i] = &ints[i]
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	r := make(model.Row, len(t.Cols))
	for i, c := range t.Cols {
		if c.Text {
			r[i] = strs[i]
		} else {
			r[i] = ints[i]
		}
	}
	return r, nil
}
