package transparency

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/custody-ledger/custody/internal/migrate"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Dialect names the SQL database the tree lives in (the read models' schema on PostgreSQL, a
// file of its own on SQLite: TreeFile).
type Dialect = sqldb.Dialect

//go:embed migrations
var migrations embed.FS

// Errors of the log's queries.
var (
	// ErrNotFound: no checkpoint of that size, no event at that position, or no checkpoint yet.
	ErrNotFound = errors.New("transparency: not found")
	// ErrBeyondTree: the size asked for is larger than the tree sequenced so far.
	ErrBeyondTree = errors.New("transparency: beyond the sequenced tree")
)

// Log is the stored tree and its checkpoints in one SQL database.
type Log struct {
	db      *sql.DB
	dialect Dialect
	tiles   *tileCache
	runs    runCache
}

// Migrations is the tree's migration component (version table goose_tlog), per dialect. A
// database migrated before internal/migrate (by goose into tlog_migrations) is adopted at
// version 1 when its tables exist.
func Migrations(d Dialect) (migrate.Component, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(d))
	if err != nil {
		return migrate.Component{}, err
	}
	return migrate.Component{Name: "tlog", FS: sub, Legacy: migrate.IfTableExists("tlog_state", 1)}, nil
}

// OpenLog applies the tree's migrations under the database's migration lock and returns the
// log.
func OpenLog(ctx context.Context, db *sql.DB, dialect Dialect) (*Log, error) {
	if !dialect.Valid() {
		return nil, fmt.Errorf("transparency: unknown dialect %q", dialect)
	}
	c, err := Migrations(dialect)
	if err != nil {
		return nil, err
	}
	if err := migrate.Up(ctx, db, migrate.Dialect(dialect), c); err != nil {
		return nil, fmt.Errorf("transparency: %w", err)
	}
	return &Log{db: db, dialect: dialect, tiles: newTileCache(maxCachedTiles)}, nil
}

// state is the sequencer's progress.
type state struct {
	size     uint64
	position uint64
	hashes   [][]byte // the compact range [0, size)
}

func (l *Log) state(ctx context.Context) (state, error) {
	var (
		st  state
		raw []byte
	)
	if err := l.db.QueryRowContext(ctx, `SELECT size, position, compact FROM tlog_state WHERE id = 1`).Scan(&st.size, &st.position, &raw); err != nil {
		return st, fmt.Errorf("transparency: state: %w", err)
	}
	if len(raw)%hasher.Size() != 0 {
		return st, fmt.Errorf("transparency: state: compact range of %d bytes", len(raw))
	}
	for i := 0; i < len(raw); i += hasher.Size() {
		st.hashes = append(st.hashes, raw[i:i+hasher.Size()])
	}
	return st, nil
}

// Size is the number of leaves sequenced so far and the position of the last one.
func (l *Log) Size(ctx context.Context) (size, position uint64, err error) {
	st, err := l.state(ctx)
	return st.size, st.position, err
}

// Signed is a stored checkpoint.
type Signed struct {
	Checkpoint
	Position  uint64 // the global position of the last leaf it covers
	Note      []byte // the signed note
	PublicKey string // the verifier key of the key that signed it
	CreatedAt time.Time
}

func (l *Log) scanCheckpoint(row *sql.Row) (Signed, error) {
	var (
		s       Signed
		note    string
		created int64
	)
	if err := row.Scan(&s.Size, &s.Position, &s.Root, &note, &s.PublicKey, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s, ErrNotFound
		}
		return s, fmt.Errorf("transparency: checkpoint: %w", err)
	}
	s.Note, s.CreatedAt = []byte(note), time.UnixMicro(created).UTC()
	s.Origin, _, _ = strings.Cut(note, "\n")
	return s, nil
}

const checkpointCols = `size, position, root, note, public_key, created_at`

// Latest is the newest checkpoint, or ErrNotFound before the first.
func (l *Log) Latest(ctx context.Context) (Signed, error) {
	return l.scanCheckpoint(l.db.QueryRowContext(ctx, `SELECT `+checkpointCols+` FROM tlog_checkpoints ORDER BY size DESC LIMIT 1`))
}

// CheckpointAt is the checkpoint of exactly this size, or ErrNotFound.
func (l *Log) CheckpointAt(ctx context.Context, size uint64) (Signed, error) {
	return l.scanCheckpoint(l.db.QueryRowContext(ctx, `SELECT `+checkpointCols+` FROM tlog_checkpoints WHERE size = $1`, size))
}

// Index is the leaf index of the event at a global position, or ErrNotFound when no event
// there is sequenced.
func (l *Log) Index(ctx context.Context, position uint64) (uint64, error) {
	if r, ok := l.runs.find(position); ok {
		return r.index + position - r.position, nil
	}
	r, err := l.runAt(ctx, "position", position)
	if err != nil {
		return 0, err
	}
	l.runs.add(r)
	if r.count == 0 || position >= r.end() {
		return 0, fmt.Errorf("%w: no sequenced event at position %d", ErrNotFound, position)
	}
	return r.index + position - r.position, nil
}

// runAt is the run with the largest position (or index, by col) at most at; the zero run when
// there is none.
func (l *Log) runAt(ctx context.Context, col string, at uint64) (run, error) {
	var r run
	err := l.db.QueryRowContext(ctx, `SELECT position, idx, leaves FROM tlog_runs WHERE `+col+` <= $1 ORDER BY `+col+` DESC LIMIT 1`, at).
		Scan(&r.position, &r.index, &r.count)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("transparency: runs: %w", err)
	}
	return r, nil
}

// Indexes maps positions to leaf indexes; positions not sequenced are absent.
func (l *Log) Indexes(ctx context.Context, positions []uint64) (map[uint64]uint64, error) {
	out := make(map[uint64]uint64, len(positions))
	for len(positions) > 0 {
		n := min(len(positions), 100)
		// One query: for each position, the run starting at or before it.
		var q strings.Builder
		args := make([]any, n)
		for i, p := range positions[:n] {
			if i > 0 {
				q.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&q, `SELECT * FROM (SELECT position, idx, leaves FROM tlog_runs WHERE position <= $%d ORDER BY position DESC LIMIT 1) AS r%d`, i+1, i)
			args[i] = p
		}
		rows, err := l.db.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("transparency: runs: %w", err)
		}
		var runs []run
		for rows.Next() {
			var r run
			if err := rows.Scan(&r.position, &r.index, &r.count); err != nil {
				rows.Close()
				return nil, err
			}
			runs = append(runs, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, p := range positions[:n] {
			for _, r := range runs {
				if r.position <= p && p < r.end() {
					out[p] = r.index + p - r.position
					break
				}
			}
		}
		positions = positions[n:]
	}
	return out, nil
}

// placeholders is "$from, …" for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// nodes computes node hashes in the order of ids from their tiles, read in one query.
func (l *Log) nodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return [][]byte{}, nil
	}
	cached := make(map[int64]*cachedTile, 4)
	keys := make([]int64, 0, 4)
	for _, id := range ids {
		k, _, _ := tileOf(id)
		if _, ok := cached[k]; ok || slices.Contains(keys, k) {
			continue
		}
		if t, ok := l.tiles.get(k); ok {
			cached[k] = t
		} else {
			keys = append(keys, k)
		}
	}
	tiles, err := readTiles(ctx, l.db, keys)
	if err != nil {
		return nil, err
	}
	for k, hs := range tiles {
		if t := l.tiles.put(k, hs); t != nil {
			cached[k] = t
		}
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		k, off, n := tileOf(id)
		if t, ok := cached[k]; ok {
			out[i] = t.root(off, n)
			continue
		}
		h, ok := subtreeRoot(tiles[k], off, n)
		if !ok {
			return nil, fmt.Errorf("transparency: node %d/%d is not stored", id.Level, id.Index)
		}
		out[i] = h
	}
	return out, nil
}

// prove fetches a proof's nodes; a node missing because the tree is smaller than asked is
// ErrBeyondTree (checked only then, to keep the usual path to one query).
func (l *Log) prove(ctx context.Context, n proof.Nodes, size uint64) ([][]byte, error) {
	hashes, err := l.nodes(ctx, n.IDs)
	if err != nil {
		if serr := l.checkSize(ctx, size); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	return n.Rehash(hashes, hasher.HashChildren)
}

func (l *Log) checkSize(ctx context.Context, size uint64) error {
	seq, _, err := l.Size(ctx)
	if err != nil {
		return err
	}
	if size > seq {
		return fmt.Errorf("%w: size %d, %d leaves sequenced", ErrBeyondTree, size, seq)
	}
	return nil
}

// InclusionProof proves leaf index in the tree of the given size (RFC 6962 audit path).
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	// The proof's nodes cover every leaf but the proved one: for the last leaf, whether the
	// tree is that large is asked here.
	if index == size-1 {
		if err := l.checkSize(ctx, size); err != nil {
			return nil, err
		}
	}
	return l.prove(ctx, n, size)
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of size2.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if len(n.IDs) == 0 { // nothing to fetch, so say here whether the tree is that large
		if err := l.checkSize(ctx, size2); err != nil {
			return nil, err
		}
	}
	return l.prove(ctx, n, size2)
}

// RootAt is the root hash of the tree of a size, from stored nodes.
func (l *Log) RootAt(ctx context.Context, size uint64) ([]byte, error) {
	if err := l.checkSize(ctx, size); err != nil {
		return nil, err
	}
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := l.nodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	r, err := factory.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

var factory = &compact.RangeFactory{Hash: hasher.HashChildren}

// positionOf is the global position of leaf index.
func (l *Log) positionOf(ctx context.Context, index uint64) (uint64, error) {
	r, err := l.runAt(ctx, "idx", index)
	if err != nil {
		return 0, err
	}
	if r.count == 0 || index >= r.index+r.count {
		return 0, fmt.Errorf("%w: leaf %d", ErrNotFound, index)
	}
	return r.position + index - r.index, nil
}

// firstIndexAfter is the index of the first leaf with a position above position (the tree's
// size when there is none): the number of leaves at or below it, since indexes have no gaps.
func (l *Log) firstIndexAfter(ctx context.Context, position uint64) (uint64, error) {
	r, err := l.runAt(ctx, "position", position)
	if err != nil || r.count == 0 {
		return 0, err
	}
	return r.index + min(r.count, position-r.position+1), nil
}

// leafHashes are the stored leaf hashes of indexes [from, from+n).
func (l *Log) leafHashes(ctx context.Context, from, n uint64) (map[uint64][]byte, error) {
	out := make(map[uint64][]byte, n)
	if n == 0 {
		return out, nil
	}
	var keys []int64
	for t := from / tileWidth; t <= (from+n-1)/tileWidth; t++ {
		keys = append(keys, tileKey(0, t))
	}
	tiles, err := readTiles(ctx, l.db, keys)
	if err != nil {
		return nil, err
	}
	size := uint64(hasher.Size())
	for i := from; i < from+n; i++ {
		tile, off := tiles[tileKey(0, i/tileWidth)], i%tileWidth
		if uint64(len(tile)) >= (off+1)*size {
			out[i] = tile[off*size : (off+1)*size]
		}
	}
	return out, nil
}
