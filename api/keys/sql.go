package keys

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/internal/migrate"
)

//go:embed migrations
var migrations embed.FS

// Migrations is the keys' migration component (version table goose_keys) for a dialect's
// directory. The code before goose created table api_keys without recording a version; a
// database that has the table is adopted at version 1.
func Migrations(d migrate.Dialect) migrate.Component {
	sub, err := fs.Sub(migrations, "migrations/"+string(d))
	if err != nil {
		panic(err) // a constant path into an embedded FS
	}
	return migrate.Component{Name: "keys", FS: sub, Legacy: migrate.IfTableExists("api_keys", 1)}
}

// dialect is what SQLite and PostgreSQL do differently with table api_keys; the queries and
// their scanning are shared.
type dialect struct {
	migrate migrate.Dialect
	// numbered placeholders ($1, $2, …) rather than ?.
	numbered bool
	// tieBreak orders keys created in the same microsecond.
	tieBreak string
	// stamp is how a time is stored: a TIMESTAMPTZ, or Unix microseconds in an INTEGER.
	stamp func(time.Time) any
}

// bind writes the dialect's placeholders into q, which is written with ?.
func (d dialect) bind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stamp reads a stored time of either dialect: a time.Time (TIMESTAMPTZ) or Unix
// microseconds (INTEGER); NULL leaves it invalid.
type stamp struct {
	t     time.Time
	valid bool
}

func (s *stamp) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*s = stamp{}
	case time.Time:
		*s = stamp{t: v.UTC(), valid: true}
	case int64:
		*s = stamp{t: time.UnixMicro(v).UTC(), valid: true}
	default:
		return fmt.Errorf("keys: a stored time of type %T", v)
	}
	return nil
}

// sqlStore keeps keys in table api_keys over database/sql; SQLite and Postgres are it with
// their dialect.
type sqlStore struct {
	db  *sql.DB
	d   dialect
	now func() time.Time
}

// newSQLStore applies the keys' migrations and returns a store on db.
func newSQLStore(ctx context.Context, db *sql.DB, d dialect) (sqlStore, error) {
	if err := migrate.Up(ctx, db, d.migrate, Migrations(d.migrate)); err != nil {
		return sqlStore{}, fmt.Errorf("keys: %w", err)
	}
	return sqlStore{db: db, d: d, now: time.Now}, nil
}

// Create makes a key.
func (s *sqlStore) Create(ctx context.Context, org domain.Org, unit string, role domain.Role) (string, Key, error) {
	secret, k, err := prepare(org, unit, role, s.now())
	if err != nil {
		return "", Key{}, err
	}
	_, err = s.db.ExecContext(ctx, s.d.bind(
		`INSERT INTO api_keys (id, secret_sha256, org, unit, role, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		k.ID, Digest(secret), string(k.Org), k.Unit, string(k.Role), s.d.stamp(k.CreatedAt))
	if err != nil {
		return "", Key{}, fmt.Errorf("keys: create: %w", err)
	}
	return secret, k, nil
}

// Authenticate returns the live key of secret.
func (s *sqlStore) Authenticate(ctx context.Context, secret string) (Key, error) {
	id, ok := parseSecret(secret)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	var (
		k                Key
		digest           []byte
		created, revoked stamp
	)
	err := s.db.QueryRowContext(ctx, s.d.bind(
		`SELECT id, secret_sha256, org, unit, role, created_at, revoked_at FROM api_keys WHERE id = ?`), id).
		Scan(&k.ID, &digest, &k.Org, &k.Unit, &k.Role, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrUnauthenticated
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: authenticate: %w", err)
	}
	if !matches(secret, digest) || revoked.valid {
		return Key{}, ErrUnauthenticated
	}
	k.CreatedAt = created.t
	return k, nil
}

// List returns every key, oldest first.
func (s *sqlStore) List(ctx context.Context) ([]Key, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, org, unit, role, created_at, revoked_at FROM api_keys ORDER BY created_at, `+s.d.tieBreak)
	if err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var (
			k                Key
			created, revoked stamp
		)
		if err := rows.Scan(&k.ID, &k.Org, &k.Unit, &k.Role, &created, &revoked); err != nil {
			return nil, fmt.Errorf("keys: list: %w", err)
		}
		k.CreatedAt, k.Revoked = created.t, revoked.valid
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: list: %w", err)
	}
	return out, nil
}

// Revoke revokes a key; the first revocation's time is kept.
func (s *sqlStore) Revoke(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.d.bind(
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), s.d.stamp(s.now().UTC()), id)
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

// SQLite keeps keys in table api_keys of an SQLite database, normally the event store's own
// (sqlite.Store.DB()), so that one file holds everything and a key made by `custody keys
// create` works at once for a running server.
type SQLite struct{ sqlStore }

var _ Store = (*SQLite)(nil)

// sqliteDialect stores times as Unix microseconds and breaks ties by insertion order.
var sqliteDialect = dialect{
	migrate:  migrate.SQLite,
	tieBreak: "rowid",
	stamp:    func(t time.Time) any { return t.UnixMicro() },
}

// NewSQLite applies the keys' migrations and returns a store on db.
func NewSQLite(ctx context.Context, db *sql.DB) (*SQLite, error) {
	s, err := newSQLStore(ctx, db, sqliteDialect)
	if err != nil {
		return nil, err
	}
	return &SQLite{s}, nil
}

// OpenSession opens a session for a live key, sweeping expired sessions first.
func (s *sqlStore) OpenSession(ctx context.Context, keyID string, now, expires time.Time) (string, error) {
	if _, err := s.db.ExecContext(ctx, s.d.bind(`DELETE FROM console_sessions WHERE expires_at <= ?`), s.d.stamp(now.UTC())); err != nil {
		return "", fmt.Errorf("keys: sweep sessions: %w", err)
	}
	token, d := newToken()
	res, err := s.db.ExecContext(ctx, s.d.bind(`INSERT INTO console_sessions (token_sha256, key_id, created_at, expires_at)
		SELECT ?, id, ?, ? FROM api_keys WHERE id = ? AND revoked_at IS NULL`),
		d[:], s.d.stamp(now.UTC()), s.d.stamp(expires.UTC()), keyID)
	if err != nil {
		return "", fmt.Errorf("keys: open session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("keys: open session: %w", err)
	} else if n == 0 {
		return "", ErrUnauthenticated
	}
	return token, nil
}

// Session returns the key of a live session whose key is not revoked.
func (s *sqlStore) Session(ctx context.Context, token string, now time.Time) (Key, time.Time, error) {
	var (
		k            Key
		created, exp stamp
	)
	d := tokenDigest(token)
	err := s.db.QueryRowContext(ctx, s.d.bind(`SELECT k.id, k.org, k.unit, k.role, k.created_at, x.expires_at
		FROM console_sessions x JOIN api_keys k ON k.id = x.key_id
		WHERE x.token_sha256 = ? AND x.expires_at > ? AND k.revoked_at IS NULL`), d[:], s.d.stamp(now.UTC())).
		Scan(&k.ID, &k.Org, &k.Unit, &k.Role, &created, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, time.Time{}, ErrUnauthenticated
	}
	if err != nil {
		return Key{}, time.Time{}, fmt.Errorf("keys: session: %w", err)
	}
	k.CreatedAt = created.t
	return k, exp.t, nil
}

// CloseSession ends a session.
func (s *sqlStore) CloseSession(ctx context.Context, token string) error {
	d := tokenDigest(token)
	if _, err := s.db.ExecContext(ctx, s.d.bind(`DELETE FROM console_sessions WHERE token_sha256 = ?`), d[:]); err != nil {
		return fmt.Errorf("keys: close session: %w", err)
	}
	return nil
}
