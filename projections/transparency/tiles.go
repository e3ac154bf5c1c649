package transparency

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/compact"

	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// The tree is stored in tiles, the C2SP tlog-tiles layout: tile (L, N) holds the hashes of
// tree level 8L with indexes [256N, 256N+w), w <= 256, concatenated; the seven levels between
// two tile levels are rehashed from the lower tile when read. A batch of 5000 leaves writes
// about 22 rows instead of 10,000, and a proof on a million leaves reads 3 rows in one query.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

// tileKey packs a tile's level and index into one column, like the node ids before it.
func tileKey(level uint, index uint64) int64 { return int64(level)<<56 | int64(index) }

// tileOf is the tile holding a node, and the node's span there: it is the root of the tile's
// hashes [off, off+n).
func tileOf(id compact.NodeID) (key int64, off, n uint64) {
	k := id.Level % tileHeight
	first := id.Index << k
	return tileKey(id.Level/tileHeight, first>>tileHeight), first & (tileWidth - 1), 1 << k
}

// subtreeRoot is the root of the n hashes (a power of two) at off in a tile; false when the
// tile does not hold them all yet.
func subtreeRoot(tile []byte, off, n uint64) ([]byte, bool) {
	size := uint64(hasher.Size())
	if uint64(len(tile)) < (off+n)*size {
		return nil, false
	}
	return perfectRoot(tile[off*size : (off+n)*size]), true
}

func perfectRoot(hs []byte) []byte {
	size := hasher.Size()
	if len(hs) == size {
		return hs[:size:size]
	}
	half := len(hs) / 2
	return hasher.HashChildren(perfectRoot(hs[:half]), perfectRoot(hs[half:]))
}

// querier is a *sql.DB, *sql.Tx or *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readTiles fetches tiles by key in one query; absent tiles are absent from the map.
func readTiles(ctx context.Context, q querier, keys []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := q.QueryContext(ctx, `SELECT id, hashes FROM tlog_tiles WHERE id IN (`+placeholders(1, len(keys))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("transparency: tiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k int64
			h []byte
		)
		if err := rows.Scan(&k, &h); err != nil {
			return nil, fmt.Errorf("transparency: tiles: %w", err)
		}
		out[k] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("transparency: tiles: %w", err)
	}
	return out, nil
}

// tileBuf is the tile the next node of its level goes into (the sequencer's right edge).
type tileBuf struct {
	index  uint64
	hashes []byte
	dirty  bool // changed in the batch being built
}

// openTiles are the right-edge tiles of a tree of size leaves: per tile level, the index of the
// tile the next node goes into and how many hashes it holds already.
func openTiles(size uint64) (index, width []uint64) {
	for level := uint(0); size>>(tileHeight*level) > 0; level++ {
		n := size >> (tileHeight * level)
		index, width = append(index, n>>tileHeight), append(width, n&(tileWidth-1))
	}
	return index, width
}

// loadOpenTiles reads the right-edge tiles of a tree of size leaves.
func (l *Log) loadOpenTiles(ctx context.Context, size uint64) ([]tileBuf, error) {
	index, width := openTiles(size)
	var keys []int64
	for level := range index {
		if width[level] > 0 {
			keys = append(keys, tileKey(uint(level), index[level]))
		}
	}
	got, err := readTiles(ctx, l.db, keys)
	if err != nil {
		return nil, err
	}
	out := make([]tileBuf, len(index))
	for level := range index {
		out[level].index = index[level]
		if width[level] == 0 {
			continue
		}
		want := int(width[level]) * hasher.Size()
		h := got[tileKey(uint(level), index[level])]
		if len(h) < want {
			return nil, fmt.Errorf("transparency: tile %d/%d holds %d bytes, the tree of size %d needs %d", level, index[level], len(h), size, want)
		}
		out[level].hashes = h[:want:want]
	}
	return out, nil
}

// run is a stretch of consecutive positions sequenced as consecutive leaves: tlog_runs keeps
// one row per stretch, not one per event (positions have gaps only where an append rolled
// back).
type run struct{ position, index, count uint64 }

func (r run) end() uint64 { return r.position + r.count }

// column is a column upsertRows writes: its name and the element type of its PostgreSQL
// array (bigint, text or bytea).
type column struct{ name, array string }

// upsertRows writes rows of cols into table in tx. With key > 0 the first key columns are the
// conflict key and a row replaces the stored row of the same key; with key 0 rows are only
// inserted. The sequencer writes these rows with every batch and checkpoint, so this is made
// cheap: on PostgreSQL one statement of fixed text (prepared once per connection) over column
// arrays, on SQLite one prepared single-row statement executed per row; neither parses SQL that
// grows with the rows.
func upsertRows(ctx context.Context, tx *sql.Tx, d Dialect, table string, cols []column, key int, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	names := make([]string, len(cols))
	for j, c := range cols {
		names[j] = c.name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) ", table, strings.Join(names, ", "))
	if d == sqldb.Postgres {
		b.WriteString("SELECT * FROM unnest(")
		for j, c := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d::%s[]", j+1, c.array)
		}
		b.WriteByte(')')
	} else {
		b.WriteString("VALUES (" + strings.Repeat("?, ", len(cols)-1) + "?)")
	}
	if key > 0 {
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", strings.Join(names[:key], ", "))
		for j, c := range names[key:] {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s = excluded.%s", c, c)
		}
	}
	if d == sqldb.Postgres {
		arrays, err := columnArrays(cols, rows)
		if err != nil {
			return fmt.Errorf("transparency: write %s: %w", table, err)
		}
		if _, err := tx.ExecContext(ctx, b.String(), arrays...); err != nil {
			return fmt.Errorf("transparency: write %s: %w", table, err)
		}
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, b.String())
	if err != nil {
		return fmt.Errorf("transparency: write %s: %w", table, err)
	}
	defer stmt.Close()
	for _, row := range rows {
		if _, err := stmt.ExecContext(ctx, row...); err != nil {
			return fmt.Errorf("transparency: write %s: %w", table, err)
		}
	}
	return nil
}

// columnArrays turns rows into one typed array per column.
func columnArrays(cols []column, rows [][]any) ([]any, error) {
	arrays := make([]any, len(cols))
	for j, c := range cols {
		switch c.array {
		case "bigint":
			a := make([]int64, len(rows))
			for i, row := range rows {
				switch v := row[j].(type) {
				case int64:
					a[i] = v
				case uint64:
					a[i] = int64(v)
				case int:
					a[i] = int64(v)
				default:
					return nil, fmt.Errorf("column %s: %T is not an integer", c.name, v)
				}
			}
			arrays[j] = a
		case "text":
			a := make([]string, len(rows))
			for i, row := range rows {
				v, ok := row[j].(string)
				if !ok {
					return nil, fmt.Errorf("column %s: %T is not a string", c.name, row[j])
				}
				a[i] = v
			}
			arrays[j] = a
		case "bytea":
			a := make([][]byte, len(rows))
			for i, row := range rows {
				v, ok := row[j].([]byte)
				if !ok {
					return nil, fmt.Errorf("column %s: %T is not bytes", c.name, row[j])
				}
				a[i] = v
			}
			arrays[j] = a
		default:
			return nil, fmt.Errorf("column %s: array type %s", c.name, c.array)
		}
	}
	return arrays, nil
}
