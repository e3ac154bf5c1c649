package memory

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// The memory store's positions are dense: 1, 2, 3, … (the suite only demands increasing).
func TestPositionsAreDense(t *testing.T) {
	s := New()
	ctx := context.Background()
	for i := range 3 {
		_, err := eventstore.AppendOne(ctx, s, "a", eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "T", Data: []byte(`{}`)})
		require.NoError(t, err, "append %d", i)
	}
	recs, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	for i, r := range recs {
		assert.Equal(t, uint64(i+1), r.Position)
	}
}

func TestClosed(t *testing.T) {
	s := New()
	require.NoError(t, s.Close())
	_, err := s.Head(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	_, err = s.Reopen().Head(context.Background())
	require.NoError(t, err, "Reopen gives a working handle")
}
