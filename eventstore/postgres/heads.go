package postgres

import "sync"

// maxHeads bounds the head cache; past it the cache starts afresh (it is only a hint).
const maxHeads = 10_000

// headCache remembers where this process last saw each stream end, so that an append can
// usually go out in one round trip. It is only a guess: the append statement checks the head it
// continues from, and the unique (stream_id, version) index refuses a stale one.
type headCache struct {
	mu sync.Mutex
	m  map[string]head
}

func (c *headCache) get(stream string) (head, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[stream]
	return h, ok
}

// put records h unless the cache already knows a later head.
func (c *headCache) put(stream string, h head) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxHeads {
		c.m = make(map[string]head)
	}
	if old, ok := c.m[stream]; !ok || old.version < h.version {
		c.m[stream] = h
	}
}

func (c *headCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, stream)
}
