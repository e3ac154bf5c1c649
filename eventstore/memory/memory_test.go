package memory_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
	"github.com/custody-ledger/custody/eventstore/storetest"
)

func harness() storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T) func() eventstore.Store {
			var cur *memory.Store
			return func() eventstore.Store {
				if cur == nil {
					cur = memory.New()
				} else {
					cur = cur.Reopen()
				}
				return cur
			}
		},
		Tamper: func(t *testing.T, s eventstore.Store, stream string, version uint64) {
			require.NoError(t, s.(*memory.Store).TamperData(stream, version, []byte(`{"tampered":true}`)))
		},
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, harness()) }

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, storetest.BenchHarness{
		New: func(*testing.B) eventstore.Store { return memory.New() },
	})
}
