package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

func testDurability(t *testing.T, e *env) {
	streams := []string{streamID("dur"), streamID("dur"), streamID("dur")}
	e.append(streams[0], eventstore.NoStream, events(3)...)
	e.append(streams[1], eventstore.NoStream, events(1)...)
	_, err := e.s.AppendMulti(e.ctx(),
		eventstore.StreamAppend{StreamID: streams[1], Expected: eventstore.Exact(1), Events: events(2)},
		eventstore.StreamAppend{StreamID: streams[2], Expected: eventstore.NoStream, Events: events(2)})
	require.NoError(t, err)
	e.append(streams[0], eventstore.Any, events(1)...)
	before := e.readAll(0)
	head := e.head()

	e.reopen()
	assert.Equal(t, head, e.head(), "Head after reopen")
	sameRecords(t, before, e.readAll(0), "the log after reopen")
	rep, err := eventstore.VerifyAll(e.ctx(), e.s)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Report{OK: true, Streams: 3, Events: uint64(len(before))}, rep)
	for _, s := range streams {
		rep, err := eventstore.VerifyStream(e.ctx(), e.s, s)
		require.NoError(t, err)
		assert.True(t, rep.OK, "stream %s: %+v", s, rep.Break)
	}

	// The chain and the positions continue where they stopped.
	last := e.readStream(streams[0])
	requireCount(t, last, 4)
	evs := events(1)
	res := e.append(streams[0], eventstore.Exact(4), evs...)
	checkResult(t, res, streams[0], 4, evs)
	assert.Equal(t, last[3].Hash, res.Records[0].PrevHash)
	assert.Greater(t, res.Records[0].Position, head)

	e.reopen()
	rep, err = eventstore.VerifyAll(e.ctx(), e.s)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Report{OK: true, Streams: 3, Events: uint64(len(before) + 1)}, rep)
}

func testTamper(t *testing.T, e *env) {
	if e.h.Tamper == nil {
		t.Skip("storetest: Harness.Tamper is nil; this adapter cannot change stored data behind the store's back")
	}
	streams := []string{streamID("tamper"), streamID("tamper"), streamID("tamper")}
	for _, s := range streams {
		e.append(s, eventstore.NoStream, events(2)...)
	}
	for _, s := range streams {
		e.append(s, eventstore.Exact(2), events(1)...)
	}
	victim := streams[1]
	e.h.Tamper(t, e.s, victim, 2)

	rep, err := eventstore.VerifyStream(e.ctx(), e.s, victim)
	require.NoError(t, err)
	require.False(t, rep.OK, "VerifyStream must notice the tampering")
	require.NotNil(t, rep.Break)
	assert.Equal(t, victim, rep.Break.StreamID)
	assert.Equal(t, uint64(2), rep.Break.Version)
	assert.NotEmpty(t, rep.Break.Reason)

	for _, s := range []string{streams[0], streams[2]} {
		rep, err := eventstore.VerifyStream(e.ctx(), e.s, s)
		require.NoError(t, err)
		assert.True(t, rep.OK, "an untouched stream stays valid")
	}

	rep, err = eventstore.VerifyAll(e.ctx(), e.s)
	require.NoError(t, err)
	require.False(t, rep.OK, "VerifyAll must notice the tampering")
	require.NotNil(t, rep.Break)
	assert.Equal(t, victim, rep.Break.StreamID)
	assert.Equal(t, uint64(2), rep.Break.Version)
}
