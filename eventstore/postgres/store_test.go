package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/storetest"
	"github.com/custody-ledger/custody/internal/pgtest"
)

func open(t testing.TB, url string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, opts...)
	require.NoError(t, err)
	return s
}

func harness() storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T) func() eventstore.Store {
			url := pgtest.Schema(t)
			return func() eventstore.Store { return open(t, url, WithPollInterval(100*time.Millisecond)) }
		},
		Tamper: func(t *testing.T, s eventstore.Store, stream string, version uint64) {
			tag, err := s.(*Store).Pool().Exec(context.Background(),
				`UPDATE events SET data = '{"tampered":true}' WHERE stream_id = $1 AND version = $2`, stream, int64(version))
			require.NoError(t, err)
			require.EqualValues(t, 1, tag.RowsAffected())
		},
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, harness()) }

func ev(typ string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: []byte(`{"k":"v"}`)}
}

// inFlight starts an append of one event to stream "slow" that has allocated its position and
// stays uncommitted until the returned transaction ends (rolled back at the test's end).
func inFlight(t *testing.T, s *Store) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	zero := make([]byte, 32)
	_, err = tx.Exec(ctx, appendOne[0], "slow", int64(1), uuid.New(), "S", int32(1), []byte(`{}`), []byte{},
		zero, zero, time.Now(), nil, nil)
	require.NoError(t, err)
	return tx
}

func TestMigrationsAreIdempotentAndConcurrent(t *testing.T) {
	url := pgtest.Schema(t)
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), url) })
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i])
		require.NoError(t, s.Close())
	}
	s := open(t, url)
	defer s.Close()
	var n int
	require.NoError(t, s.Pool().QueryRow(context.Background(), "SELECT count(*) FROM goose_eventstore WHERE version_id = 1").Scan(&n))
	assert.Equal(t, 1, n, "applied once")
}

func TestSchemaOption(t *testing.T) {
	url := pgtest.Schema(t) // another schema; WithSchema wins over the URL's search_path
	name := "t_opt_" + uuid.NewString()[:8]
	s := open(t, url, WithSchema(name))
	t.Cleanup(func() {
		_, err := s.Pool().Exec(context.Background(), `DROP SCHEMA "`+name+`" CASCADE`)
		assert.NoError(t, err)
		s.Close()
	})
	assert.Equal(t, name, s.Schema())
	_, err := eventstore.AppendOne(context.Background(), s, "a", eventstore.NoStream, ev("X"))
	require.NoError(t, err)
	var n int
	require.NoError(t, s.Pool().QueryRow(context.Background(),
		"SELECT count(*) FROM "+`"`+name+`"`+".events").Scan(&n))
	assert.Equal(t, 1, n)
}

// The database computes the hash chain; it must agree with eventstore.ChainHash on the edge
// cases of CanonicalBytes (empty and nil payloads, non-ASCII names, negative schema versions).
func TestDatabaseHashMatchesPort(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	evs := []eventstore.EventData{
		{ID: uuid.New(), Type: "", SchemaVersion: 0, Data: nil, Metadata: nil},
		{ID: uuid.New(), Type: "Übergabe", SchemaVersion: -3, Data: []byte{}, Metadata: []byte(`{}`)},
		{ID: uuid.New(), Type: "Ä", SchemaVersion: 1 << 30, Data: []byte(`{"x":"ёж"}`), Metadata: []byte{0, 1, 2}},
	}
	res, err := eventstore.AppendOne(ctx, s, "поток/1", eventstore.NoStream, evs...)
	require.NoError(t, err) // Append itself fails when the database's chain differs
	got, err := s.ReadStream(ctx, "поток/1", 1, 0)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for i := range got {
		assert.Equal(t, eventstore.ChainHash(got[i].PrevHash, &got[i]), got[i].Hash)
		assert.Equal(t, res.Records[i], got[i])
	}
	rep, err := eventstore.VerifyStream(ctx, s, "поток/1")
	require.NoError(t, err)
	assert.True(t, rep.OK)
}

// A reader must stop below a position whose transaction is still in flight, and continue
// once it commits; a transaction that rolls back leaves a gap that readers then skip.
func TestReadAllStopsBelowInFlightAppend(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	_, err := eventstore.AppendOne(ctx, s, "a", eventstore.NoStream, ev("A1"))
	require.NoError(t, err)

	// An append that has allocated position 2 and is held open by a lock on its stream.
	blocker := inFlight(t, s)

	// Position 3 commits while 2 is in flight.
	r3, err := eventstore.AppendOne(ctx, s, "b", eventstore.NoStream, ev("B1"))
	require.NoError(t, err)
	assert.EqualValues(t, 3, r3.Records[0].Position)

	recs, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, 1, "ReadAll must not pass the in-flight position 2")
	head, err := s.Head(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, head)
	stream, err := s.ReadStream(ctx, "b", 1, 0)
	require.NoError(t, err)
	assert.Len(t, stream, 1, "stream reads are not held back")

	require.NoError(t, blocker.Rollback(ctx))
	recs, err = s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, 2, "the rolled-back gap is skipped")
	assert.EqualValues(t, []uint64{1, 3}, []uint64{recs[0].Position, recs[1].Position})
	head, err = s.Head(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, head)
}

// An unrelated transaction in flight (another store's, or none at all) must not hold readers
// back when the positions have no gap.
func TestUnrelatedTransactionDoesNotBlockReaders(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	other, err := s.Pool().Begin(ctx)
	require.NoError(t, err)
	defer other.Rollback(ctx)
	_, err = other.Exec(ctx, "CREATE TEMP TABLE unrelated (x int)") // takes a transaction id
	require.NoError(t, err)

	for i := range 3 {
		_, err := eventstore.AppendOne(ctx, s, "a", eventstore.Exact(uint64(i)), ev("A"))
		require.NoError(t, err)
	}
	recs, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 3)
	head, err := s.Head(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, head)
}

// A subscriber in one process hears of commits made through another (LISTEN/NOTIFY), long
// before its poll interval.
func TestSubscribeAcrossStores(t *testing.T) {
	url := pgtest.Schema(t)
	reader := open(t, url, WithPollInterval(time.Hour))
	defer reader.Close()
	writer := open(t, url)
	defer writer.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan eventstore.Record, 10)
	done := make(chan error, 1)
	go func() {
		done <- reader.Subscribe(ctx, 0, func(r eventstore.Record) error { got <- r; return nil })
	}()
	time.Sleep(100 * time.Millisecond) // let the listener start
	res, err := eventstore.AppendOne(context.Background(), writer, "x", eventstore.NoStream, ev("X"))
	require.NoError(t, err)
	select {
	case r := <-got:
		assert.Equal(t, res.Records[0], r)
	case <-time.After(10 * time.Second):
		t.Fatal("no event through NOTIFY")
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestClosedStore(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := eventstore.AppendOne(context.Background(), s, "a", eventstore.Any, ev("A"))
	require.Error(t, err)
	_, err = s.ReadAll(context.Background(), 0, 0)
	require.Error(t, err)
}

// Two processes append to one stream: each one's remembered head goes stale, and the store
// must notice in the database, re-read and carry on (Any) or report the conflict (Exact).
func TestStaleHeadFromAnotherProcess(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	_, err := eventstore.AppendOne(ctx, a, "s", eventstore.NoStream, ev("A1"))
	require.NoError(t, err)
	_, err = eventstore.AppendOne(ctx, b, "s", eventstore.Exact(1), ev("B2"))
	require.NoError(t, err)

	_, err = eventstore.AppendOne(ctx, a, "s", eventstore.Exact(1), ev("A-stale"))
	var vc *eventstore.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.EqualValues(t, 2, vc.Actual)

	res, err := eventstore.AppendOne(ctx, a, "s", eventstore.Any, ev("A3"))
	require.NoError(t, err)
	assert.EqualValues(t, 3, res.Version)
	_, err = eventstore.AppendOne(ctx, b, "s", eventstore.StreamExists, ev("B4"))
	require.NoError(t, err)
	recs, err := a.ReadStream(ctx, "s", 1, 0)
	require.NoError(t, err)
	require.Len(t, recs, 4)
	rep, err := eventstore.VerifyStream(ctx, a, "s")
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Break)
}

// A remembered head that the database does not hold (say, the schema was restored from an
// older backup) must not let an append leave a gap in a stream or break its chain.
func TestHeadAheadOfDatabaseIsRefused(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	first, err := eventstore.AppendOne(ctx, s, "s", eventstore.NoStream, ev("E1"))
	require.NoError(t, err)
	s.heads.put("s", head{version: 5, hash: eventstore.Hash{1}}) // a lie
	res, err := eventstore.AppendOne(ctx, s, "s", eventstore.Any, ev("E2"))
	require.NoError(t, err)
	assert.EqualValues(t, 2, res.Version)
	assert.Equal(t, first.Records[0].Hash, res.Records[0].PrevHash)

	s.heads.put("s", head{version: 2, hash: eventstore.Hash{2}}) // right version, wrong hash
	res, err = eventstore.AppendOne(ctx, s, "s", eventstore.Exact(2), ev("E3"))
	require.NoError(t, err)
	rep, err := eventstore.VerifyStream(ctx, s, "s")
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Break)
	assert.EqualValues(t, 3, rep.Events)
}

// Connections killed under the store are replaced; an append after that just works.
func TestAppendSurvivesKilledConnections(t *testing.T) {
	app := "custody_kill_" + uuid.NewString()[:8]
	s := open(t, pgtest.Schema(t)+"&application_name="+app)
	defer s.Close()
	ctx := context.Background()
	_, err := eventstore.AppendOne(ctx, s, "s", eventstore.NoStream, ev("E1"))
	require.NoError(t, err)
	admin, err := pgxpool.New(ctx, pgtest.URL(t))
	require.NoError(t, err)
	defer admin.Close()
	var killed int
	// Materialized first: a plain WHERE may call pg_terminate_backend before filtering, and
	// other sessions on the server are none of this test's business.
	require.NoError(t, admin.QueryRow(ctx, `WITH victims AS MATERIALIZED (
		SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid())
		SELECT count(*) FROM victims WHERE pg_terminate_backend(pid)`, app).Scan(&killed))
	require.NotZero(t, killed)
	for i := range 3 {
		_, err = eventstore.AppendOne(ctx, s, "s", eventstore.Exact(uint64(1+i)), ev("E"))
		require.NoError(t, err)
	}
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	assert.ErrorIs(t, err, eventstore.ErrUnavailable)
}

func TestMapErr(t *testing.T) {
	ctx := context.Background()
	assert.ErrorIs(t, mapErr(ctx, &pgconn.PgError{Code: codeQueryCanceled}), eventstore.ErrUnavailable, "statement timeout")
	assert.ErrorIs(t, mapErr(ctx, &pgconn.PgError{Code: codeDeadlock}), eventstore.ErrUnavailable)
	assert.ErrorIs(t, mapErr(ctx, &pgconn.PgError{Code: "57P01"}), eventstore.ErrUnavailable, "admin shutdown")
	assert.NotErrorIs(t, mapErr(ctx, &pgconn.PgError{Code: "42601"}), eventstore.ErrUnavailable, "syntax error")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, mapErr(cancelled, errors.New("conn closed")), context.Canceled)
}

// An append statement cancelled between taking and releasing the position lock must not leave
// the lock held on its pooled connection (every later append would wait for ever): failed
// releases it.
func TestFailedAppendReleasesThePositionLock(t *testing.T) {
	s := open(t, pgtest.Schema(t))
	defer s.Close()
	ctx := context.Background()
	conn, err := s.Pool().Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock((1668641652::bigint << 32) | 'events_position_seq'::regclass::oid::bigint)`)
	require.NoError(t, err)
	held := func() bool {
		var n int
		require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1668641652
			AND objid = 'events_position_seq'::regclass::oid AND granted`).Scan(&n))
		return n > 0
	}
	require.True(t, held())
	cancelled := &pgconn.PgError{Code: codeQueryCanceled}
	assert.Equal(t, cancelled, failed(conn, cancelled))
	assert.False(t, held(), "released")

	_, err = eventstore.AppendOne(ctx, s, "after", eventstore.NoStream, ev("A"))
	require.NoError(t, err, "appends go on")
}
