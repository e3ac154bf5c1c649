package storetest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// anyExpectation lists expected versions a retry may carry; none of them may matter.
var anyExpectation = []eventstore.ExpectedVersion{
	eventstore.Any, eventstore.NoStream, eventstore.StreamExists, eventstore.Exact(0),
	eventstore.Exact(1), eventstore.Exact(2), eventstore.Exact(3), eventstore.Exact(99),
}

func testIdempotency(t *testing.T, e *env) {
	stream := streamID("idem")
	evs := events(2)
	orig := e.append(stream, eventstore.NoStream, evs...)

	t.Run("same content returns the original result whatever the expected version", func(t *testing.T) {
		head := e.head()
		for _, exp := range anyExpectation {
			res, err := eventstore.AppendOne(e.ctx(), e.s, stream, exp, clone(evs)...)
			require.NoError(t, err, "retry with expected %s", exp)
			sameResult(t, orig, res, "retry with expected %s", exp)
		}
		e.requireUnchanged(head)
		assertCount(t, e.readStream(stream), 2)
	})

	next := events(1)
	later := e.append(stream, eventstore.Exact(2), next...)

	t.Run("retry after the stream moved on", func(t *testing.T) {
		head := e.head()
		res, err := eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.NoStream, clone(evs)...)
		require.NoError(t, err)
		sameResult(t, orig, res)
		res, err = eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Exact(2), clone(next)...)
		require.NoError(t, err)
		sameResult(t, later, res)
		e.requireUnchanged(head)
	})

	t.Run("different content is a duplicate conflict", func(t *testing.T) {
		head := e.head()
		mutations := []struct {
			name   string
			mutate func(*eventstore.EventData)
		}{
			{"data", func(ev *eventstore.EventData) { ev.Data = []byte(`{"n":-1}`) }},
			{"type", func(ev *eventstore.EventData) { ev.Type += "X" }},
			{"schema version", func(ev *eventstore.EventData) { ev.SchemaVersion++ }},
			{"metadata", func(ev *eventstore.EventData) { ev.Metadata = []byte(`{"actor":"someone else"}`) }},
			{"metadata dropped", func(ev *eventstore.EventData) { ev.Metadata = nil }},
		}
		for _, m := range mutations {
			for _, exp := range []eventstore.ExpectedVersion{eventstore.NoStream, eventstore.Any, eventstore.Exact(3)} {
				retry := clone(evs)
				m.mutate(&retry[1])
				_, err := eventstore.AppendOne(e.ctx(), e.s, stream, exp, retry...)
				requireDuplicateConflict(t, err, retry[1].ID, stream)
				// A single changed event alone, too.
				_, err = eventstore.AppendOne(e.ctx(), e.s, stream, exp, retry[1])
				requireDuplicateConflict(t, err, retry[1].ID, stream)
			}
		}
		e.requireUnchanged(head)
	})

	t.Run("same id in another stream is a duplicate conflict", func(t *testing.T) {
		head := e.head()
		other := streamID("idem-other")
		for _, exp := range []eventstore.ExpectedVersion{eventstore.NoStream, eventstore.Any} {
			_, err := eventstore.AppendOne(e.ctx(), e.s, other, exp, clone(evs)...)
			requireDuplicateConflict(t, err, evs[0].ID, stream)
			_, err = eventstore.AppendOne(e.ctx(), e.s, other, exp, clone(next)...)
			requireDuplicateConflict(t, err, next[0].ID, stream)
		}
		e.requireUnchanged(head)
		e.requireNotFound(other)
	})

	t.Run("partial overlap is a duplicate conflict", func(t *testing.T) {
		head := e.head()
		fresh := event("Fresh")
		for name, batch := range map[string][]eventstore.EventData{
			"stored then new":          {evs[0], evs[1], fresh},
			"new then stored":          {fresh, evs[0], evs[1]},
			"some of one append + new": {next[0], fresh},
		} {
			_, err := eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Any, clone(batch)...)
			require.ErrorIs(t, err, eventstore.ErrDuplicateConflict, name)
			var dc *eventstore.DuplicateConflictError
			require.ErrorAs(t, err, &dc, name)
		}
		e.requireUnchanged(head)
		assertCount(t, e.readStream(stream), 3)
	})

	t.Run("same events in another order is a duplicate conflict", func(t *testing.T) {
		head := e.head()
		_, err := eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Any, clone([]eventstore.EventData{evs[1], evs[0]})...)
		require.ErrorIs(t, err, eventstore.ErrDuplicateConflict)
		e.requireUnchanged(head)
	})

	t.Run("one id twice in one request is refused", func(t *testing.T) {
		head := e.head()
		fresh := streamID("idem-twice")
		ev := event("Twice")
		_, err := eventstore.AppendOne(e.ctx(), e.s, fresh, eventstore.NoStream, ev, ev)
		require.Error(t, err)
		assert.True(t, isInvalidOrDuplicate(err), "want ErrInvalid or ErrDuplicateConflict, got %v", err)
		e.requireUnchanged(head)
		e.requireNotFound(fresh)
	})
}

func isInvalidOrDuplicate(err error) bool {
	return errors.Is(err, eventstore.ErrInvalid) || errors.Is(err, eventstore.ErrDuplicateConflict)
}

func testIdempotencyAfterReopen(t *testing.T, e *env) {
	stream, other := streamID("reidem"), streamID("reidem-other")
	evs := events(3)
	orig := e.append(stream, eventstore.NoStream, evs...)
	multiEvs := [][]eventstore.EventData{events(2), events(1)}
	multi, err := e.s.AppendMulti(e.ctx(),
		eventstore.StreamAppend{StreamID: stream, Expected: eventstore.Exact(3), Events: multiEvs[0]},
		eventstore.StreamAppend{StreamID: other, Expected: eventstore.NoStream, Events: multiEvs[1]})
	require.NoError(t, err)

	// The store must find the original in its durable data, not in a cache.
	e.reopen()
	head := e.head()

	res, err := eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.NoStream, clone(evs)...)
	require.NoError(t, err)
	sameResult(t, orig, res)

	res2, err := e.s.AppendMulti(e.ctx(),
		eventstore.StreamAppend{StreamID: stream, Expected: eventstore.Exact(3), Events: clone(multiEvs[0])},
		eventstore.StreamAppend{StreamID: other, Expected: eventstore.NoStream, Events: clone(multiEvs[1])})
	require.NoError(t, err)
	require.Len(t, res2, 2)
	sameResult(t, multi[0], res2[0])
	sameResult(t, multi[1], res2[1])

	changed := clone(evs)
	changed[0].Data = []byte(`{"changed":true}`)
	_, err = eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.NoStream, changed...)
	requireDuplicateConflict(t, err, changed[0].ID, stream)

	_, err = eventstore.AppendOne(e.ctx(), e.s, streamID("reidem-third"), eventstore.Any, clone(evs)...)
	requireDuplicateConflict(t, err, evs[0].ID, stream)

	_, err = eventstore.AppendOne(e.ctx(), e.s, stream, eventstore.Any, append(clone(evs), event("Fresh"))...)
	require.ErrorIs(t, err, eventstore.ErrDuplicateConflict)

	e.requireUnchanged(head)
	assertCount(t, e.readStream(stream), 5)
	assertCount(t, e.readStream(other), 1)
}
