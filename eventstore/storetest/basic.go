package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

func testEmptyStore(t *testing.T, e *env) {
	assert.Zero(t, e.head(), "Head of an empty store")
	assert.Empty(t, e.readAll(0), "ReadAll of an empty store")
	recs, err := e.s.ReadAll(e.ctx(), 1000, 10)
	require.NoError(t, err, "ReadAll past the head is not an error")
	assert.Empty(t, recs)
	e.requireNotFound(streamID("missing"))

	rep, err := eventstore.VerifyAll(e.ctx(), e.s)
	require.NoError(t, err)
	assert.True(t, rep.OK)
	assert.Zero(t, rep.Events)

	_, err = eventstore.VerifyStream(e.ctx(), e.s, streamID("missing"))
	require.ErrorIs(t, err, eventstore.ErrNotFound, "verifying a missing stream")
}

func testAppendAndRead(t *testing.T, e *env) {
	stream := streamID("doc")
	first := events(3)
	first[1].Metadata = nil // optional metadata
	first[2].Type, first[2].SchemaVersion = "Other", 3

	res := e.append(stream, eventstore.NoStream, first...)
	checkResult(t, res, stream, 0, first)
	assert.True(t, res.Records[0].PrevHash.IsZero(), "the first event's PrevHash is the zero hash")
	assert.Equal(t, res.Records[2].Position, e.head(), "Head is the last position")

	second := events(2)
	res2 := e.append(stream, eventstore.Exact(3), second...)
	checkResult(t, res2, stream, 3, second)
	assert.Equal(t, res.Records[2].Hash, res2.Records[0].PrevHash, "the chain continues across appends")
	assert.Greater(t, res2.Records[0].Position, res.Records[2].Position, "positions strictly increase across appends")
	assert.Equal(t, res2.Records[1].Position, e.head())

	want := append(append([]eventstore.Record{}, res.Records...), res2.Records...)
	got := e.readStream(stream)
	sameRecords(t, want, got, "ReadStream returns exactly what Append reported")
	checkChain(t, got)
	sameRecords(t, want, e.readAll(0), "ReadAll returns exactly what Append reported")

	from, err := e.s.ReadStream(e.ctx(), stream, 0, 0)
	require.NoError(t, err)
	sameRecords(t, want, from, "ReadStream from 0 reads from the start")

	rep, err := eventstore.VerifyStream(e.ctx(), e.s, stream)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Report{OK: true, Streams: 1, Events: 5}, rep)
}

func testExpectedVersion(t *testing.T, e *env) {
	cases := []struct {
		name     string
		existing int // events in the stream before the append
		expected eventstore.ExpectedVersion
		conflict bool
	}{
		{"any on a new stream", 0, eventstore.Any, false},
		{"any on an existing stream", 2, eventstore.Any, false},
		{"no stream on a new stream", 0, eventstore.NoStream, false},
		{"no stream on an existing stream", 2, eventstore.NoStream, true},
		{"exact 0 on a new stream", 0, eventstore.Exact(0), false},
		{"exact 0 on an existing stream", 1, eventstore.Exact(0), true},
		{"stream exists on a new stream", 0, eventstore.StreamExists, true},
		{"stream exists on an existing stream", 2, eventstore.StreamExists, false},
		{"exact version", 2, eventstore.Exact(2), false},
		{"exact version behind", 3, eventstore.Exact(2), true},
		{"exact version ahead", 2, eventstore.Exact(3), true},
		{"exact version on a new stream", 0, eventstore.Exact(1), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := streamID("ev")
			if c.existing > 0 {
				e.append(stream, eventstore.NoStream, events(c.existing)...)
			}
			head := e.head()
			evs := events(2)
			res, err := eventstore.AppendOne(e.ctx(), e.s, stream, c.expected, evs...)
			if c.conflict {
				requireVersionConflict(t, err, stream, c.expected, uint64(c.existing))
				e.requireUnchanged(head)
				assertCount(t, e.readStream(stream), c.existing, "a conflicting append writes nothing")
				return
			}
			require.NoError(t, err)
			checkResult(t, res, stream, uint64(c.existing), evs)
			assertCount(t, e.readStream(stream), c.existing+2)
		})
	}
}

func testInvalidRequests(t *testing.T, e *env) {
	existing := streamID("inv")
	e.append(existing, eventstore.NoStream, events(1)...)
	head := e.head()
	cases := []struct {
		name string
		call func() error
	}{
		{"empty stream id", func() error {
			_, err := eventstore.AppendOne(e.ctx(), e.s, "", eventstore.Any, events(1)...)
			return err
		}},
		{"no events", func() error {
			_, err := eventstore.AppendOne(e.ctx(), e.s, streamID("inv"), eventstore.Any)
			return err
		}},
		{"multi without parts", func() error {
			_, err := e.s.AppendMulti(e.ctx())
			return err
		}},
		{"multi naming a stream twice", func() error {
			s := streamID("inv")
			_, err := e.s.AppendMulti(e.ctx(),
				eventstore.StreamAppend{StreamID: s, Expected: eventstore.Any, Events: events(1)},
				eventstore.StreamAppend{StreamID: s, Expected: eventstore.Any, Events: events(1)})
			return err
		}},
		{"multi with an empty stream id", func() error {
			_, err := e.s.AppendMulti(e.ctx(),
				eventstore.StreamAppend{StreamID: streamID("inv"), Expected: eventstore.Any, Events: events(1)},
				eventstore.StreamAppend{StreamID: "", Expected: eventstore.Any, Events: events(1)})
			return err
		}},
		{"multi with a part without events", func() error {
			_, err := e.s.AppendMulti(e.ctx(),
				eventstore.StreamAppend{StreamID: streamID("inv"), Expected: eventstore.Any, Events: events(1)},
				eventstore.StreamAppend{StreamID: existing, Expected: eventstore.Any})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.call(), eventstore.ErrInvalid)
			e.requireUnchanged(head)
		})
	}
}

func testLimits(t *testing.T, e *env) {
	stream := streamID("lim")
	e.append(stream, eventstore.NoStream, events(4)...)
	e.append(streamID("other"), eventstore.NoStream, events(1)...) // interleave another stream
	e.append(stream, eventstore.Exact(4), events(6)...)
	all := e.readStream(stream)
	requireCount(t, all, 10)
	log := e.readAll(0)
	requireCount(t, log, 11)

	streamCases := []struct {
		from  uint64
		limit int
		want  []eventstore.Record
	}{
		{1, 3, all[0:3]},
		{4, 0, all[3:]},
		{0, -1, all},
		{2, 100, all[1:]},
		{10, 5, all[9:]},
		{11, 5, nil}, // past the end of an existing stream: empty, not ErrNotFound
		{100, 0, nil},
	}
	for _, c := range streamCases {
		got, err := e.s.ReadStream(e.ctx(), stream, c.from, c.limit)
		require.NoError(t, err, "ReadStream from %d limit %d", c.from, c.limit)
		sameRecords(t, c.want, got, "ReadStream from %d limit %d", c.from, c.limit)
	}

	logCases := []struct {
		after uint64
		limit int
		want  []eventstore.Record
	}{
		{0, 4, log[0:4]},
		{log[3].Position, 0, log[4:]},
		{log[3].Position, 2, log[4:6]},
		{log[9].Position, -1, log[10:]},
		{log[10].Position, 5, nil},
		{log[10].Position + 1000, 5, nil},
	}
	for _, c := range logCases {
		got, err := e.s.ReadAll(e.ctx(), c.after, c.limit)
		require.NoError(t, err, "ReadAll after %d limit %d", c.after, c.limit)
		sameRecords(t, c.want, got, "ReadAll after %d limit %d", c.after, c.limit)
	}
	assert.Equal(t, log[10].Position, e.head())
}

func testLargePayload(t *testing.T, e *env) {
	stream := streamID("big")
	ev := event("Large")
	ev.Data = bigJSON(1 << 20)
	ev.Metadata = bigJSON(4 << 10)
	res := e.append(stream, eventstore.NoStream, ev)
	checkResult(t, res, stream, 0, []eventstore.EventData{ev})
	small := events(1)
	e.append(stream, eventstore.Exact(1), small...)

	got := e.readStream(stream)
	requireCount(t, got, 2)
	sameRecord(t, res.Records[0], got[0])
	checkChain(t, got)
	sameRecords(t, got, e.readAll(0))
	rep, err := eventstore.VerifyAll(e.ctx(), e.s)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Break)
}

// bigJSON returns a compact JSON object of exactly n bytes whose text does not compress well.
func bigJSON(n int) []byte {
	const prefix, suffix = `{"blob":"`, `"}`
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	x := uint32(2463534242)
	for len(b) < n-len(suffix) {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, alphabet[x%uint32(len(alphabet))])
	}
	return append(b, suffix...)
}

func testManyStreams(t *testing.T, e *env) {
	const n = 120
	streams := make([]string, n)
	want := map[string][]eventstore.Record{}
	for round := range 2 {
		for i := range streams {
			if round == 0 {
				streams[i] = streamID("many")
			}
			res := e.append(streams[i], eventstore.Exact(uint64(round)), events(1)...)
			want[streams[i]] = append(want[streams[i]], res.Records...)
		}
	}
	for _, s := range streams {
		got := e.readStream(s)
		sameRecords(t, want[s], got, "stream %s", s)
		checkChain(t, got)
	}
	log := e.readAll(0)
	requireCount(t, log, 2*n)
	requireIncreasing(t, log, 0)
	rep, err := eventstore.VerifyAll(e.ctx(), e.s)
	require.NoError(t, err)
	assert.Equal(t, eventstore.Report{OK: true, Streams: n, Events: 2 * n}, rep)
}

func testCancelledContext(t *testing.T, e *env) {
	stream := streamID("ctx")
	e.append(stream, eventstore.NoStream, events(1)...)
	head := e.head()
	ctx, cancel := context.WithCancel(e.ctx())
	cancel()

	cases := []struct {
		name string
		call func() error
	}{
		{"Append", func() error {
			_, err := eventstore.AppendOne(ctx, e.s, stream, eventstore.Any, events(1)...)
			return err
		}},
		{"Append to a new stream", func() error {
			_, err := eventstore.AppendOne(ctx, e.s, streamID("ctx"), eventstore.NoStream, events(1)...)
			return err
		}},
		{"AppendMulti", func() error {
			_, err := e.s.AppendMulti(ctx,
				eventstore.StreamAppend{StreamID: stream, Expected: eventstore.Any, Events: events(1)},
				eventstore.StreamAppend{StreamID: streamID("ctx"), Expected: eventstore.NoStream, Events: events(1)})
			return err
		}},
		{"ReadStream", func() error {
			_, err := e.s.ReadStream(ctx, stream, 1, 0)
			return err
		}},
		{"ReadAll", func() error {
			_, err := e.s.ReadAll(ctx, 0, 0)
			return err
		}},
		{"Head", func() error {
			_, err := e.s.Head(ctx)
			return err
		}},
		{"Subscribe", func() error {
			return e.s.Subscribe(ctx, 0, func(eventstore.Record) error {
				return errors.New("fn must not be called after the context ended")
			})
		}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			require.ErrorIs(t, c.call(), context.Canceled)
			e.requireUnchanged(head)
		})
	}
	assertCount(t, e.readStream(stream), 1)
}
