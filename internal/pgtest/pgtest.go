// Package pgtest gives tests their own PostgreSQL schema on the machine's server.
//
// The server is named by CUSTODY_TEST_PG (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot be reached the
// test is skipped, unless CUSTODY_REQUIRE_PG=1, which makes it fail instead (CI sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is used when CUSTODY_TEST_PG is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL returns the server's URL, or skips (or fails, with CUSTODY_REQUIRE_PG=1) when the
// server cannot be reached.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CUSTODY_TEST_PG")
	if u == "" {
		u = DefaultURL
	}
	if err := reachable(u); err != nil {
		if os.Getenv("CUSTODY_REQUIRE_PG") == "1" {
			t.Fatalf("pgtest: PostgreSQL at %s is required (CUSTODY_REQUIRE_PG=1) but unreachable: %v", redact(u), err)
		}
		t.Skipf("pgtest: PostgreSQL at %s unreachable, skipping (set CUSTODY_TEST_PG, or CUSTODY_REQUIRE_PG=1 to fail): %v", redact(u), err)
	}
	return u
}

// Schema creates a schema with a random name, drops it (CASCADE) when the test ends, and
// returns the server's URL with search_path set to it: whatever connects with that URL
// creates and finds its tables there.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name, u := create(t, base, "SCHEMA", "CASCADE")
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Database creates a database with a random name, drops it when the test ends, and returns
// the server's URL naming it: for a test that needs a second database (the verifiable log's
// tree apart from the store), not just a second schema.
func Database(t testing.TB) string {
	t.Helper()
	return DatabaseAt(t, URL(t))
}

// DatabaseAt is Database on the server base names (a benchmark's second server).
func DatabaseAt(t testing.TB, base string) string {
	t.Helper()
	name, u := create(t, base, "DATABASE", "WITH (FORCE)")
	u.Path = "/" + name
	return u.String()
}

// create makes a kind ("SCHEMA", "DATABASE") of a random name on the server base names and
// drops it, with the drop's options, when the test ends. It returns the name and base parsed.
func create(t testing.TB, base, kind, dropOptions string) (string, *url.URL) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: CUSTODY_TEST_PG must be a postgres:// URL: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	// Creating and dropping a database waits for a checkpoint, which on a loaded machine
	// takes longer than a statement's usual 10 s.
	within := 10 * time.Second
	if kind == "DATABASE" {
		within = 2 * time.Minute
	}
	if err := exec(base, "CREATE "+kind+" "+ident, within); err != nil {
		t.Fatalf("pgtest: create %s %s: %v", strings.ToLower(kind), name, err)
	}
	t.Cleanup(func() {
		if err := exec(base, "DROP "+kind+" IF EXISTS "+ident+" "+dropOptions, within); err != nil {
			t.Errorf("pgtest: drop %s %s: %v", strings.ToLower(kind), name, err)
		}
	})
	return name, u
}

var (
	probeOnce sync.Once
	probeErr  error
)

// reachable connects once per test binary; every later test gets the same answer.
func reachable(u string) error {
	probeOnce.Do(func() { probeErr = exec(u, "SELECT 1", 10*time.Second) })
	return probeErr
}

func exec(u, sql string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), "xxx")
	}
	return strings.TrimSpace(p.String())
}
