package keys

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
)

// Two processes on one database, each with its own cache: a revoke takes effect at once in
// the process that revoked, and in the other once its entry is Lifetime old.
func TestCachedRevokeAcrossProcesses(t *testing.T) {
	for name, open := range twoProcesses() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s1, s2 := open(t)
			clock := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			here, there := NewCached(s1), NewCached(s2)
			here.now, there.now = now, now

			secret, k, err := here.Create(ctx, "", "", domain.RoleAuditor)
			require.NoError(t, err)
			for _, c := range []*Cached{here, there} {
				_, err := c.Authenticate(ctx, secret)
				require.NoError(t, err)
			}

			require.NoError(t, here.Revoke(ctx, k.ID))
			_, err = here.Authenticate(ctx, secret)
			assert.ErrorIs(t, err, ErrUnauthenticated, "at once in the revoking process")

			clock = clock.Add(Lifetime - time.Millisecond)
			got, err := there.Authenticate(ctx, secret)
			require.NoError(t, err, "the other process trusts its entry for up to Lifetime")
			assert.Equal(t, k.ID, got.ID)

			clock = clock.Add(time.Millisecond)
			_, err = there.Authenticate(ctx, secret)
			assert.ErrorIs(t, err, ErrUnauthenticated, "and no longer")
		})
	}
}

// twoProcesses opens two stores on one database, as two servers would.
func twoProcesses() map[string]func(t *testing.T) (StoreWithSessions, StoreWithSessions) {
	return map[string]func(t *testing.T) (StoreWithSessions, StoreWithSessions){
		"sqlite": func(t *testing.T) (StoreWithSessions, StoreWithSessions) {
			path := filepath.Join(t.TempDir(), "custody.db")
			open := func() StoreWithSessions {
				es, err := sqlite.Open(t.Context(), path)
				require.NoError(t, err)
				t.Cleanup(func() { _ = es.Close() })
				s, err := NewSQLite(t.Context(), es.DB())
				require.NoError(t, err)
				return s
			}
			return open(), open()
		},
		"postgres": func(t *testing.T) (StoreWithSessions, StoreWithSessions) {
			url := pgtest.Schema(t)
			open := func() StoreWithSessions {
				pool, err := pgxpool.New(t.Context(), url)
				require.NoError(t, err)
				t.Cleanup(pool.Close)
				s, err := NewPostgres(t.Context(), pool)
				require.NoError(t, err)
				return s
			}
			return open(), open()
		},
	}
}

// A session's key revoked, or the session closed, in one process: at once there, within
// Lifetime in the other; a session opened in one works in the other at once.
func TestCachedSessionsAcrossProcesses(t *testing.T) {
	for name, open := range twoProcesses() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s1, s2 := open(t)
			clock := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			here, there := NewCached(s1), NewCached(s2)
			here.now, there.now = now, now
			_, k, err := here.Create(ctx, "", "", domain.RoleCommission)
			require.NoError(t, err)
			open := func() string {
				token, err := here.OpenSession(ctx, k.ID, clock, clock.Add(time.Hour))
				require.NoError(t, err)
				for _, c := range []*Cached{here, there} {
					got, _, err := c.Session(ctx, token, clock)
					require.NoError(t, err, "a session opened in one process works in both")
					assert.Equal(t, k.ID, got.ID)
				}
				return token
			}

			closed := open()
			require.NoError(t, here.CloseSession(ctx, closed))
			_, _, err = here.Session(ctx, closed, clock)
			assert.ErrorIs(t, err, ErrUnauthenticated, "signed out at once in the closing process")
			_, _, err = there.Session(ctx, closed, clock.Add(Lifetime-time.Millisecond))
			require.NoError(t, err, "the other trusts its entry for up to Lifetime")
			clock = clock.Add(Lifetime)
			_, _, err = there.Session(ctx, closed, clock)
			assert.ErrorIs(t, err, ErrUnauthenticated, "and no longer")

			expiring := open()
			_, _, err = there.Session(ctx, expiring, clock.Add(time.Hour))
			assert.ErrorIs(t, err, ErrUnauthenticated, "a cached session still expires on time")

			live := open()

			require.NoError(t, here.Revoke(ctx, k.ID))
			_, _, err = here.Session(ctx, live, clock)
			assert.ErrorIs(t, err, ErrUnauthenticated, "revoked: at once in the revoking process")
			clock = clock.Add(Lifetime - time.Millisecond)
			_, _, err = there.Session(ctx, live, clock)
			require.NoError(t, err, "the other trusts its entry for up to Lifetime")
			clock = clock.Add(time.Millisecond)
			_, _, err = there.Session(ctx, live, clock)
			assert.ErrorIs(t, err, ErrUnauthenticated, "and no longer")
		})
	}
}

func TestCachedKeepsOnlySuccesses(t *testing.T) {
	c := NewCached(NewMemory())
	for range 3 {
		secret, _, err := c.Create(t.Context(), "", "", domain.RoleAuditor)
		require.NoError(t, err)
		_, err = c.Authenticate(t.Context(), secret)
		require.NoError(t, err)
	}
	assert.Len(t, c.entries, 3)
	_, err := c.Authenticate(t.Context(), "ck_0123456789abcdef_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.Len(t, c.entries, 3, "refusals are not kept")
}
