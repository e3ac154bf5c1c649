package keys_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
)

func TestMemory(t *testing.T) {
	runStore(t, func(t *testing.T) keys.StoreWithSessions { return keys.NewMemory() })
}

// The cache keeps the contract, revocation included.
func TestCached(t *testing.T) {
	runStore(t, func(t *testing.T) keys.StoreWithSessions { return keys.NewCached(keys.NewMemory()) })
}

func TestSQLite(t *testing.T) {
	runStore(t, func(t *testing.T) keys.StoreWithSessions {
		// The event store's own handle, as `custody serve` shares it.
		es, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "custody.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = es.Close() })
		db := es.DB()
		s, err := keys.NewSQLite(t.Context(), db)
		require.NoError(t, err)
		// The migration is idempotent: a second start on the same file finds the table.
		_, err = keys.NewSQLite(t.Context(), db)
		require.NoError(t, err)
		return s
	})
}

func TestPostgres(t *testing.T) {
	runStore(t, func(t *testing.T) keys.StoreWithSessions {
		pool, err := pgxpool.New(t.Context(), pgtest.Schema(t))
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		// Two servers starting at once both create the table without failing.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = keys.NewPostgres(context.Background(), pool) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		s, err := keys.NewPostgres(t.Context(), pool)
		require.NoError(t, err)
		return s
	})
}

// runStore is the contract every Store implementation passes.
func runStore(t *testing.T, newStore func(t *testing.T) keys.StoreWithSessions) {
	t.Run("Sessions", func(t *testing.T) { runSessions(t, newStore(t)) })
	t.Run("CreateAuthenticate", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		secret, k, err := s.Create(ctx, domain.OrgGK, "GK-ALA-ACC", domain.RoleGKAccumulation)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(secret, "ck_"+k.ID+"_"), "the secret names its key")
		assert.Equal(t, domain.OrgGK, k.Org)
		assert.Equal(t, "GK-ALA-ACC", k.Unit)
		assert.Equal(t, domain.RoleGKAccumulation, k.Role)
		assert.False(t, k.CreatedAt.IsZero())
		assert.False(t, k.Revoked)

		got, err := s.Authenticate(ctx, secret)
		require.NoError(t, err)
		assert.Equal(t, k.ID, got.ID)
		assert.Equal(t, k.Org, got.Org)
		assert.Equal(t, k.Unit, got.Unit)
		assert.Equal(t, k.Role, got.Role)
		assert.True(t, k.CreatedAt.Equal(got.CreatedAt), "created_at survives the round trip")
		assert.Equal(t, domain.Actor{Role: k.Role, Org: k.Org, Unit: k.Unit, EmployeeID: "a1"}, got.Actor("a1"))

		secret2, k2, err := s.Create(ctx, "", "", domain.RoleAuditor)
		require.NoError(t, err)
		assert.NotEqual(t, k.ID, k2.ID)
		assert.NotEqual(t, secret, secret2)
	})

	t.Run("WrongSecrets", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		secret, _, err := s.Create(ctx, domain.OrgKaspi, "KSP-ALA-IN1", domain.RoleKaspiIntake)
		require.NoError(t, err)
		tail := secret[len(secret)-43:]
		flipped := []byte(secret)
		if flipped[len(flipped)-1] == 'A' {
			flipped[len(flipped)-1] = 'B'
		} else {
			flipped[len(flipped)-1] = 'A'
		}
		for name, bad := range map[string]string{
			"empty":         "",
			"garbage":       "hello",
			"no prefix":     strings.TrimPrefix(secret, "ck_"),
			"one bit off":   string(flipped),
			"unknown id":    "ck_0123456789abcdef_" + tail,
			"truncated":     secret[:len(secret)-1],
			"extra":         secret + "x",
			"sql injection": "ck_' OR 1=1 --_" + tail,
		} {
			_, err := s.Authenticate(ctx, bad)
			assert.ErrorIs(t, err, keys.ErrUnauthenticated, name)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		secret, k, err := s.Create(ctx, domain.OrgRAGS, "RAGS-ALA-01", domain.RoleRAGS)
		require.NoError(t, err)
		other, _, err := s.Create(ctx, domain.OrgRAGS, "RAGS-ALA-01", domain.RoleRAGS)
		require.NoError(t, err)
		require.NoError(t, s.Revoke(ctx, k.ID))
		require.NoError(t, s.Revoke(ctx, k.ID), "revoking twice is fine")
		_, err = s.Authenticate(ctx, secret)
		assert.ErrorIs(t, err, keys.ErrUnauthenticated)
		_, err = s.Authenticate(ctx, other)
		assert.NoError(t, err, "other keys of the same unit stay live")
		assert.ErrorIs(t, s.Revoke(ctx, "0123456789abcdef"), keys.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		list, err := s.List(ctx)
		require.NoError(t, err)
		assert.Empty(t, list)
		var ids []string
		for _, r := range []domain.Role{domain.RoleGKCourier, domain.RoleGKIssuance, domain.RoleIISCON} {
			_, k, err := s.Create(ctx, domain.OrgGK, "GK-ALA-01", r)
			require.NoError(t, err)
			ids = append(ids, k.ID)
		}
		require.NoError(t, s.Revoke(ctx, ids[1]))
		list, err = s.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 3)
		for i, k := range list {
			assert.Equal(t, ids[i], k.ID, "oldest first")
			assert.Equal(t, i == 1, k.Revoked)
		}
	})

	t.Run("Validation", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		cases := []struct {
			name string
			org  domain.Org
			unit string
			role domain.Role
			ok   bool
		}{
			{"courier", domain.OrgGK, "GK-ALA-CR1", domain.RoleGKCourier, true},
			{"platform", domain.OrgKaspi, "KASPI-APP", domain.RoleKaspiPlatform, true},
			{"postomat", domain.OrgKaspi, "PM-ALA-0042", domain.RolePostomat, true},
			{"auditor without org", "", "", domain.RoleAuditor, true},
			{"commission with a unit", "", "COMMISSION-ALA", domain.RoleCommission, true},
			{"admin", "", "", domain.RoleAdmin, true},
			{"recipient", domain.OrgRecipient, "", domain.RoleRecipient, true},
			{"unknown role", domain.OrgGK, "X", "janitor", false},
			{"system role", domain.OrgLedger, "", domain.RoleSystem, false},
			{"wrong org", domain.OrgKaspi, "GK-ALA-CR1", domain.RoleGKCourier, false},
			{"missing org", "", "GK-ALA-CR1", domain.RoleGKCourier, false},
			{"auditor with an org", domain.OrgGK, "", domain.RoleAuditor, false},
			{"unit needed", domain.OrgRAGS, "", domain.RoleRAGS, false},
			{"bad unit", domain.OrgRAGS, "RAGS ALA", domain.RoleRAGS, false},
			{"long unit", domain.OrgRAGS, strings.Repeat("A", 65), domain.RoleRAGS, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				assert.Equal(t, c.ok, keys.Validate(c.org, c.unit, c.role) == nil)
				_, _, err := s.Create(ctx, c.org, c.unit, c.role)
				if c.ok {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, keys.ErrInvalid)
				}
			})
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		var wg sync.WaitGroup
		secrets := make([]string, 8)
		for i := range secrets {
			wg.Go(func() {
				sec, _, err := s.Create(ctx, domain.OrgKaspi, "KSP-ALA-CR1", domain.RoleKaspiCourier)
				assert.NoError(t, err)
				secrets[i] = sec
			})
		}
		wg.Wait()
		for _, sec := range secrets {
			wg.Go(func() {
				_, err := s.Authenticate(ctx, sec)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
	})
}

func TestDigestIsSHA256(t *testing.T) {
	// The stored digest is SHA-256 of the whole secret: 32 bytes, never the secret itself.
	d := keys.Digest("ck_0123456789abcdef_" + strings.Repeat("A", 43))
	assert.Len(t, d, 32)
}

// runSessions is the sessions' contract: a session names its key until it expires, is closed,
// or its key is revoked; a revoked key opens none.
func runSessions(t *testing.T, s keys.StoreWithSessions) {
	ctx := t.Context()
	now := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
	_, k, err := s.Create(ctx, "", "", domain.RoleAuditor)
	require.NoError(t, err)
	token, err := s.OpenSession(ctx, k.ID, now, now.Add(time.Hour))
	require.NoError(t, err)
	assert.Len(t, token, 43, "256 random bits, base64url")
	other, err := s.OpenSession(ctx, k.ID, now, now.Add(2*time.Hour))
	require.NoError(t, err)
	assert.NotEqual(t, token, other)

	got, exp, err := s.Session(ctx, token, now.Add(59*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, k.ID, got.ID)
	assert.Equal(t, domain.RoleAuditor, got.Role)
	assert.True(t, exp.Equal(now.Add(time.Hour)), "expires %s", exp)
	_, _, err = s.Session(ctx, token, now.Add(time.Hour))
	assert.ErrorIs(t, err, keys.ErrUnauthenticated, "expired")
	_, _, err = s.Session(ctx, "no-such-token", now)
	assert.ErrorIs(t, err, keys.ErrUnauthenticated, "unknown")

	require.NoError(t, s.CloseSession(ctx, other))
	_, _, err = s.Session(ctx, other, now)
	assert.ErrorIs(t, err, keys.ErrUnauthenticated, "closed")
	require.NoError(t, s.CloseSession(ctx, other), "closing twice is no error")

	third, err := s.OpenSession(ctx, k.ID, now, now.Add(time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.Revoke(ctx, k.ID))
	_, _, err = s.Session(ctx, third, now)
	assert.ErrorIs(t, err, keys.ErrUnauthenticated, "the key's revoke ends its sessions")
	_, err = s.OpenSession(ctx, k.ID, now, now.Add(time.Hour))
	assert.ErrorIs(t, err, keys.ErrUnauthenticated, "a revoked key opens no session")
	_, err = s.OpenSession(ctx, "0123456789abcdef", now, now.Add(time.Hour))
	assert.ErrorIs(t, err, keys.ErrUnauthenticated, "nor does an unknown one")
}
