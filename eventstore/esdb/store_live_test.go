package esdb

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/storetest"
)

// envURL names the server the live tests run against, e.g.
// CUSTODY_ESDB_URL='esdb://localhost:2113?tls=false'.
const envURL = "CUSTODY_ESDB_URL"

func liveURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skipf("skipped: set %s to a KurrentDB/EventStoreDB connection string (e.g. esdb://localhost:2113?tls=false) to run the conformance suite against a live server", envURL)
	}
	return u
}

// liveHarness gives every test its own namespace on the shared server, so tests cannot see
// each other's streams, and a log start taken when the namespace is made, so reads of the log
// skip the server's older history.
func liveHarness(url string) storetest.Harness {
	return storetest.Harness{
		New: func(t *testing.T) func() eventstore.Store {
			ns := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + "-"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			probe, err := Open(ctx, url, WithNamespace(ns), WithCategories())
			require.NoError(t, err)
			start, err := probe.lastRaw(ctx)
			require.NoError(t, err)
			require.NoError(t, probe.Close())
			opts := []Option{WithNamespace(ns), WithCategories()}
			if start != nil {
				opts = append(opts, withLogStart(*start))
			}
			return func() eventstore.Store {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				s, err := Open(ctx, url, opts...)
				require.NoError(t, err)
				return s
			}
		},
		// The server is append-only through its API: no event can be changed behind the
		// store's back, so there is nothing to tamper with.
		Tamper: nil,
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, liveHarness(liveURL(t)))
}
