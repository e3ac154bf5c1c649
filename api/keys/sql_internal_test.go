package keys

import (
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/sqlite"
)

func TestDialectBind(t *testing.T) {
	q := `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`
	assert.Equal(t, q, sqliteDialect.bind(q))
	assert.Equal(t, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, postgresDialect.bind(q))
}

func TestStampScan(t *testing.T) {
	at := time.Date(2026, 3, 16, 9, 0, 0, 123456000, time.FixedZone("", 5*3600))
	var s stamp
	require.NoError(t, s.Scan(at))
	assert.True(t, s.valid)
	assert.Equal(t, at.UTC(), s.t)
	assert.Equal(t, time.UTC, s.t.Location())

	require.NoError(t, s.Scan(at.UnixMicro()))
	assert.True(t, s.valid)
	assert.Equal(t, at.UTC(), s.t)

	require.NoError(t, s.Scan(nil))
	assert.False(t, s.valid)
	assert.Error(t, s.Scan("2026-03-16"))
}

// The sessions table holds the token's SHA-256 and the key's id, never the token or the key's
// secret.
func TestSessionRowHoldsDigestsOnly(t *testing.T) {
	es, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "custody.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = es.Close() })
	s, err := NewSQLite(t.Context(), es.DB())
	require.NoError(t, err)
	secret, k, err := s.Create(t.Context(), "", "", domain.RoleAuditor)
	require.NoError(t, err)
	now := time.Now()
	token, err := s.OpenSession(t.Context(), k.ID, now, now.Add(time.Hour))
	require.NoError(t, err)
	var (
		digest  []byte
		keyID   string
		created int64
		expires int64
	)
	require.NoError(t, es.DB().QueryRow(`SELECT token_sha256, key_id, created_at, expires_at FROM console_sessions`).
		Scan(&digest, &keyID, &created, &expires))
	d := sha256.Sum256([]byte(token))
	assert.Equal(t, d[:], digest)
	assert.Equal(t, k.ID, keyID)
	assert.Equal(t, now.Add(time.Hour).UnixMicro(), expires)
	var n int
	require.NoError(t, es.DB().QueryRow(`SELECT COUNT(*) FROM console_sessions WHERE instr(CAST(token_sha256 AS TEXT), ?) > 0
		OR instr(key_id, ?) > 0`, token, secret).Scan(&n))
	assert.Zero(t, n)
}
