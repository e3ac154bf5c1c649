package api_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/eventstore/postgres"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/internal/pgtest"
)

func clock() commands.Option { return commands.WithClock(func() time.Time { return now }) }

func TestHTTPMemory(t *testing.T) {
	runSuite(t, func(t *testing.T) (*commands.Service, keys.Store) {
		st := memory.New()
		t.Cleanup(func() { _ = st.Close() })
		return commands.New(st, clock()), keys.NewMemory()
	})
}

func TestHTTPSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) (*commands.Service, keys.Store) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "custody.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		ks, err := keys.NewSQLite(t.Context(), st.DB())
		require.NoError(t, err)
		return commands.New(st, clock()), ks
	})
}

func TestHTTPPostgres(t *testing.T) {
	runSuite(t, func(t *testing.T) (*commands.Service, keys.Store) {
		st, err := postgres.Open(t.Context(), pgtest.Schema(t), postgres.WithMaxConns(8))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		ks, err := keys.NewPostgres(t.Context(), st.Pool())
		require.NoError(t, err)
		return commands.New(st, clock()), ks
	})
}
