package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// A write that fails inside a group commit must write nothing of that group; the group's
// other appends are then run one by one, so only the failing append fails. A trigger plays a
// write that fails.
func TestGroupCommitFailureWritesNothing(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "custody.db"))
	ctx := t.Context()
	_, err := s.DB().ExecContext(ctx, `CREATE TRIGGER poison BEFORE INSERT ON events
        WHEN NEW.type = 'Poison' BEGIN SELECT RAISE(ABORT, 'poisoned write'); END`)
	require.NoError(t, err)

	poison := event()
	poison.Type = "Poison"
	_, err = eventstore.AppendOne(ctx, s, "p", eventstore.NoStream, event(), poison)
	require.ErrorContains(t, err, "poisoned write")
	_, err = s.ReadStream(ctx, "p", 1, 0)
	require.ErrorIs(t, err, eventstore.ErrNotFound, "the stream row is rolled back too")

	const writers = 8
	evs := make([]eventstore.EventData, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		evs[i] = event()
		if i == 3 {
			evs[i].Type = "Poison"
		}
		wg.Go(func() {
			<-start
			_, errs[i] = eventstore.AppendOne(ctx, s, fmt.Sprintf("s%d", i), eventstore.NoStream, evs[i])
		})
	}
	close(start)
	wg.Wait()
	for i := range writers {
		if i == 3 {
			require.ErrorContains(t, errs[i], "poisoned write")
		} else {
			require.NoError(t, errs[i], "append %d fails only for its own reasons", i)
		}
	}

	_, err = s.DB().ExecContext(ctx, `DROP TRIGGER poison`)
	require.NoError(t, err)
	for i := range writers {
		recs, err := s.ReadStream(ctx, fmt.Sprintf("s%d", i), 1, 0)
		if errs[i] != nil {
			require.ErrorIs(t, err, eventstore.ErrNotFound, "the failed append wrote nothing")
			// Its retry goes through now.
			_, err := eventstore.AppendOne(ctx, s, fmt.Sprintf("s%d", i), eventstore.NoStream, evs[i])
			require.NoError(t, err)
			continue
		}
		require.NoError(t, err)
		require.Len(t, recs, 1)
		assert.Equal(t, evs[i].ID, recs[0].EventID)
	}
	rep, err := eventstore.VerifyAll(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Report{OK: true, Streams: writers, Events: writers}, rep)
}
