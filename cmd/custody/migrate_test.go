package main

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/internal/pgtest"
	"github.com/custody-ledger/custody/projections"
)

// legacyData is what the fixture stores through the legacy schema: events whose hash chains
// hold, a key, and a notification in the outbox.
type legacyData struct {
	records []eventstore.Record
	secret  string
	keyID   string
}

func newLegacyData() legacyData {
	at := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
	var d legacyData
	prev := map[string]eventstore.Hash{}
	for i, stream := range []string{"document-A", "document-A", "document-B", "document-A"} {
		var version uint64 = 1
		for _, r := range d.records {
			if r.StreamID == stream {
				version++
			}
		}
		r := eventstore.Record{StreamID: stream, Version: version, Position: uint64(i + 1), EventID: uuid.New(),
			Type: "Legacy", SchemaVersion: 1, Data: []byte(`{"n":` + string(rune('0'+i)) + `}`),
			Metadata: []byte(`{}`), RecordedAt: at.Add(time.Duration(i) * time.Minute)}
		eventstore.Seal(prev[stream], &r)
		prev[stream] = r.Hash
		d.records = append(d.records, r)
	}
	d.keyID = "0123456789abcdef"
	d.secret = "ck_" + d.keyID + "_" + strings.Repeat("A", 43)
	return d
}

// write stores the data with the legacy schema's columns.
func (d legacyData) write(t *testing.T, db *sql.DB, postgres bool) {
	ctx := t.Context()
	for _, r := range d.records {
		if postgres {
			_, err := db.ExecContext(ctx, `INSERT INTO events (position, txid, tx_events, stream_id, version, event_id, type,
				schema_version, data, metadata, recorded_at, prev_hash, hash) VALUES ($1, $12, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				r.Position, r.StreamID, r.Version, r.EventID, r.Type, r.SchemaVersion, r.Data, r.Metadata, r.RecordedAt,
				r.PrevHash[:], r.Hash[:], 1000+r.Position)
			require.NoError(t, err)
			continue
		}
		_, err := db.ExecContext(ctx, `INSERT INTO streams (stream_id, version, last_hash) VALUES ($1, $2, $3)
			ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_hash = excluded.last_hash`,
			r.StreamID, r.Version, r.Hash[:])
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO events (position, stream_id, version, event_id, type, schema_version,
			data, metadata, recorded_at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.Position, r.StreamID, r.Version, r.EventID[:], r.Type, r.SchemaVersion, r.Data, r.Metadata,
			r.RecordedAt.UnixMicro(), r.PrevHash[:], r.Hash[:])
		require.NoError(t, err)
	}
	if postgres {
		_, err := db.ExecContext(ctx, `SELECT setval('events_position_seq', $1)`, len(d.records))
		require.NoError(t, err)
	}
	created := any(int64(1764583200000000))
	if postgres {
		created = time.UnixMicro(1764583200000000)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO api_keys (id, secret_sha256, org, unit, role, created_at) VALUES ($1, $2, '', '', 'auditor', $3)`,
		d.keyID, keys.Digest(d.secret), created)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO projections_outbox (dedup_key, document_id, channel, position, created_at, payload, status, enqueued_at)
		VALUES ('document-A/x/sms', 'document-A', 'sms', 4, 1, '{}', 'delivered', 1)`)
	require.NoError(t, err)
}

func execAll(t *testing.T, db *sql.DB, scripts ...string) {
	for _, s := range scripts {
		_, err := db.ExecContext(t.Context(), s)
		require.NoError(t, err)
	}
}

// A database made by the hand-written runners before goose (their exact DDL and version rows,
// legacy_schema_test.go) is adopted and migrated forward by the goose migrations without
// losing or changing anything: the chains verify, the streams continue, the key works and the
// outbox keeps its row; a second start changes nothing.
func TestMigrateForwardFromEarlierRunners(t *testing.T) {
	cases := []struct {
		name  string
		store func(t *testing.T) (url string, legacy *sql.DB)
	}{
		{"sqlite", func(t *testing.T) (string, *sql.DB) {
			path := filepath.Join(t.TempDir(), "custody.db")
			db, err := sql.Open("sqlite", path)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			execAll(t, db, legacySQLiteVersions, legacySQLiteEvents, legacySQLiteKeys, legacyProjectionsVersions, legacyProjections)
			return "sqlite:" + path, db
		}},
		{"postgres", func(t *testing.T) (string, *sql.DB) {
			url := pgtest.Schema(t)
			db, err := sql.Open("pgx", url)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			execAll(t, db, legacyPostgresVersions, legacyPostgresEvents, legacyPostgresKeys, legacyProjectionsVersions, legacyProjections)
			return url, db
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			url, legacy := c.store(t)
			data := newLegacyData()
			data.write(t, legacy, c.name == "postgres")
			require.NoError(t, legacy.Close())

			for start := range 2 { // the second start finds everything done
				b, err := openBackend(ctx, url, "")
				require.NoError(t, err, "start %d", start)
				ks, err := b.keyStore(ctx)
				require.NoError(t, err)
				db, dialect, err := b.readDB()
				require.NoError(t, err)
				p, err := projections.Open(ctx, db, dialect, b.events, nil, projections.Options{DisableWatch: true})
				require.NoError(t, err)

				rep, err := eventstore.VerifyAll(ctx, b.events)
				require.NoError(t, err)
				assert.True(t, rep.OK, "%+v", rep.Break)
				assert.Equal(t, uint64(len(data.records)+start), rep.Events)
				got, err := b.events.ReadAll(ctx, 0, 100)
				require.NoError(t, err)
				for i, want := range data.records {
					want.RecordedAt = want.RecordedAt.UTC()
					got[i].RecordedAt = got[i].RecordedAt.UTC()
					assert.Equal(t, want, got[i], "event %d unchanged", i+1)
				}
				k, err := ks.Authenticate(ctx, data.secret)
				require.NoError(t, err)
				assert.Equal(t, data.keyID, k.ID)
				var status string
				require.NoError(t, db.QueryRowContext(ctx, `SELECT status FROM projections_outbox WHERE dedup_key = 'document-A/x/sms'`).Scan(&status))
				assert.Equal(t, "delivered", status)

				if start == 0 { // the streams continue where the legacy chain ended
					res, err := b.events.AppendMulti(ctx, eventstore.StreamAppend{StreamID: "document-A", Expected: eventstore.Exact(3),
						Events: []eventstore.EventData{{ID: uuid.New(), Type: "Later", SchemaVersion: 1, Data: []byte(`{}`)}}})
					require.NoError(t, err)
					assert.Equal(t, uint64(4), res[0].Version)
					assert.Equal(t, data.records[3].Hash, res[0].Records[0].PrevHash)
					assert.Equal(t, uint64(5), res[0].Records[0].Position)
				}
				for table, want := range map[string][]int64{
					"goose_eventstore":  {0, 1},
					"goose_keys":        {0, 1},
					"goose_projections": {0, 1},
				} {
					assert.Subset(t, appliedVersions(t, db, table), want, table)
				}
				require.NoError(t, p.Close())
				require.NoError(t, b.Close())
			}
		})
	}
}

// appliedVersions lists the versions a goose version table records as applied, once each.
func appliedVersions(t *testing.T, db *sql.DB, table string) []int64 {
	rows, err := db.QueryContext(context.Background(), `SELECT version_id FROM `+table+` WHERE is_applied ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	sorted := slices.Clone(out)
	slices.Sort(sorted)
	assert.Equal(t, len(sorted), len(slices.Compact(sorted)), "%s records a version twice: %v", table, out)
	return out
}

// openAll opens what `custody serve` opens, in the same order: the store, the keys, the read
// models.
func openAll(ctx context.Context, url string) error {
	b, err := openBackend(ctx, url, "")
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	if _, err := b.keyStore(ctx); err != nil {
		return err
	}
	db, dialect, err := b.readDB()
	if err != nil {
		return err
	}
	p, err := projections.Open(ctx, db, dialect, b.events, nil, projections.Options{DisableWatch: true})
	if err != nil {
		return err
	}
	return p.Close()
}

// Issue 10 §8: servers started at the same moment on an empty database all come up; every
// component's migrations run under the one migration lock, taken before anything is created.
func TestServersStartAtOnceOnAnEmptyDatabase(t *testing.T) {
	const n = 6
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "custody.db") },
		"postgres": func(t *testing.T) string { return pgtest.Schema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			for round := range 3 {
				u := url(t)
				start := make(chan struct{})
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						<-start
						errs[i] = openAll(t.Context(), u)
					})
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					require.NoError(t, err, "round %d, server %d", round, i)
				}
			}
		})
	}
}

// The same with the real binary: three `custody serve` started at once on an empty
// PostgreSQL schema all answer /healthz (issue 10 §8 saw all but one exit).
func TestServeProcessesStartAtOnceOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	store := pgtest.Schema(t)
	bin := filepath.Join(t.TempDir(), "custody")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run(), "go build")

	type proc struct {
		cmd    *exec.Cmd
		url    string
		stderr bytes.Buffer
		exited chan error
	}
	procs := make([]*proc, 3)
	for i := range procs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		p := &proc{url: "http://" + addr, exited: make(chan error, 1)}
		p.cmd = exec.Command(bin, "serve", "--store", store, "--listen", addr)
		p.cmd.Stderr = &p.stderr
		procs[i] = p
	}
	for _, p := range procs { // as close together as exec allows
		require.NoError(t, p.cmd.Start())
		t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.exited })
		go func() { p.exited <- p.cmd.Wait() }()
	}
	for i, p := range procs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			select {
			case err := <-p.exited:
				p.exited <- err
				t.Fatalf("server %d exited (%v): %s", i, err, p.stderr.String())
			default:
			}
			if resp, err := http.Get(p.url + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			require.True(t, time.Now().Before(deadline), "server %d did not come up", i)
			time.Sleep(50 * time.Millisecond)
		}
	}
}
