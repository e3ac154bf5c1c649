package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/esdb"
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/transparency"
)

const defaultStore = "sqlite:./data/custody.db"

// backend is what a store URL opens: the event store and the SQL database that holds keys
// (and, later, the read models) beside it.
type backend struct {
	events  eventstore.Store
	sqlite  *sqlite.Store // set when the SQL side is SQLite
	path    string        // the SQLite file's path
	treeURL string        // --tree-store: the verifiable log's tree, when not beside the read models
	tree    *sql.DB       // the verifiable log's tree, once opened (openLog)
	treeSQL projections.Dialect
	pg      *postgres.Store // set when the SQL side is PostgreSQL
	closers []func() error
}

func (b *backend) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

// openBackend opens the store named by storeURL. For a KurrentDB event store the SQL side is the
// separate readURL.
func openBackend(ctx context.Context, storeURL, readURL string, opts ...backendOption) (*backend, error) {
	b := &backend{}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	switch {
	case strings.HasPrefix(storeURL, "esdb://"), strings.HasPrefix(storeURL, "esdb+discover://"),
		strings.HasPrefix(storeURL, "kurrentdb://"), strings.HasPrefix(storeURL, "kurrentdb+discover://"):
		if readURL == "" {
			return nil, fmt.Errorf("a KurrentDB store needs --read-store (sqlite:PATH or postgres://...) for keys and read models")
		}
		es, err := esdb.Open(ctx, storeURL, esdb.WithCategories(domain.StreamPrefixes()...))
		if err != nil {
			return nil, fmt.Errorf("open KurrentDB: %w", err)
		}
		b.events = es
		b.closers = append(b.closers, es.Close)
		if err := b.openSQL(ctx, readURL, false); err != nil {
			_ = b.Close()
			return nil, err
		}
		return b, nil
	default:
		if err := b.openSQL(ctx, storeURL, true); err != nil {
			return nil, err
		}
		return b, nil
	}
}

func (b *backend) openSQL(ctx context.Context, storeURL string, events bool) error {
	switch {
	case strings.HasPrefix(storeURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(storeURL, "sqlite:"), "//")
		if path == "" {
			return fmt.Errorf("store %q: no file path", storeURL)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("store directory: %w", err)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return fmt.Errorf("open SQLite store %s: %w", path, err)
		}
		b.sqlite, b.path = s, path
		b.closers = append(b.closers, s.Close)
		if events {
			b.events = s
		}
	case strings.HasPrefix(storeURL, "postgres://"), strings.HasPrefix(storeURL, "postgresql://"):
		s, err := postgres.Open(ctx, storeURL)
		if err != nil {
			return fmt.Errorf("open PostgreSQL store: %w", err)
		}
		b.pg = s
		b.closers = append(b.closers, s.Close)
		if events {
			b.events = s
		}
	default:
		return fmt.Errorf("store %q: use sqlite:PATH, postgres://..., or esdb://... with --read-store", redact(storeURL))
	}
	return nil
}

// redact hides a URL's password in messages. A URL that does not parse is not shown at all:
// it might still hold a password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// keyStore returns the API keys kept beside the events (or in the read store), their lookups
// cached for keys.Lifetime (a revoke elsewhere takes effect within it).
func (b *backend) keyStore(ctx context.Context) (keys.StoreWithSessions, error) {
	switch {
	case b.sqlite != nil:
		s, err := keys.NewSQLite(ctx, b.sqlite.DB())
		if err != nil {
			return nil, err
		}
		return keys.NewCached(s), nil
	case b.pg != nil:
		s, err := keys.NewPostgres(ctx, b.pg.Pool())
		if err != nil {
			return nil, err
		}
		return keys.NewCached(s), nil
	}
	return nil, errors.New("no SQL store for keys")
}

// treeStoreFlag is --tree-store (docs/transparency.md, "The sequencer on a machine of its own").
func treeStoreFlag(fs *flag.FlagSet) *string {
	return fs.String("tree-store", envOr("CUSTODY_TREE_STORE", ""),
		"the verifiable log's tree, when not beside the read models: postgres://... or sqlite:PATH; every process of one log names the same (env CUSTODY_TREE_STORE)")
}

// backendOption is checked before anything is opened.
type backendOption func(*backend) error

// withTree keeps the verifiable log's tree in the database u names (--tree-store), if any.
func withTree(u string) backendOption {
	return func(b *backend) error {
		if u != "" && !isPostgresURL(u) && !strings.HasPrefix(u, "sqlite:") {
			return fmt.Errorf("%w: --tree-store %s: use postgres://... or sqlite:PATH", errUsage, redact(u))
		}
		if u == "sqlite:" || u == "sqlite://" {
			return fmt.Errorf("%w: --tree-store %q: no file path", errUsage, u)
		}
		b.treeURL = u
		return nil
	}
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// openTree opens the database of the verifiable log's tree: the one --tree-store names; else,
// on SQLite, the store's (or read store's) custody.tlog.db beside it; else the read models'.
func (b *backend) openTree(ctx context.Context) error {
	u := b.treeURL
	switch {
	case isPostgresURL(u):
		db, err := sql.Open("pgx", u)
		if err == nil {
			err = db.PingContext(ctx)
			if err != nil {
				_ = db.Close()
			}
		}
		if err != nil {
			return fmt.Errorf("open the tree store %s: %w", redact(u), err)
		}
		b.closers = append(b.closers, db.Close)
		b.tree, b.treeSQL = db, projections.Postgres
		return nil
	case u != "": // sqlite:PATH (withTree)
		return b.openTreeFile(ctx, strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//"))
	case b.sqlite != nil:
		return b.openTreeFile(ctx, transparency.TreeFile(b.path))
	}
	db, dialect, err := b.readDB()
	if err != nil {
		return err
	}
	b.tree, b.treeSQL = db, dialect
	return nil
}

// openTreeFile opens the tree's own SQLite file. A tree an earlier version kept in the
// SQLite store's file is moved into it first.
func (b *backend) openTreeFile(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("tree directory: %w", err)
	}
	db, err := sqlite.OpenDB(ctx, path, sqlite.Rebuildable())
	if err != nil {
		return err
	}
	b.closers = append(b.closers, db.Close)
	if b.sqlite != nil {
		moved, err := transparency.MoveTree(ctx, db, b.path)
		if err != nil {
			return err
		}
		if moved {
			slog.Info("transparency: the tree moved to its own file", "from", b.path, "to", path)
		}
	}
	b.tree, b.treeSQL = db, projections.SQLite
	return nil
}
