package projections

import (
	"container/list"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// entry is a stream as the applier has applied it: its events up to the checkpoint and the
// rows they produced. Invariant: db equals the stream's rows in the database (once the batches
// sent to commit are committed). It is rows itself, except in a rebuild, which writes a
// stream's rows back only when it leaves the cache or the tables must be complete (dirty).
type entry struct {
	stream string
	kind   model.StreamKind
	id     uuid.UUID
	events []model.Event // quarantined events left out
	ver    uint64        // the stream's last version applied, quarantined events included
	rows   model.Rows
	db     model.Rows
	dirty  bool // rows not yet written: db is older
	elem   *list.Element
}

// flush lists the changes that write a dirty entry's rows and marks it written.
func (e *entry) flush(emit func(model.Change)) {
	if !e.dirty {
		return
	}
	model.Diff(e.db, e.rows, emit)
	e.db, e.dirty = e.rows, false
}

// lru keeps the most recently applied streams, so a batch rarely reads a stream back from
// the store. It is owned by one applier goroutine.
type lru struct {
	cap   int
	items map[string]*entry
	order *list.List // front: most recent
}

func newLRU(capacity int) *lru {
	return &lru{cap: max(capacity, 1), items: map[string]*entry{}, order: list.New()}
}

func (c *lru) get(stream string) *entry { return c.items[stream] }

// put adds or replaces a stream's entry and calls evicted with each entry it drops.
func (c *lru) put(e *entry, evicted func(*entry)) {
	if old, ok := c.items[e.stream]; ok {
		c.order.Remove(old.elem)
	}
	e.elem = c.order.PushFront(e)
	c.items[e.stream] = e
	for c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		old := last.Value.(*entry)
		delete(c.items, old.stream)
		evicted(old)
	}
}

// each calls fn with every entry, most recent first.
func (c *lru) each(fn func(*entry)) {
	for el := c.order.Front(); el != nil; el = el.Next() {
		fn(el.Value.(*entry))
	}
}

func (c *lru) len() int { return len(c.items) }
