package keys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
