package commands

import (
	"container/list"
	"slices"
	"sync"
)

// DefaultCacheStreams bounds the streams a Service keeps decoded.
const DefaultCacheStreams = 4096

// streamCache keeps recently used streams decoded (issue 14), least recently used dropped
// first. The store stays the truth: a load reads the stream from its last cached event on, so
// an entry is only a prefix that need not be read and decoded again, never a stale state.
type streamCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cached, most recently used first
	items map[string]*list.Element
}

type cached struct {
	stream string
	stored []Stored
}

func newStreamCache(max int) *streamCache {
	if max <= 0 {
		return nil
	}
	return &streamCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the cached prefix of stream. Callers must not modify it.
func (c *streamCache) get(stream string) []Stored {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[stream]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).stored
}

// put keeps stored as stream's prefix, unless a longer one is kept already (a concurrent
// load read further).
func (c *streamCache) put(stream string, stored []Stored) {
	if c == nil || len(stored) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[stream]; ok {
		if e := el.Value.(*cached); len(e.stored) < len(stored) {
			e.stored = stored
		}
		c.order.MoveToFront(el)
		return
	}
	c.insert(stream, stored)
}

// extend appends add, a stream's records in order, to its cached events when they continue
// them exactly (the next version, chained to the last hash); a stream not cached is cached
// from its first event. Otherwise the entry is forgotten, unless it reaches further already.
func (c *streamCache) extend(stream string, add []Stored) {
	if c == nil || len(add) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	first, last := add[0].Record, add[len(add)-1].Record
	el, ok := c.items[stream]
	if !ok {
		if first.Version == 1 {
			c.insert(stream, add)
		}
		return
	}
	e := el.Value.(*cached)
	tip := e.stored[len(e.stored)-1].Record
	switch {
	case tip.Version+1 == first.Version && tip.Hash == first.PrevHash:
		e.stored = append(slices.Clip(e.stored), add...) // readers hold the old slice: never write into it
		c.order.MoveToFront(el)
	case tip.Version >= last.Version:
		// a concurrent load read as far already
	default:
		c.order.Remove(el)
		delete(c.items, stream)
	}
}

// insert adds an entry for stream, dropping the least recently used beyond max. c.mu is held.
func (c *streamCache) insert(stream string, stored []Stored) {
	c.items[stream] = c.order.PushFront(&cached{stream: stream, stored: stored})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cached).stream)
	}
}

// drop forgets stream (after a conflict: the next load reads it whole).
func (c *streamCache) drop(stream string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[stream]; ok {
		c.order.Remove(el)
		delete(c.items, stream)
	}
}

func (c *streamCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
