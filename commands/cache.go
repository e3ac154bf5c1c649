package commands

import (
	"container/list"
	"slices"
	"sync"

	"github.com/custody-ledger/custody/eventstore"
)

// DefaultCacheStreams bounds the streams a Service keeps decoded.
const DefaultCacheStreams = 4096

// streamCache keeps recently used streams decoded (issue 14), least recently used dropped
// first. An entry is a prefix of its stream: a query reads the stream from the entry's last
// event on, and a command decides on the entry and lets its append's exact expected version
// judge it (execute). What a command wrote is kept undecoded until a later command needs it:
// most entries are dropped before their stream is written again.
type streamCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cached, most recently used first
	items map[string]*list.Element
}

type cached struct {
	stream  string
	stored  []Stored            // decoded
	pending []eventstore.Record // written after stored, not decoded yet
}

// tip is the last record of the entry.
func (e *cached) tip() eventstore.Record {
	if n := len(e.pending); n > 0 {
		return e.pending[n-1]
	}
	return e.stored[len(e.stored)-1].Record
}

func (e *cached) len() int { return len(e.stored) + len(e.pending) }

func newStreamCache(max int) *streamCache {
	if max <= 0 {
		return nil
	}
	return &streamCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the cached prefix of stream, decoding what was written since it was last
// asked for. Callers must not modify it.
func (c *streamCache) get(stream string) []Stored {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	el, ok := c.items[stream]
	if !ok {
		c.mu.Unlock()
		return nil
	}
	c.order.MoveToFront(el)
	e := el.Value.(*cached)
	stored, pending := e.stored, e.pending
	c.mu.Unlock()
	if len(pending) == 0 {
		return stored
	}
	out := slices.Clip(stored) // readers hold stored: never write into it
	for _, r := range pending {
		st, err := decodeStored(r)
		if err != nil {
			c.drop(stream) // no event: the next load reads the stream and reports it
			return nil
		}
		out = append(out, st)
	}
	c.mu.Lock()
	if cur, ok := c.items[stream]; ok && cur == el && len(e.stored) == len(stored) && len(e.pending) == len(pending) {
		e.stored, e.pending = out, nil
	}
	c.mu.Unlock()
	return out
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
		if e := el.Value.(*cached); e.len() < len(stored) {
			e.stored, e.pending = stored, nil
		}
		c.order.MoveToFront(el)
		return
	}
	c.insert(&cached{stream: stream, stored: stored})
}

// extend appends recs, records an append just wrote to stream in order, to its entry when
// they continue it exactly (the next version, chained to the last hash); a stream not cached
// is cached from its first event. Otherwise the entry is forgotten, unless it reaches further
// already.
func (c *streamCache) extend(stream string, recs []eventstore.Record) {
	if c == nil || len(recs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	first, last := recs[0], recs[len(recs)-1]
	el, ok := c.items[stream]
	if !ok {
		if first.Version == 1 {
			c.insert(&cached{stream: stream, pending: slices.Clone(recs)})
		}
		return
	}
	e := el.Value.(*cached)
	tip := e.tip()
	switch {
	case tip.Version+1 == first.Version && tip.Hash == first.PrevHash:
		e.pending = append(slices.Clip(e.pending), recs...) // a get may be decoding the old slice
		c.order.MoveToFront(el)
	case tip.Version >= last.Version:
		// a concurrent load read as far already
	default:
		c.order.Remove(el)
		delete(c.items, stream)
	}
}

// insert adds an entry, dropping the least recently used beyond max. c.mu is held.
func (c *streamCache) insert(e *cached) {
	c.items[e.stream] = c.order.PushFront(e)
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
