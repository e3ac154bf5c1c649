package eventstore_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

func ev() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "T", SchemaVersion: 1, Data: []byte(`{}`)}
}

func TestValidateAppend(t *testing.T) {
	e := ev()
	cases := []struct {
		name  string
		parts []eventstore.StreamAppend
		ok    bool
	}{
		{"ok", []eventstore.StreamAppend{{StreamID: "a", Expected: eventstore.Any, Events: []eventstore.EventData{ev()}}}, true},
		{"no parts", nil, false},
		{"empty stream id", []eventstore.StreamAppend{{Expected: eventstore.Any, Events: []eventstore.EventData{ev()}}}, false},
		{"no events", []eventstore.StreamAppend{{StreamID: "a", Expected: eventstore.Any}}, false},
		{"stream twice", []eventstore.StreamAppend{
			{StreamID: "a", Expected: eventstore.Any, Events: []eventstore.EventData{ev()}},
			{StreamID: "a", Expected: eventstore.Any, Events: []eventstore.EventData{ev()}}}, false},
		{"id twice", []eventstore.StreamAppend{
			{StreamID: "a", Expected: eventstore.Any, Events: []eventstore.EventData{e}},
			{StreamID: "b", Expected: eventstore.Any, Events: []eventstore.EventData{e}}}, false},
		{"undefined expected version", []eventstore.StreamAppend{{StreamID: "a", Expected: -3, Events: []eventstore.EventData{ev()}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := eventstore.ValidateAppend(c.parts)
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, eventstore.ErrInvalid)
			}
		})
	}
}

func TestMatchRetry(t *testing.T) {
	a1, a2, b1, fresh := ev(), ev(), ev(), ev()
	stored := map[uuid.UUID]eventstore.Record{}
	store := func(stream string, version uint64, e eventstore.EventData) {
		r := eventstore.Record{StreamID: stream, Version: version, Position: uint64(len(stored) + 1), EventID: e.ID,
			Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, RecordedAt: time.Unix(1, 0)}
		eventstore.Seal(eventstore.Hash{}, &r)
		stored[e.ID] = r
	}
	store("a", 1, a1)
	store("a", 2, a2)
	store("b", 1, b1)
	part := func(stream string, evs ...eventstore.EventData) eventstore.StreamAppend {
		return eventstore.StreamAppend{StreamID: stream, Expected: eventstore.Any, Events: evs}
	}
	changed := a2
	changed.Data = []byte(`{"x":1}`)

	t.Run("none stored", func(t *testing.T) {
		res, retry, err := eventstore.MatchRetry([]eventstore.StreamAppend{part("c", fresh)}, stored)
		require.NoError(t, err)
		assert.False(t, retry)
		assert.Nil(t, res)
	})
	t.Run("all stored in order", func(t *testing.T) {
		res, retry, err := eventstore.MatchRetry([]eventstore.StreamAppend{part("a", a1, a2), part("b", b1)}, stored)
		require.NoError(t, err)
		require.True(t, retry)
		require.Len(t, res, 2)
		assert.Equal(t, uint64(2), res[0].Version)
		assert.Equal(t, []eventstore.Record{stored[a1.ID], stored[a2.ID]}, res[0].Records)
		assert.Equal(t, "b", res[1].StreamID)
	})
	conflicts := []struct {
		name   string
		parts  []eventstore.StreamAppend
		id     uuid.UUID
		stream string
	}{
		{"different content", []eventstore.StreamAppend{part("a", a1, changed)}, a2.ID, "a"},
		{"another stream", []eventstore.StreamAppend{part("c", b1)}, b1.ID, "b"},
		{"partly stored", []eventstore.StreamAppend{part("a", a1, a2, fresh)}, a1.ID, "a"},
		{"partly stored, new first", []eventstore.StreamAppend{part("a", fresh, a1, a2)}, a1.ID, "a"},
		{"reordered", []eventstore.StreamAppend{part("a", a2, a1)}, a2.ID, "a"},
		{"one part stored, one new", []eventstore.StreamAppend{part("a", a1, a2), part("c", fresh)}, a1.ID, "a"},
	}
	for _, c := range conflicts {
		t.Run(c.name, func(t *testing.T) {
			_, retry, err := eventstore.MatchRetry(c.parts, stored)
			assert.False(t, retry)
			var dc *eventstore.DuplicateConflictError
			require.ErrorAs(t, err, &dc)
			assert.Equal(t, c.id, dc.EventID)
			assert.Equal(t, c.stream, dc.StreamID)
		})
	}
}
