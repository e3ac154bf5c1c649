package console

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedServesStaleWhileRefreshing: within the lifetime the value is reused; after it the
// old value is served at once and one background load replaces it; a failed first load is
// not cached.
func TestCachedServesStaleWhileRefreshing(t *testing.T) {
	var (
		mu    sync.Mutex
		clock = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		loads atomic.Int64
		fail  atomic.Bool
	)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	load := func(context.Context) (int64, error) {
		if fail.Load() {
			return 0, errors.New("database busy")
		}
		return loads.Add(1), nil
	}
	var c cached[int64]
	ctx := context.Background()
	fail.Store(true)
	_, err := c.get(ctx, time.Minute, now, load)
	require.Error(t, err)
	fail.Store(false)
	v, err := c.get(ctx, time.Minute, now, load)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
	v, _ = c.get(ctx, time.Minute, now, load)
	assert.Equal(t, int64(1), v, "fresh: no second load")
	assert.Equal(t, int64(1), loads.Load())

	mu.Lock()
	clock = clock.Add(2 * time.Minute)
	mu.Unlock()
	v, _ = c.get(ctx, time.Minute, now, load)
	assert.Equal(t, int64(1), v, "stale: served at once")
	require.Eventually(t, func() bool {
		v, _ := c.get(ctx, time.Minute, now, load)
		return v == 2
	}, 5*time.Second, 10*time.Millisecond, "the background refresh replaces it")
	assert.Equal(t, int64(2), loads.Load(), "one refresh, however many pages asked")

	v, _ = c.get(ctx, -1, now, load)
	assert.Equal(t, int64(3), v, "a negative lifetime never caches")
}
