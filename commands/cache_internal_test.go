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
	rec := func(v uint64, prev, h byte) Stored {
		return Stored{Record: eventstore.Record{Version: v, PrevHash: eventstore.Hash{prev}, Hash: eventstore.Hash{h}}}
	}
	c := newStreamCache(4)
	c.extend("a", []Stored{rec(2, 1, 2)})
	assert.Nil(t, c.get("a"), "a stream not cached is cached only from its first event")
	c.extend("a", []Stored{rec(1, 0, 1)})
	c.extend("a", []Stored{rec(2, 1, 2), rec(3, 2, 3)})
	assert.Len(t, c.get("a"), 3, "continued")
	held := c.get("a")
	c.extend("a", []Stored{rec(2, 1, 2)})
	assert.Len(t, c.get("a"), 3, "an entry reaching further stays")
	c.extend("a", []Stored{rec(4, 9, 4)})
	assert.Nil(t, c.get("a"), "not chained to the last hash: forgotten")
	c.put("b", held)
	c.extend("b", []Stored{rec(5, 4, 5)})
	assert.Nil(t, c.get("b"), "a gap: forgotten")
	assert.Len(t, held, 3, "a reader's slice never changes")
}
