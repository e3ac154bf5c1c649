package transparency

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/election"
)

// Options configure a Sequencer. The zero value sequences without signing.
type Options struct {
	Logger *slog.Logger
	// Key signs checkpoints; nil: the tree is kept but no checkpoint is made.
	Key *Key
	// A checkpoint is signed when CheckpointEvents leaves were added since the last one
	// (default 1000), or CheckpointEvery passed with any leaf added (default 10s).
	CheckpointEvery  time.Duration
	CheckpointEvents uint64
	// Publish receives every new checkpoint (a witness: directory or webhook); nil: none.
	Publish Publisher
	// OnCheckpoint is told of every checkpoint stored (metrics, benchmarks).
	OnCheckpoint func(Signed)

	BatchSize     int           // events read and added per transaction, default 5000
	Poll          time.Duration // how often an idle sequencer looks at the log, default 200ms
	LeaseTTL      time.Duration // the SQLite lease (and PostgreSQL connection check), default 6s
	ElectionRetry time.Duration // how often a stand-by tries to lead, default 1s
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 10 * time.Second
	}
	if o.CheckpointEvents == 0 {
		o.CheckpointEvents = 1000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.Poll <= 0 {
		o.Poll = 200 * time.Millisecond
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 6 * time.Second
	}
	if o.ElectionRetry <= 0 {
		o.ElectionRetry = time.Second
	}
}

// Sequencer follows the global log and adds each event to the tree, storing it in tiles,
// and signs checkpoints.
type Sequencer struct {
	log   *Log
	store eventstore.LogReader
	opts  Options
	owner string

	st     state
	rng    *compact.Range
	tiles  []tileBuf // the right-edge tile of each tile level
	run    run       // the last run of positions (count 0 before the first leaf)
	loaded bool
	lastCP Signed // the newest checkpoint (Size 0 before the first)
	lastAt time.Time
	heads  *headSet // every stream's head as of the tree's size (heads_store.go)
	// The heads are stored as of size headsStored (at headsStoredAt); unstored are those
	// that moved since.
	unstored      headBatch
	headsStored   uint64
	headsStoredAt time.Time
}

// ErrFenced: another sequencer moved the tree; this one must reload before going on.
var ErrFenced = errors.New("transparency: the tree was moved by another sequencer")

// NewSequencer prepares a sequencer of the log over the store's global log.
func NewSequencer(l *Log, store eventstore.LogReader, opts Options) *Sequencer {
	opts.defaults()
	return &Sequencer{log: l, store: store, opts: opts, owner: election.NewOwner()}
}

// Run leads or stands by until ctx ends: once elected it follows the log, adding events as
// they commit and signing checkpoints when due.
func (s *Sequencer) Run(ctx context.Context) error {
	for {
		term, err := s.elect(ctx)
		if err != nil {
			return err
		}
		s.opts.Logger.Info("transparency: sequencing the log")
		err = s.follow(term.Context())
		term.Release()
		s.loaded = false
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			s.opts.Logger.Warn("transparency: sequencer stopped; standing by", "err", err)
		}
		select { // a failing database is not retried in a tight loop
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.opts.ElectionRetry):
		}
	}
}

func (s *Sequencer) follow(ctx context.Context) error {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		n, err := s.Step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, eventstore.ErrUnavailable) && !errors.Is(err, ErrFenced) {
				return err
			}
			s.opts.Logger.Warn("transparency: sequencer step", "err", err)
		}
		if n == s.opts.BatchSize {
			continue // more is waiting
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CatchUp adds every committed event to the tree and signs a checkpoint of the result, even if
// not yet due (when the sequencer has a key). It is Run's work done once (tests, benchmarks);
// it must not run beside a Run against the same database (the fence would refuse one).
func (s *Sequencer) CatchUp(ctx context.Context) error {
	for {
		n, err := s.Step(ctx)
		if err != nil {
			return err
		}
		if n < s.opts.BatchSize {
			break
		}
	}
	_, err := s.checkpoint(ctx, true)
	return err
}

// Step reads one batch of the log after the tree's last position, adds it to the tree in one
// transaction, and signs a checkpoint if one is due. It returns how many events it added.
func (s *Sequencer) Step(ctx context.Context) (int, error) {
	if err := s.load(ctx); err != nil {
		return 0, err
	}
	recs, err := s.store.ReadAll(ctx, s.st.position, s.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("transparency: read the log after %d: %w", s.st.position, err)
	}
	if len(recs) > 0 {
		if err := s.add(ctx, recs); err != nil {
			s.loaded = false // reload the state (and the range) before trying again
			return 0, err
		}
	}
	if _, err := s.checkpoint(ctx, false); err != nil {
		return len(recs), err
	}
	return len(recs), nil
}

func (s *Sequencer) load(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	st, err := s.log.state(ctx)
	if err != nil {
		return err
	}
	rng, err := factory.NewRange(0, st.size, st.hashes)
	if err != nil {
		return fmt.Errorf("transparency: stored compact range: %w", err)
	}
	tiles, err := s.log.loadOpenTiles(ctx, st.size)
	if err != nil {
		return err
	}
	last, err := s.log.runAt(ctx, "position", st.position)
	if err != nil {
		return err
	}
	cp, err := s.log.Latest(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.st, s.rng, s.tiles, s.run, s.lastCP, s.lastAt, s.loaded = st, rng, tiles, last, cp, cp.CreatedAt, true
	if err := s.loadHeads(ctx); err != nil {
		s.loaded = false
		return err
	}
	if cp.Size == 0 {
		s.lastAt = time.Now() // the first checkpoint is due CheckpointEvery after starting
	}
	return nil
}

// add appends recs to the tree and stores the tiles it changed, the runs of positions and
// the new state in one transaction fenced on the old size.
func (s *Sequencer) add(ctx context.Context, recs []eventstore.Record) error {
	// Copies of the range and the edge tiles: the stored ones stay as they were if the
	// transaction fails.
	rng, err := factory.NewRange(0, s.st.size, cloneHashes(s.rng.Hashes()))
	if err != nil {
		return err
	}
	heads := make(headBatch, len(recs))
	tiles := make([]tileBuf, len(s.tiles))
	for i, t := range s.tiles {
		tiles[i] = tileBuf{index: t.index, hashes: append(make([]byte, 0, tileWidth*hasher.Size()), t.hashes...)}
	}
	var tileRows [][]any
	visit := func(id compact.NodeID, h []byte) {
		if id.Level%tileHeight != 0 {
			return // rehashed from the tile below when read
		}
		level := id.Level / tileHeight
		for uint(len(tiles)) <= level {
			tiles = append(tiles, tileBuf{})
		}
		t := &tiles[level]
		if n := id.Index / tileWidth; n != t.index { // t is full: the next tile starts
			if t.dirty {
				tileRows = append(tileRows, []any{tileKey(level, t.index), t.hashes})
			}
			*t = tileBuf{index: n, hashes: make([]byte, 0, tileWidth*hasher.Size())}
		}
		t.hashes, t.dirty = append(t.hashes, h...), true
	}
	runs := []run{s.run}
	extended := false // whether the batch continues the stored last run
	pos := s.st.position
	for i := range recs {
		r := &recs[i]
		if r.Position <= pos {
			return fmt.Errorf("transparency: position %d does not follow %d", r.Position, pos)
		}
		if last := &runs[len(runs)-1]; last.count > 0 && last.end() == r.Position {
			last.count++
			extended = extended || len(runs) == 1
		} else {
			runs = append(runs, run{position: r.Position, index: rng.End(), count: 1})
		}
		leaf := LeafHash(r)
		heads.add(r, rng.End(), leaf)
		if err := rng.Append(leaf, visit); err != nil {
			return err
		}
		pos = r.Position
	}
	for level, t := range tiles {
		if t.dirty {
			tileRows = append(tileRows, []any{tileKey(uint(level), t.index), t.hashes})
			tiles[level].dirty = false
		}
	}
	var packed []byte
	for _, h := range rng.Hashes() {
		packed = append(packed, h...)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `UPDATE tlog_state SET size = $1, position = $2, compact = $3 WHERE id = 1 AND size = $4`,
		rng.End(), pos, packed, s.st.size)
	if err != nil {
		return fmt.Errorf("transparency: state: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w (size %d)", ErrFenced, s.st.size)
	}
	if err := upsertRows(ctx, tx, s.log.dialect, "tlog_tiles", []column{{"id", "bigint"}, {"hashes", "bytea"}}, 1, tileRows); err != nil {
		return err
	}
	if extended {
		if _, err := tx.ExecContext(ctx, `UPDATE tlog_runs SET leaves = $1 WHERE position = $2`, runs[0].count, runs[0].position); err != nil {
			return fmt.Errorf("transparency: runs: %w", err)
		}
	}
	runRows := make([][]any, 0, len(runs)-1)
	for _, r := range runs[1:] {
		runRows = append(runRows, []any{r.position, r.index, r.count})
	}
	if err := upsertRows(ctx, tx, s.log.dialect, "tlog_runs", []column{{"position", "bigint"}, {"idx", "bigint"}, {"leaves", "bigint"}}, 0, runRows); err != nil {
		return err
	}
	now := time.Now()
	stored := false
	if s.headsDue(rng.End(), now) {
		if stored, err = s.storeHeads(ctx, tx, rng.End(), heads, false); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("transparency: commit: %w", err)
	}
	s.applyHeads(heads, rng.End(), stored, now)
	s.st = state{size: rng.End(), position: pos, hashes: rng.Hashes()}
	s.rng, s.tiles, s.run = rng, tiles, runs[len(runs)-1]
	return nil
}

// checkpoint signs and stores a checkpoint of the current tree when one is due (or always,
// with force, if the tree grew since the last). It reports whether it made one.
func (s *Sequencer) checkpoint(ctx context.Context, force bool) (bool, error) {
	if s.opts.Key == nil || s.st.size == 0 || s.st.size <= s.lastCP.Size {
		return false, nil
	}
	now := time.Now()
	due := s.st.size-s.lastCP.Size >= s.opts.CheckpointEvents || now.Sub(s.lastAt) >= s.opts.CheckpointEvery
	if !due && !force {
		return false, nil
	}
	root, err := s.rng.GetRootHash(nil)
	if err != nil {
		return false, err
	}
	heads := s.heads.commit()
	cp := Checkpoint{Origin: s.opts.Key.Signer.Name(), Size: s.st.size, Root: root, Heads: &heads}
	signed, err := Sign(cp, s.opts.Key.Signer)
	if err != nil {
		return false, err
	}
	rec := Signed{Checkpoint: cp, Position: s.st.position, Note: signed, PublicKey: s.opts.Key.Public, CreatedAt: now.UTC()}
	// The checkpoint and the heads and their buckets as of it are stored together
	// (heads_store.go).
	tx, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tlog_checkpoints (size, position, root, note, public_key, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (size) DO NOTHING`, cp.Size, rec.Position, root, string(signed), rec.PublicKey, now.UnixMicro()); err != nil {
		return false, fmt.Errorf("transparency: store checkpoint: %w", err)
	}
	stored, err := s.storeHeads(ctx, tx, cp.Size, nil, true)
	if err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("transparency: store checkpoint: %w", err)
	}
	if stored {
		clear(s.heads.unsaved)
		s.stored(cp.Size, now)
	}
	s.lastCP, s.lastAt = rec, now
	if s.opts.OnCheckpoint != nil {
		s.opts.OnCheckpoint(rec)
	}
	if s.opts.Publish != nil {
		if err := s.opts.Publish.Publish(ctx, rec); err != nil {
			// The checkpoint is kept; the witness gets the next one.
			s.opts.Logger.Warn("transparency: publish checkpoint", "size", cp.Size, "err", err)
		}
	}
	return true, nil
}

// begin starts one of the sequencer's write transactions.
func (s *Sequencer) begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.log.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("transparency: begin: %w", err)
	}
	return tx, nil
}

func cloneHashes(hs [][]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = bytes.Clone(h)
	}
	return out
}
