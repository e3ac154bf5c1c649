package transparency

import (
	"container/list"
	"slices"
	"sync"
)

// maxCachedTiles bounds the full tiles a Log keeps in memory: 16 KiB each with their inner
// levels, 64 MiB in all, every tile of a tree of a million leaves.
const maxCachedTiles = 4096

// tileCache keeps full tiles (256 hashes): in an append-only tree they never change, so a
// proof through a hot tile reads no row and their inner levels are hashed once, not per proof.
// Partial tiles at the tree's right edge are never cached.
type tileCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // front: most recently used *cachedTile
	m   map[int64]*list.Element
}

// cachedTile is a full tile's levels: levels[k] holds the 256>>k hashes of its k-th level up,
// concatenated, so the root of any aligned span of 2^k hashes is one slice.
type cachedTile struct {
	key    int64
	levels [][]byte
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, ll: list.New(), m: map[int64]*list.Element{}}
}

func (c *tileCache) get(key int64) (*cachedTile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cachedTile), true
}

// put caches a tile if it is full, and returns it with its levels (nil when it is not full).
func (c *tileCache) put(key int64, hashes []byte) *cachedTile {
	size := hasher.Size()
	if len(hashes) != tileWidth*size {
		return nil
	}
	t := &cachedTile{key: key, levels: [][]byte{hashes}}
	for lv := hashes; len(lv) > size; {
		up := make([]byte, 0, len(lv)/2)
		for i := 0; i < len(lv); i += 2 * size {
			up = append(up, hasher.HashChildren(lv[i:i+size], lv[i+size:i+2*size])...)
		}
		t.levels, lv = append(t.levels, up), up
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cachedTile)
	}
	c.m[key] = c.ll.PushFront(t)
	for c.ll.Len() > c.max {
		old := c.ll.Remove(c.ll.Back()).(*cachedTile)
		delete(c.m, old.key)
	}
	return t
}

// root is the root of the n hashes (a power of two) at off, an aligned span.
func (t *cachedTile) root(off, n uint64) []byte {
	size := uint64(hasher.Size())
	k := 0
	for 1<<k < n {
		k++
	}
	i := off >> k
	return t.levels[k][i*size : (i+1)*size : (i+1)*size]
}

// runCache keeps the runs (position -> leaf index) read so far. A run's start and index never
// change and its count only grows, so a position inside a cached run's known count is answered
// without a query for good.
type runCache struct {
	mu   sync.Mutex
	runs []run // by position
}

func (c *runCache) find(position uint64) (run, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, found := slices.BinarySearchFunc(c.runs, position, func(r run, p uint64) int {
		switch {
		case r.end() <= p:
			return -1
		case r.position > p:
			return 1
		}
		return 0
	})
	if !found {
		return run{}, false
	}
	return c.runs[i], true
}

func (c *runCache) add(r run) {
	if r.count == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, found := slices.BinarySearchFunc(c.runs, r.position, func(x run, p uint64) int {
		switch {
		case x.position < p:
			return -1
		case x.position > p:
			return 1
		}
		return 0
	})
	if found {
		if r.count > c.runs[i].count {
			c.runs[i] = r
		}
		return
	}
	c.runs = slices.Insert(c.runs, i, r)
}
