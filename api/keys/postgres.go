package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custody-ledger/custody/domain"
)

// Postgres keeps keys in table api_keys of a PostgreSQL database (the event store's pool,
// postgres.Store.Pool()), in the connection's search_path.
type Postgres struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var _ Store = (*Postgres)(nil)

// NewPostgres creates table api_keys if it is absent and returns a store on pool. Concurrent
// starts are serialised by an advisory lock: CREATE TABLE IF NOT EXISTS alone can still fail
// when two sessions race.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool) (*Postgres, error) {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('custody.api_keys'))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, migration("postgres.sql"))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("keys: create table api_keys: %w", err)
	}
	return &Postgres{pool: pool, now: time.Now}, nil
}

// Create makes a key.
func (s *Postgres) Create(ctx context.Context, org domain.Org, unit string, role domain.Role) (string, Key, error) {
	secret, k, err := prepare(org, unit, role, s.now())
	if err != nil {
		return "", Key{}, err
	}
	_, err = s.pool.Exec(ctx,
		`INSERT INTO api_keys (id, secret_sha256, org, unit, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, Digest(secret), string(k.Org), k.Unit, string(k.Role), k.CreatedAt)
	if err != nil {
		return "", Key{}, fmt.Errorf("keys: create: %w", err)
	}
	return secret, k, nil
}

// Authenticate returns the live key of secret.
func (s *Postgres) Authenticate(ctx context.Context, secret string) (Key, error) {
	id, ok := parseSecret(secret)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	var (
		k       Key
		org     string
		role    string
		digest  []byte
		revoked *time.Time
	)
	err := s.pool.QueryRow(ctx,
		`SELECT id, secret_sha256, org, unit, role, created_at, revoked_at FROM api_keys WHERE id = $1`, id).
		Scan(&k.ID, &digest, &org, &k.Unit, &role, &k.CreatedAt, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrUnauthenticated
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: authenticate: %w", err)
	}
	if !matches(secret, digest) || revoked != nil {
		return Key{}, ErrUnauthenticated
	}
	k.Org, k.Role, k.CreatedAt = domain.Org(org), domain.Role(role), k.CreatedAt.UTC()
	return k, nil
}

// List returns every key, oldest first.
func (s *Postgres) List(ctx context.Context) ([]Key, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, org, unit, role, created_at, revoked_at FROM api_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var (
			k         Key
			org, role string
			revoked   *time.Time
		)
		if err := rows.Scan(&k.ID, &org, &k.Unit, &role, &k.CreatedAt, &revoked); err != nil {
			return nil, fmt.Errorf("keys: list: %w", err)
		}
		k.Org, k.Role, k.CreatedAt, k.Revoked = domain.Org(org), domain.Role(role), k.CreatedAt.UTC(), revoked != nil
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return out, nil
}

// Revoke revokes a key; the first revocation's time is kept.
func (s *Postgres) Revoke(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, s.now().UTC(), id)
	if err != nil {
		return fmt.Errorf("keys: revoke: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
