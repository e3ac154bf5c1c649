package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/eventstore/storetest"
)

func harness() storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T) func() eventstore.Store {
			path := filepath.Join(t.TempDir(), "data", "custody.db")
			return func() eventstore.Store {
				s, err := sqlite.Open(context.Background(), path)
				require.NoError(t, err)
				return s
			}
		},
		Tamper: func(t *testing.T, s eventstore.Store, stream string, version uint64) {
			res, err := s.(*sqlite.Store).DB().Exec(`UPDATE events SET data = ? WHERE stream_id = ? AND version = ?`,
				[]byte(`{"tampered":true}`), stream, version)
			require.NoError(t, err)
			n, err := res.RowsAffected()
			require.NoError(t, err)
			require.EqualValues(t, 1, n, "tamper must change exactly one event")
		},
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, harness()) }

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, storetest.BenchHarness{
		New: func(b *testing.B) eventstore.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	})
}
