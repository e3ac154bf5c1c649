package projections

import (
	"container/list"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/projections/internal/model"
)

// entry is a stream as the tables hold it: its events up to the checkpoint and the rows they
// produced. Invariant: entry.rows equals the stream's rows in the database.
type entry struct {
	stream string
	kind   model.StreamKind
	id     uuid.UUID
	events []model.Event // quarantined events left out
	ver    uint64        // the stream's last version applied, quarantined events included
	rows   model.Rows
	elem   *list.Element
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

func (c *lru) put(e *entry) {
	if old, ok := c.items[e.stream]; ok {
		c.order.Remove(old.elem)
	}
	e.elem = c.order.PushFront(e)
	c.items[e.stream] = e
	for c.order.Len() > c.cap {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*entry).stream)
	}
}

func (c *lru) len() int { return len(c.items) }
