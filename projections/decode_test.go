package projections_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections"
)

// TestDecodeStoredOnTheDemoLog: over every event of the demo data set, the runner's one-pass
// decoding gives what domain.Decode gives.
func TestDecodeStoredOnTheDemoLog(t *testing.T) {
	recs := demoLog(t, demoDocs, demoNow)
	require.NotEmpty(t, recs)
	for _, r := range recs {
		want, werr := domain.Decode(r.Data)
		got, gerr := projections.DecodeStored(r.Data)
		require.NoError(t, werr)
		require.NoError(t, gerr)
		assert.Equal(t, want, got, "%s@%d", r.StreamID, r.Version)
	}
}
