package console

import (
	"context"
	"sync"
	"time"
)

// cached holds one aggregate the dashboards show (the overview's counts, the deliveries by
// channel): whole-table counts that cost tens of milliseconds of database time on a large
// ledger. A page gets the last value while it is younger than ttl; an older one is still
// served (the page shows its "as of" time) while one refresh runs in the background, so no
// page waits on the aggregates except the very first.
type cached[T any] struct {
	mu         sync.Mutex
	val        T
	at         time.Time
	ok         bool
	refreshing bool
}

func (c *cached[T]) get(ctx context.Context, ttl time.Duration, now func() time.Time, load func(context.Context) (T, error)) (T, error) {
	if ttl < 0 {
		return load(ctx)
	}
	c.mu.Lock()
	if c.ok && now().Sub(c.at) < ttl {
		v := c.val
		c.mu.Unlock()
		return v, nil
	}
	if c.ok {
		v := c.val
		if !c.refreshing {
			c.refreshing = true
			go c.refresh(context.WithoutCancel(ctx), now, load)
		}
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	c.val, c.at, c.ok = v, now(), true
	c.mu.Unlock()
	return v, nil
}

func (c *cached[T]) refresh(ctx context.Context, now func() time.Time, load func(context.Context) (T, error)) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := load(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err == nil {
		c.val, c.at = v, now()
	}
}
