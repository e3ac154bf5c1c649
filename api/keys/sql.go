package keys

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/custody-ledger/custody/domain"
)

//go:embed migrations/*.sql
var migrations embed.FS

func migration(name string) string {
	b, err := migrations.ReadFile("migrations/" + name)
	if err != nil {
		panic("keys: embedded migration " + name + ": " + err.Error()) // caught by the tests
	}
	return string(b)
}

// SQLite keeps keys in table api_keys of an SQLite database, normally the event store's own
// (sqlite.Store.DB()), so that one file holds everything and a key made by `custody keys
// create` works at once for a running server.
type SQLite struct {
	db  *sql.DB
	now func() time.Time
}

var _ Store = (*SQLite)(nil)

// NewSQLite creates table api_keys if it is absent and returns a store on db.
func NewSQLite(ctx context.Context, db *sql.DB) (*SQLite, error) {
	if _, err := db.ExecContext(ctx, migration("sqlite.sql")); err != nil {
		return nil, fmt.Errorf("keys: create table api_keys: %w", err)
	}
	return &SQLite{db: db, now: time.Now}, nil
}

// Create makes a key.
func (s *SQLite) Create(ctx context.Context, org domain.Org, unit string, role domain.Role) (string, Key, error) {
	secret, k, err := prepare(org, unit, role, s.now())
	if err != nil {
		return "", Key{}, err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO api_keys (id, secret_sha256, org, unit, role, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, Digest(secret), string(k.Org), k.Unit, string(k.Role), k.CreatedAt.UnixMicro())
	if err != nil {
		return "", Key{}, fmt.Errorf("keys: create: %w", err)
	}
	return secret, k, nil
}

// Authenticate returns the live key of secret.
func (s *SQLite) Authenticate(ctx context.Context, secret string) (Key, error) {
	id, ok := parseSecret(secret)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	var (
		k       Key
		digest  []byte
		created int64
		revoked sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx,
		`SELECT id, secret_sha256, org, unit, role, created_at, revoked_at FROM api_keys WHERE id = ?`, id).
		Scan(&k.ID, &digest, &k.Org, &k.Unit, &k.Role, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrUnauthenticated
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: authenticate: %w", err)
	}
	if !matches(secret, digest) || revoked.Valid {
		return Key{}, ErrUnauthenticated
	}
	k.CreatedAt = time.UnixMicro(created).UTC()
	return k, nil
}

// List returns every key, oldest first.
func (s *SQLite) List(ctx context.Context) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, org, unit, role, created_at, revoked_at FROM api_keys ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var (
			k       Key
			created int64
			revoked sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Org, &k.Unit, &k.Role, &created, &revoked); err != nil {
			return nil, fmt.Errorf("keys: list: %w", err)
		}
		k.CreatedAt, k.Revoked = time.UnixMicro(created).UTC(), revoked.Valid
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return out, nil
}

// Revoke revokes a key; the first revocation's time is kept.
func (s *SQLite) Revoke(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, s.now().UTC().UnixMicro(), id)
	if err != nil {
		return fmt.Errorf("keys: revoke: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("keys: revoke: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
