package transparency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// TreeFile is the SQLite file that holds the tree of the log kept in the SQLite file
// storePath: custody.db → custody.tlog.db. SQLite has one write lock per file; with the tree
// in a file of its own the sequencer's transactions neither wait for the lock the appends
// commit under nor hold it (docs/transparency.md, Performance).
func TreeFile(storePath string) string {
	ext := filepath.Ext(storePath)
	return strings.TrimSuffix(storePath, ext) + ".tlog" + ext
}

// MoveTree moves into db, the SQLite file of TreeFile(from), the tree that an earlier version
// kept in the SQLite file from: every table the log's migrations made there (with its indexes,
// its rows and the migrations' version table) is copied in one transaction, then dropped from
// from in a second. It does nothing when from holds no tree. A move cut short between the two
// is finished by the next call: the copy is kept, and only the old tables are dropped. It
// reports whether it copied a tree.
func MoveTree(ctx context.Context, db *sql.DB, from string) (moved bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("transparency: move the tree: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS old`, from); err != nil {
		return false, fmt.Errorf("transparency: move the tree from %s: %w", from, err)
	}
	defer func() {
		if _, derr := conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE old`); derr != nil {
			err = errors.Join(err, fmt.Errorf("transparency: move the tree: %w", derr))
		}
	}()
	// The copy is fsynced before the old tables are dropped: the tree's file otherwise commits
	// without (synchronous=NORMAL, sqlite.Rebuildable), and a power loss that rolled the copy
	// back after the drop would lose the checkpoints signed so far, which the log cannot give
	// again. The connection goes back to the pool with its own setting.
	var sync int
	if err := conn.QueryRowContext(ctx, `PRAGMA main.synchronous`).Scan(&sync); err != nil {
		return false, fmt.Errorf("transparency: move the tree: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA main.synchronous = FULL`); err != nil {
		return false, fmt.Errorf("transparency: move the tree: %w", err)
	}
	defer func() {
		if _, serr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA main.synchronous = %d`, sync)); serr != nil {
			err = errors.Join(err, fmt.Errorf("transparency: move the tree: %w", serr))
		}
	}()
	// Each transaction takes both files' write locks at BEGIN (IMMEDIATE), before it looks:
	// a server starting beside this one waits, then finds the tree moved. The store's appends
	// wait for the move, once, at start-up.
	var tables []schemaObject
	err = inTx(ctx, conn, func(tx *sql.Tx) error {
		var indexes, have []schemaObject
		if tables, indexes, err = treeSchema(ctx, tx, "old"); err != nil || len(tables) == 0 {
			return err
		}
		if have, _, err = treeSchema(ctx, tx, "main"); err != nil || len(have) > 0 {
			return err
		}
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, t.sql); err != nil {
				return fmt.Errorf("create %s: %w", t.name, err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO main.%q SELECT * FROM old.%[1]q`, t.name)); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
		for _, ix := range indexes {
			if _, err := tx.ExecContext(ctx, ix.sql); err != nil {
				return fmt.Errorf("index %s: %w", ix.name, err)
			}
		}
		moved = true
		return nil
	})
	if err != nil || len(tables) == 0 {
		return false, err
	}
	return moved, inTx(ctx, conn, func(tx *sql.Tx) error {
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS old.%q`, t.name)); err != nil {
				return fmt.Errorf("drop %s: %w", t.name, err)
			}
		}
		return nil
	})
}

func inTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("transparency: move the tree: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return fmt.Errorf("transparency: move the tree: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("transparency: move the tree: %w", err)
	}
	return nil
}

type schemaObject struct{ name, sql string }

// treeSchema lists the tree's tables and explicit indexes in the attached database schema:
// those of the tlog_ tables and the migrations' version table goose_tlog.
func treeSchema(ctx context.Context, tx *sql.Tx, schema string) (tables, indexes []schemaObject, err error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT type, name, sql FROM %s.sqlite_master
		WHERE (tbl_name = 'goose_tlog' OR tbl_name LIKE 'tlog\_%%' ESCAPE '\') AND sql IS NOT NULL
		ORDER BY type DESC, name`, schema))
	if err != nil {
		return nil, nil, fmt.Errorf("schema: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var o schemaObject
		if err := rows.Scan(&typ, &o.name, &o.sql); err != nil {
			return nil, nil, fmt.Errorf("schema: %w", err)
		}
		switch typ {
		case "table":
			tables = append(tables, o)
		case "index":
			indexes = append(indexes, o)
		}
	}
	return tables, indexes, rows.Err()
}
