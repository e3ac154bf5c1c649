package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/custody-ledger/custody/projections/internal/model"
)

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
	// Direct: rows marked Insert are new in the table, so PostgreSQL copies them straight into
	// it (no staging table, no conflict check). Set by a rebuild, whose generation only its
	// own applier writes.
	Direct bool
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
	direct := w.Direct && w.dialect == Postgres && conn != nil && IsPgx(conn)
	byTable := map[*model.Table][3][]model.Row{} // deletions, upserts, inserts copied directly
	for _, c := range changes {
		e := byTable[c.Table]
		switch {
		case c.Delete:
			e[0] = append(e[0], c.Row)
		case c.Insert && direct:
			e[2] = append(e[2], c.Row)
		default:
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
		if len(e[2]) > 0 {
			if err := w.copyRows(ctx, conn, t.Name(w.gen), t, e[2]); err != nil {
				return err
			}
		}
		if w.dialect == Postgres && conn != nil && len(e[1]) >= w.BulkRows && IsPgx(conn) {
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

// IsPgx reports whether conn is a pgx connection (the bulk path needs pgx's COPY; another
// PostgreSQL driver gets plain statements).
func IsPgx(conn *sql.Conn) bool {
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
	if err := w.copyRows(ctx, conn, stage, t, rows); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, w.merge(t, stage)); err != nil {
		return fmt.Errorf("projections: merge %d rows of %s: %w", len(rows), t.Name(w.gen), err)
	}
	return nil
}

// copyRows copies rows of t into table (t's own, or its staging table) on conn, inside the
// transaction open on it.
func (w *Writer) copyRows(ctx context.Context, conn *sql.Conn, table string, t *model.Table, rows []model.Row) error {
	src := make([][]any, len(rows))
	for i, r := range rows {
		src[i] = r
	}
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("not a pgx connection: %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, t.ColNames(), pgx.CopyFromRows(src))
		return err
	})
	if err != nil {
		return fmt.Errorf("projections: copy %d rows of %s: %w", len(rows), t.Name(w.gen), err)
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
