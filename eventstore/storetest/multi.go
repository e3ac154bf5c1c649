package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

func testAppendMulti(t *testing.T, e *env) {
	existing, fresh, loose := streamID("m-existing"), streamID("m-fresh"), streamID("m-any")
	e.append(existing, eventstore.NoStream, events(2)...)
	e.append(loose, eventstore.NoStream, events(1)...)
	head := e.head()

	parts := []eventstore.StreamAppend{
		{StreamID: fresh, Expected: eventstore.NoStream, Events: events(2)},
		{StreamID: existing, Expected: eventstore.Exact(2), Events: events(3)},
		{StreamID: loose, Expected: eventstore.Any, Events: events(1)},
	}
	res, err := e.s.AppendMulti(e.ctx(), parts...)
	require.NoError(t, err)
	require.Len(t, res, len(parts), "one result per part, in request order")
	checkResult(t, res[0], fresh, 0, parts[0].Events)
	checkResult(t, res[1], existing, 2, parts[1].Events)
	checkResult(t, res[2], loose, 1, parts[2].Events)

	var all []eventstore.Record
	for i, p := range parts {
		got := e.readStream(p.StreamID)
		checkChain(t, got)
		sameRecords(t, res[i].Records, got[len(got)-len(p.Events):], "stream %s", p.StreamID)
		all = append(all, res[i].Records...)
	}
	log := e.readAll(head)
	requireCount(t, log, len(all), "every record of the multi-append is in the log")
	requireIncreasing(t, log, head)
	byID := map[[16]byte]eventstore.Record{}
	for _, r := range log {
		byID[r.EventID] = r
	}
	for _, r := range all {
		sameRecord(t, r, byID[r.EventID])
	}
	assert.Equal(t, log[len(log)-1].Position, e.head())

	t.Run("single part", func(t *testing.T) {
		s := streamID("m-single")
		evs := events(2)
		res, err := e.s.AppendMulti(e.ctx(), eventstore.StreamAppend{StreamID: s, Expected: eventstore.NoStream, Events: evs})
		require.NoError(t, err)
		require.Len(t, res, 1)
		checkResult(t, res[0], s, 0, evs)
	})
}

func testAppendMultiAtomic(t *testing.T, e *env) {
	a, b := streamID("atomic-a"), streamID("atomic-b")
	e.append(b, eventstore.NoStream, events(1)...)
	head := e.head()

	t.Run("one wrong expected version writes nothing", func(t *testing.T) {
		for _, wrongFirst := range []bool{false, true} {
			parts := []eventstore.StreamAppend{
				{StreamID: a, Expected: eventstore.NoStream, Events: events(2)},
				{StreamID: b, Expected: eventstore.Exact(5), Events: events(1)},
			}
			if wrongFirst {
				parts[0], parts[1] = parts[1], parts[0]
			}
			_, err := e.s.AppendMulti(e.ctx(), parts...)
			requireVersionConflict(t, err, b, eventstore.Exact(5), 1)
			e.requireUnchanged(head)
			e.requireNotFound(a)
			assertCount(t, e.readStream(b), 1)
		}
	})

	t.Run("stream exists on a missing stream writes nothing", func(t *testing.T) {
		c := streamID("atomic-c")
		_, err := e.s.AppendMulti(e.ctx(),
			eventstore.StreamAppend{StreamID: b, Expected: eventstore.Exact(1), Events: events(1)},
			eventstore.StreamAppend{StreamID: c, Expected: eventstore.StreamExists, Events: events(1)})
		requireVersionConflict(t, err, c, eventstore.StreamExists, 0)
		e.requireUnchanged(head)
		e.requireNotFound(c)
	})

	t.Run("a duplicate in one part writes nothing", func(t *testing.T) {
		stored := e.readStream(b)[0]
		dup := event("Dup")
		dup.ID = stored.EventID
		_, err := e.s.AppendMulti(e.ctx(),
			eventstore.StreamAppend{StreamID: a, Expected: eventstore.NoStream, Events: events(1)},
			eventstore.StreamAppend{StreamID: streamID("atomic-d"), Expected: eventstore.Any, Events: []eventstore.EventData{dup}})
		requireDuplicateConflict(t, err, dup.ID, b)
		e.requireUnchanged(head)
		e.requireNotFound(a)
	})

	t.Run("one id in two parts is refused", func(t *testing.T) {
		ev := event("Twice")
		_, err := e.s.AppendMulti(e.ctx(),
			eventstore.StreamAppend{StreamID: a, Expected: eventstore.NoStream, Events: []eventstore.EventData{ev}},
			eventstore.StreamAppend{StreamID: streamID("atomic-e"), Expected: eventstore.NoStream, Events: []eventstore.EventData{ev}})
		require.Error(t, err)
		assert.True(t, isInvalidOrDuplicate(err), "want ErrInvalid or ErrDuplicateConflict, got %v", err)
		e.requireUnchanged(head)
		e.requireNotFound(a)
	})
}

func testAppendMultiIdempotency(t *testing.T, e *env) {
	a, b := streamID("midem-a"), streamID("midem-b")
	e.append(b, eventstore.NoStream, events(1)...)
	parts := []eventstore.StreamAppend{
		{StreamID: a, Expected: eventstore.NoStream, Events: events(2)},
		{StreamID: b, Expected: eventstore.Exact(1), Events: events(2)},
	}
	orig, err := e.s.AppendMulti(e.ctx(), parts...)
	require.NoError(t, err)
	e.append(b, eventstore.Exact(3), events(1)...) // move on, so the original expectations fail
	head := e.head()

	retry := func(expA, expB eventstore.ExpectedVersion, evsA, evsB []eventstore.EventData) ([]eventstore.AppendResult, error) {
		return e.s.AppendMulti(e.ctx(),
			eventstore.StreamAppend{StreamID: a, Expected: expA, Events: evsA},
			eventstore.StreamAppend{StreamID: b, Expected: expB, Events: evsB})
	}

	t.Run("same content returns the original results whatever the expected versions", func(t *testing.T) {
		for _, exp := range anyExpectation {
			res, err := retry(exp, exp, clone(parts[0].Events), clone(parts[1].Events))
			require.NoError(t, err, "retry with expected %s", exp)
			require.Len(t, res, 2)
			sameResult(t, orig[0], res[0])
			sameResult(t, orig[1], res[1])
		}
		e.requireUnchanged(head)
	})

	t.Run("different content in one part is a duplicate conflict", func(t *testing.T) {
		changed := clone(parts[1].Events)
		changed[0].Data = []byte(`{"changed":true}`)
		_, err := retry(eventstore.NoStream, eventstore.Exact(1), clone(parts[0].Events), changed)
		requireDuplicateConflict(t, err, changed[0].ID, b)
		e.requireUnchanged(head)
	})

	t.Run("one part stored, the other new, is a duplicate conflict", func(t *testing.T) {
		_, err := retry(eventstore.NoStream, eventstore.Any, clone(parts[0].Events), events(1))
		require.ErrorIs(t, err, eventstore.ErrDuplicateConflict)
		e.requireUnchanged(head)
		assertCount(t, e.readStream(b), 4)
	})

	t.Run("parts swapped between streams is a duplicate conflict", func(t *testing.T) {
		_, err := retry(eventstore.Any, eventstore.Any, clone(parts[1].Events), clone(parts[0].Events))
		require.ErrorIs(t, err, eventstore.ErrDuplicateConflict)
		e.requireUnchanged(head)
	})
}
