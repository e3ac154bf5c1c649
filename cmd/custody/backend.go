package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/esdb"
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/eventstore/sqlite"
)

const defaultStore = "sqlite:./data/custody.db"

// backend is what a store URL opens: the event store and the SQL database that holds keys
// (and, later, the read models) beside it.
type backend struct {
	events  eventstore.Store
	sqlite  *sqlite.Store   // set when the SQL side is SQLite
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

// openBackend opens the store named by url. For a KurrentDB event store the SQL side is the
// separate readURL.
func openBackend(ctx context.Context, url, readURL string) (*backend, error) {
	b := &backend{}
	switch {
	case strings.HasPrefix(url, "esdb://"), strings.HasPrefix(url, "esdb+discover://"),
		strings.HasPrefix(url, "kurrentdb://"), strings.HasPrefix(url, "kurrentdb+discover://"):
		if readURL == "" {
			return nil, fmt.Errorf("a KurrentDB store needs --read-store (sqlite:PATH or postgres://...) for keys and read models")
		}
		es, err := esdb.Open(ctx, url)
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
		if err := b.openSQL(ctx, url, true); err != nil {
			return nil, err
		}
		return b, nil
	}
}

func (b *backend) openSQL(ctx context.Context, url string, events bool) error {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return fmt.Errorf("store %q: no file path", url)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("store directory: %w", err)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return fmt.Errorf("open SQLite store %s: %w", path, err)
		}
		b.sqlite = s
		b.closers = append(b.closers, s.Close)
		if events {
			b.events = s
		}
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err := postgres.Open(ctx, url)
		if err != nil {
			return fmt.Errorf("open PostgreSQL store: %w", err)
		}
		b.pg = s
		b.closers = append(b.closers, s.Close)
		if events {
			b.events = s
		}
	default:
		return fmt.Errorf("store %q: use sqlite:PATH, postgres://..., or esdb://... with --read-store", redact(url))
	}
	return nil
}

// redact hides a URL's password in messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	userinfo := url[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return url[:scheme+3] + userinfo[:i] + ":***" + url[at:]
	}
	return url
}

// keyStore returns the API keys kept beside the events (or in the read store).
func (b *backend) keyStore(ctx context.Context) (keys.Store, error) {
	switch {
	case b.sqlite != nil:
		return keys.NewSQLite(ctx, b.sqlite.DB())
	case b.pg != nil:
		return keys.NewPostgres(ctx, b.pg.Pool())
	}
	return nil, errors.New("no SQL store for keys")
}
