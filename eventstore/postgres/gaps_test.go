package postgres

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/migrate"
	"github.com/custody-ledger/custody/internal/pgtest"
)

// custody_first_after must find, for any transaction id, the first visible event above it,
// whatever the gaps in the positions: checked against a plain scan over logs of several
// shapes (dense, sparse, a single event, long runs of one append).
func TestFirstAfterMatchesScan(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 2))
	for _, tc := range []struct {
		name       string
		events     int
		gapChance  float64
		maxGap     int
		appendSize int
	}{
		{"one event", 1, 0, 0, 1},
		{"dense", 300, 0, 0, 1},
		{"sparse", 300, 0.3, 40, 1},
		{"long gaps", 100, 0.05, 5000, 1},
		{"batches", 400, 0.1, 3, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Pool().Exec(ctx, "TRUNCATE events")
			require.NoError(t, err)
			pos, tx := int64(0), int64(1000)
			for n := 0; n < tc.events; {
				if rng.Float64() < tc.gapChance {
					pos += int64(1 + rng.IntN(tc.maxGap)) // positions of failed appends
				}
				tx += int64(1 + rng.IntN(3)) // transaction ids of other work in between
				size := min(1+rng.IntN(tc.appendSize), tc.events-n)
				for range size {
					pos++
					_, err := s.Pool().Exec(ctx, `INSERT INTO events (`+columns+`)
						VALUES ($1, $2, NULL, 's', $1, gen_random_uuid(), 'T', 1, '', '', now(), '', '')`, pos, tx)
					require.NoError(t, err)
				}
				n += size
			}
			for q := int64(990); q <= tx+2; q++ {
				var got, want *int64
				require.NoError(t, s.Pool().QueryRow(ctx, `SELECT custody_first_after($1)`, q).Scan(&got))
				require.NoError(t, s.Pool().QueryRow(ctx, `SELECT min(position) FROM events WHERE txid > $1`, q).Scan(&want))
				require.Equal(t, want, got, "txid %d", q)
			}
		})
	}
}

// An in-flight append far behind the end of the log still holds Head and ReadAll back: Head
// finds it by the search, not by a scan of what came after.
func TestHeadStopsBelowOldInFlightAppend(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	_, err := eventstore.AppendOne(ctx, s, "a", eventstore.NoStream, ev("A1"))
	require.NoError(t, err)
	blocker := inFlight(t, s)
	for i := range 200 {
		_, err := eventstore.AppendOne(ctx, s, "b", eventstore.Exact(uint64(i)), ev("B"))
		require.NoError(t, err)
	}

	head, err := s.Head(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, head)
	for _, limit := range []int{0, 1, 10} {
		recs, err := s.ReadAll(ctx, 0, limit)
		require.NoError(t, err)
		require.Len(t, recs, 1, "limit %d", limit)
	}
	recs, err := s.ReadAll(ctx, 1, 0)
	require.NoError(t, err)
	assert.Empty(t, recs, "the gap at 2 is in flight")

	require.NoError(t, blocker.Rollback(ctx))
	eventually(t, func() bool { head, err := s.Head(ctx); return err == nil && head == 202 }, "Head passes the rolled-back gap")
	eventually(t, func() bool {
		recs, err := s.ReadAll(ctx, 1, 50)
		return err == nil && len(recs) == 50 && recs[0].Position == 3
	}, "ReadAll passes the rolled-back gap")
}

// A database made by migration 1 (with the txid index, appends written by the old code)
// migrates on Open: the index goes, the events read back the same, and the cut still holds
// readers below an append in flight.
func TestMigrateExistingDatabaseDropsTxidIndex(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	v1, err := migrations.ReadFile("migrations/0001_events.sql")
	require.NoError(t, err)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	var schema string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema))
	c := Migrations(schema)
	c.FS = fstest.MapFS{"0001_events.sql": {Data: v1}}
	require.NoError(t, migrate.Up(ctx, db, migrate.Postgres, c))

	// Events as version 1 stored them: custody_append, one single-event and one batch.
	zero := make([]byte, 32)
	for _, n := range []int{1, 3} {
		offs, sids, vers, ids, types, svs, data, meta, hashes := []int32{}, []string{}, []int64{}, []uuid.UUID{}, []string{}, []int32{}, [][]byte{}, [][]byte{}, [][]byte{}
		for i := range n {
			offs, sids, vers, ids = append(offs, int32(i)), append(sids, "s"+string(rune('0'+n))), append(vers, int64(i+1)), append(ids, uuid.New())
			types, svs, data, meta, hashes = append(types, "T"), append(svs, 1), append(data, []byte(`{}`)), append(meta, []byte{}), append(hashes, zero)
		}
		_, err := db.ExecContext(ctx, `SELECT custody_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), '{}', '{}', '{}', false)`,
			offs, sids, vers, ids, types, svs, data, meta, hashes, hashes)
		require.NoError(t, err)
	}
	var indexes int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'events_tx_idx'`, schema).Scan(&indexes))
	require.Equal(t, 1, indexes)

	s := open(t, url)
	defer s.Close()
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'events_tx_idx'`, schema).Scan(&indexes))
	assert.Zero(t, indexes, "migration 2 drops the txid index")
	var version int64
	require.NoError(t, db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_eventstore`).Scan(&version))
	assert.EqualValues(t, 2, version)

	recs, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, 4)
	for i, r := range recs {
		assert.EqualValues(t, i+1, r.Position)
	}
	// An append in flight on the migrated database, and one committed after it.
	blocker := inFlight(t, s)
	_, err = eventstore.AppendOne(ctx, s, "after", eventstore.NoStream, ev("X"))
	require.NoError(t, err)
	head, err := s.Head(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 4, head)
	recs, err = s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 4)
	require.NoError(t, blocker.Rollback(ctx))
	eventually(t, func() bool {
		recs, err := s.ReadAll(ctx, 4, 0)
		return err == nil && len(recs) == 1 && recs[0].Position == 6
	}, "the rolled-back gap at 5 is skipped")
}

// eventually waits for a read past a rolled-back gap: another session on the shared server
// whose transaction id happens to fall in the gap holds readers back until it ends, as it
// should.
func eventually(t *testing.T, ok func() bool, msg string) {
	t.Helper()
	assert.Eventually(t, ok, 10*time.Second, 10*time.Millisecond, msg)
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// cutPage stops at the first gap whose neighbours' transaction ids enclose one in flight, the
// gap after `after` included, and ignores gaps no in-flight transaction could own.
func TestCutPage(t *testing.T) {
	page := func(pos ...uint64) []eventstore.Record {
		recs := make([]eventstore.Record, len(pos))
		for i, p := range pos {
			recs[i].Position = p
		}
		return recs
	}
	for _, tc := range []struct {
		name  string
		after uint64
		pos   []uint64
		txids []int64
		pred  int64
		xip   []int64
		want  int
	}{
		{"nothing in flight", 0, []uint64{1, 3, 4}, []int64{10, 12, 13}, 0, nil, 3},
		{"no gap", 0, []uint64{1, 2, 3}, []int64{10, 12, 14}, 0, []int64{11, 13}, 3},
		{"in flight in a gap", 0, []uint64{1, 3, 4}, []int64{10, 12, 13}, 0, []int64{11}, 1},
		{"in flight beside the gap", 0, []uint64{1, 3, 4}, []int64{10, 12, 14}, 0, []int64{13}, 3},
		{"in flight past the page", 0, []uint64{1, 3}, []int64{10, 12}, 0, []int64{20}, 2},
		{"gap right after after", 5, []uint64{7, 8}, []int64{30, 31}, 25, []int64{27}, 0},
		{"gap after after, owner older than pred", 5, []uint64{7, 8}, []int64{30, 31}, 25, []int64{24}, 2},
		{"no event at or below after", 5, []uint64{7}, []int64{30}, 0, []int64{3}, 0},
		{"second of two gaps", 0, []uint64{1, 3, 5}, []int64{10, 12, 16}, 0, []int64{14}, 2},
		{"empty page", 9, nil, nil, 50, []int64{51}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cutPage(tc.after, page(tc.pos...), tc.txids, tc.pred, tc.xip))
		})
	}
}
