package commands

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
	"github.com/custody-ledger/custody/eventstore/memory"
)

func TestStreamCacheIsBounded(t *testing.T) {
	c := newStreamCache(2)
	one := []Stored{{}}
	c.put("a", one)
	c.put("b", one)
	require.NotNil(t, c.get("a")) // a is now the most recent
	c.put("c", one)
	assert.Equal(t, 2, c.len())
	assert.Nil(t, c.get("b"), "the least recently used goes first")
	assert.NotNil(t, c.get("a"))
	c.put("a", nil)
	assert.Len(t, c.get("a"), 1, "a shorter prefix never replaces a longer one")
	c.drop("a")
	assert.Nil(t, c.get("a"))
	assert.Nil(t, newStreamCache(0), "WithCache(0) keeps nothing")
}

// readsFrom records where each stream read starts.
type readsFrom struct {
	eventstore.Store
	from []uint64
}

func (r *readsFrom) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Record, error) {
	r.from = append(r.from, from)
	return r.Store.ReadStream(ctx, stream, from, limit)
}

// A cached stream is continued from its last event: earlier events are neither read nor
// decoded again.
func TestLoadContinuesTheCachedPrefix(t *testing.T) {
	ctx := context.Background()
	st := &readsFrom{Store: memory.New()}
	s := New(st)
	for i := 0; i < 3; i++ {
		_, err := eventstore.AppendOne(ctx, st, "document-x", eventstore.Any, eventstore.EventData{ID: uuid.New(),
			Type: "DeliveryDelayed", SchemaVersion: 1, Data: []byte(`{"type":"x"}`)})
		require.NoError(t, err)
	}
	_, err := s.load(ctx, "document-x")
	require.Error(t, err, "these bytes are no event: decoding fails, nothing is cached")
	assert.Nil(t, s.cache.get("document-x"))

	recs, _ := st.Store.ReadStream(ctx, "document-x", 1, 0)
	s.cache.put("document-x", []Stored{{Record: recs[0]}, {Record: recs[1]}, {Record: recs[2]}})
	st.from = nil
	got, err := s.load(ctx, "document-x")
	require.NoError(t, err)
	assert.Len(t, got, 3)
	assert.Equal(t, []uint64{3}, st.from, "read from the last cached event only")
}

func TestStreamCacheExtend(t *testing.T) {
	data := []byte(`{"type":"DeliveryDelayed","schema_version":1,"event_id":"5a1e3d3c-1f59-4c8e-9a77-3f1c2b7a0d11",` +
		`"document_id":"0b6a9b8e-58c4-4f06-8a55-3d0f0b5e8c21","occurred_at":"2026-03-26T05:10:00Z","actor":{"role":"kaspi_platform","org":"kaspi"},` +
		`"data":{"reason":"x","new_date":"2026-03-28T05:10:00Z"}}`)
	rec := func(v uint64, prev, h byte) eventstore.Record {
		return eventstore.Record{Version: v, PrevHash: eventstore.Hash{prev}, Hash: eventstore.Hash{h}, Data: data}
	}
	c := newStreamCache(4)
	c.extend("a", []eventstore.Record{rec(2, 1, 2)})
	assert.Nil(t, c.get("a"), "a stream not cached is cached only from its first event")
	c.extend("a", []eventstore.Record{rec(1, 0, 1)})
	c.extend("a", []eventstore.Record{rec(2, 1, 2), rec(3, 2, 3)})
	held := c.get("a")
	require.Len(t, held, 3, "continued, and decoded when asked for")
	assert.Equal(t, uint64(3), held[2].Version)
	assert.Equal(t, "DeliveryDelayed", string(held[2].Event.Type))
	c.extend("a", []eventstore.Record{rec(2, 1, 2)})
	assert.Len(t, c.get("a"), 3, "an entry reaching further stays")
	c.extend("a", []eventstore.Record{rec(4, 3, 4)})
	assert.Len(t, c.get("a"), 4)
	c.extend("a", []eventstore.Record{rec(5, 9, 5)})
	assert.Nil(t, c.get("a"), "not chained to the last hash: forgotten")
	c.put("b", held)
	c.extend("b", []eventstore.Record{rec(5, 4, 5)})
	assert.Nil(t, c.get("b"), "a gap: forgotten")
	assert.Len(t, held, 3, "a reader's slice never changes")

	bad := rec(1, 0, 1)
	bad.Data = []byte(`{}`)
	c.extend("c", []eventstore.Record{bad})
	assert.Nil(t, c.get("c"), "what does not decode is not kept")
	assert.Nil(t, c.get("c"))
}
