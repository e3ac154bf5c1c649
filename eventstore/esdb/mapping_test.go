package esdb

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

func TestExpectedRevision(t *testing.T) {
	cases := []struct {
		in   eventstore.ExpectedVersion
		want kdb.ExpectedRevision
	}{
		{eventstore.Any, kdb.Any{}},
		{eventstore.StreamExists, kdb.StreamExists{}},
		{eventstore.NoStream, kdb.NoStream{}},
		{eventstore.Exact(0), kdb.NoStream{}},
		{eventstore.Exact(1), kdb.Revision(0)},
		{eventstore.Exact(42), kdb.Revision(41)},
	}
	for _, c := range cases {
		got, err := expectedRevision(c.in)
		require.NoError(t, err, c.in.String())
		assert.Equal(t, c.want, got, c.in.String())
	}
	_, err := expectedRevision(eventstore.ExpectedVersion(-3))
	assert.ErrorIs(t, err, eventstore.ErrInvalid)
}

func TestRevisionsAndVersions(t *testing.T) {
	assert.Equal(t, kdb.ExpectedRevision(kdb.NoStream{}), revisionAt(0), "an empty stream is appended with NoStream")
	assert.Equal(t, kdb.ExpectedRevision(kdb.Revision(0)), revisionAt(1))
	assert.Equal(t, kdb.ExpectedRevision(kdb.Revision(9)), revisionAt(10))
	assert.Equal(t, uint64(1), versionOf(0), "revision 0 is version 1")
	assert.Equal(t, uint64(10), versionOf(9))

	for _, c := range []struct {
		from uint64
		want kdb.StreamPosition
	}{
		{0, kdb.Start{}}, {1, kdb.Start{}}, {2, kdb.Revision(1)}, {100, kdb.Revision(99)},
	} {
		assert.Equal(t, c.want, streamFrom(c.from), "from %d", c.from)
	}
	assert.Equal(t, uint64(math.MaxUint64), readCount(0))
	assert.Equal(t, uint64(math.MaxUint64), readCount(-1))
	assert.Equal(t, uint64(7), readCount(7))
}

func sealed(t *testing.T, data, meta []byte) eventstore.Record {
	t.Helper()
	r := eventstore.Record{
		StreamID: "document-1", Version: 3, Position: 0, EventID: uuid.New(), Type: "DocumentIssued",
		SchemaVersion: 2, Data: data, Metadata: meta,
		RecordedAt: time.Date(2026, 3, 1, 10, 11, 12, 123456789, time.FixedZone("Almaty", 5*3600)),
	}
	eventstore.Seal(eventstore.Hash{1, 2, 3}, &r)
	return r
}

// asRead is what the server gives back for an event sent as ev.
func asRead(ev kdb.EventData, stream string, revision uint64) *kdb.RecordedEvent {
	return &kdb.RecordedEvent{
		EventID: ev.EventID, EventType: ev.EventType, StreamID: stream, EventNumber: revision,
		Data: ev.Data, UserMetadata: ev.Metadata, CreatedDate: time.Now(),
	}
}

func TestEventRoundTrip(t *testing.T) {
	cases := []struct {
		name        string
		data, meta  []byte
		contentType kdb.ContentType
		rawMeta     bool // our metadata is readable JSON inside the envelope
	}{
		{"compact JSON", []byte(`{"a":1}`), []byte(`{"actor":"x"}`), kdb.ContentTypeJson, true},
		{"no metadata", []byte(`{"a":1}`), nil, kdb.ContentTypeJson, false},
		{"empty metadata", []byte(`{"a":1}`), []byte{}, kdb.ContentTypeJson, false},
		{"indented metadata stays byte-exact", []byte(`{"a":1}`), []byte("{\n  \"actor\": \"x\"\n}"), kdb.ContentTypeJson, false},
		{"HTML characters in metadata", []byte(`{"a":1}`), []byte(`{"note":"<b>&</b>"}`), kdb.ContentTypeJson, true},
		{"line separators in metadata", []byte(`{"a":1}`), []byte("{\"note\":\"a\u2028b\"}"), kdb.ContentTypeJson, true},
		{"binary metadata", []byte(`{"a":1}`), []byte{0, 1, 2, 0xff}, kdb.ContentTypeJson, false},
		{"binary data", []byte{0xde, 0xad, 0xbe, 0xef}, nil, kdb.ContentTypeBinary, false},
		{"not JSON data", []byte(`{"a":`), nil, kdb.ContentTypeBinary, false},
		{"JSON with spaces stays byte-exact", []byte(`{ "a" : 1 }`), nil, kdb.ContentTypeJson, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sealed(t, c.data, c.meta)
			ev, err := encodeEvent(&r, "batch1")
			require.NoError(t, err)
			assert.Equal(t, r.EventID, ev.EventID, "our event id is the server's event id")
			assert.Equal(t, r.Type, ev.EventType)
			assert.Equal(t, c.contentType, ev.ContentType)
			assert.Equal(t, c.data, ev.Data, "data goes as given")

			var env map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(ev.Metadata, &env), "the event metadata is JSON")
			_, raw := env["meta"]
			assert.Equal(t, c.rawMeta, raw, "metadata as readable JSON: %s", ev.Metadata)

			got, err := decodeEvent(asRead(ev, "ns-document-1", 2), "document-1", 777)
			require.NoError(t, err)
			assert.Equal(t, "batch1", got.batch)
			want := r
			want.Position = 777
			want.RecordedAt = r.RecordedAt.UTC()
			if len(want.Metadata) == 0 {
				want.Metadata = nil // nil and empty hash the same; reads give nil
			}
			assert.Equal(t, want, got.rec)
			assert.Equal(t, time.UTC, got.rec.RecordedAt.Location())
			assert.Equal(t, got.rec.Hash, eventstore.ChainHash(got.rec.PrevHash, &got.rec), "the chain holds after the round trip")
		})
	}
}

func TestEnvelopeFields(t *testing.T) {
	r := sealed(t, []byte(`{}`), []byte(`{"k":"v"}`))
	ev, err := encodeEvent(&r, "d1")
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.Unmarshal(ev.Metadata, &env))
	assert.Equal(t, map[string]any{
		"custody":        float64(1),
		"schema_version": float64(2),
		"recorded_at":    "2026-03-01T05:11:12.123456Z",
		"prev_hash":      r.PrevHash.String(),
		"hash":           r.Hash.String(),
		"batch":          "d1",
		"meta":           map[string]any{"k": "v"},
	}, env, "operators read these in the server's UI")
}

func TestDecodeRefusesForeignEvents(t *testing.T) {
	base := kdb.RecordedEvent{EventID: uuid.New(), EventType: "X", StreamID: "document-1", Data: []byte(`{}`)}
	cases := []struct {
		name string
		meta string
	}{
		{"no metadata", ``},
		{"other JSON", `{"$correlationId":"x"}`},
		{"not JSON", `garbage`},
		{"bad hash", `{"custody":1,"recorded_at":"2026-03-01T05:11:12.123456Z","prev_hash":"zz","hash":"00"}`},
		{"bad time", `{"custody":1,"recorded_at":"yesterday"}`},
		{"newer format", `{"custody":2}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := base
			ev.UserMetadata = []byte(c.meta)
			_, err := decodeEvent(&ev, "document-1", 1)
			require.Error(t, err)
		})
	}
	ev := base
	_, err := decodeEvent(&ev, "document-1", 1)
	assert.ErrorIs(t, err, errForeign)
}

func TestEventPosition(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	ev := func(commit uint64) *kdb.RecordedEvent {
		return &kdb.RecordedEvent{Position: kdb.Position{Commit: commit, Prepare: commit}}
	}
	cases := []struct {
		name string
		re   kdb.ResolvedEvent
		want uint64
		ok   bool
	}{
		{"$all read", kdb.ResolvedEvent{Event: ev(1234), Commit: u(1234)}, 1234, true},
		{"stream read on a recent server", kdb.ResolvedEvent{Event: ev(99)}, 99, true},
		{"stream read on an old server", kdb.ResolvedEvent{Event: ev(math.MaxUint64)}, 0, false},
		{"commit on the wire wins", kdb.ResolvedEvent{Event: ev(math.MaxUint64), Commit: u(55)}, 55, true},
		{"no position on the wire", kdb.ResolvedEvent{Event: ev(math.MaxUint64), Commit: u(math.MaxUint64)}, 0, false},
	}
	for _, c := range cases {
		got, ok := eventPosition(&c.re)
		assert.Equal(t, c.ok, ok, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
}

func TestPosAfter(t *testing.T) {
	p := func(c, pr uint64) kdb.Position { return kdb.Position{Commit: c, Prepare: pr} }
	assert.True(t, posAfter(p(2, 2), p(1, 1)))
	assert.False(t, posAfter(p(1, 1), p(1, 1)), "not strictly after itself")
	assert.False(t, posAfter(p(1, 1), p(2, 0)))
	assert.True(t, posAfter(p(5, 3), p(5, 2)), "same commit (explicit transaction): prepare decides")
}

func TestBatchDigest(t *testing.T) {
	e1, e2, e3 := eventstore.EventData{ID: uuid.New()}, eventstore.EventData{ID: uuid.New()}, eventstore.EventData{ID: uuid.New()}
	a := eventstore.StreamAppend{StreamID: "document-a", Expected: eventstore.NoStream, Events: []eventstore.EventData{e1, e2}}
	b := eventstore.StreamAppend{StreamID: "registry-b", Expected: eventstore.Exact(3), Events: []eventstore.EventData{e3}}
	d := batchDigest([]eventstore.StreamAppend{a, b})
	assert.Len(t, d, 32)

	aAny, bAny := a, b
	aAny.Expected, bAny.Expected = eventstore.Any, eventstore.Any
	assert.Equal(t, d, batchDigest([]eventstore.StreamAppend{b, a}), "part order does not matter")
	assert.Equal(t, d, batchDigest([]eventstore.StreamAppend{aAny, bAny}), "expected versions do not matter (a retry may change them)")

	swapped := a
	swapped.Events = []eventstore.EventData{e2, e1}
	moved := b
	moved.StreamID = "registry-c"
	for name, parts := range map[string][]eventstore.StreamAppend{
		"event order":   {swapped, b},
		"other stream":  {a, moved},
		"fewer parts":   {a},
		"ids regrouped": {{StreamID: "document-a", Events: []eventstore.EventData{e1}}, {StreamID: "registry-b", Events: []eventstore.EventData{e2, e3}}},
	} {
		assert.NotEqual(t, d, batchDigest(parts), name)
	}
	// Length prefixes: moving characters between stream names changes the digest.
	x := batchDigest([]eventstore.StreamAppend{{StreamID: "ab", Events: []eventstore.EventData{e1}}, {StreamID: "c", Events: []eventstore.EventData{e2}}})
	y := batchDigest([]eventstore.StreamAppend{{StreamID: "a", Events: []eventstore.EventData{e1}}, {StreamID: "bc", Events: []eventstore.EventData{e2}}})
	assert.NotEqual(t, x, y)
}

func TestClassifyPart(t *testing.T) {
	const stream, batch = "document-1", "b1"
	evs := []eventstore.EventData{
		{ID: uuid.New(), Type: "A", SchemaVersion: 1, Data: []byte(`{"n":1}`)},
		{ID: uuid.New(), Type: "B", SchemaVersion: 1, Data: []byte(`{"n":2}`), Metadata: []byte(`{"m":1}`)},
	}
	part := eventstore.StreamAppend{StreamID: stream, Expected: eventstore.Exact(4), Events: evs}
	rec := func(i int, version uint64, b string) stored {
		e := evs[i]
		return stored{rec: eventstore.Record{StreamID: stream, Version: version, Position: 100 + version, EventID: e.ID,
			Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata}, batch: b}
	}
	changed := rec(1, 6, batch)
	changed.rec.Data = []byte(`{"n":3}`)

	cases := []struct {
		name    string
		found   []stored
		want    partOutcome
		dupOf   uuid.UUID // a DuplicateConflictError on this id
		version uint64
	}{
		{name: "nothing stored", want: partNew},
		{name: "stored by this request", found: []stored{rec(0, 5, batch), rec(1, 6, batch)}, want: partDone, version: 6},
		{name: "other content", found: []stored{rec(0, 5, batch), changed}, dupOf: evs[1].ID},
		{name: "only some stored", found: []stored{rec(1, 6, batch)}, dupOf: evs[1].ID},
		{name: "stored by another request", found: []stored{rec(0, 5, "b0"), rec(1, 6, "b0")}, dupOf: evs[0].ID},
		{name: "not consecutive", found: []stored{rec(0, 5, batch), rec(1, 7, batch)}, dupOf: evs[0].ID},
		{name: "reordered", found: []stored{rec(0, 6, batch), rec(1, 5, batch)}, dupOf: evs[0].ID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			found := map[uuid.UUID]stored{}
			for _, s := range c.found {
				found[s.rec.EventID] = s
			}
			outcome, res, err := classifyPart(&part, found, batch)
			if c.dupOf != uuid.Nil {
				var dc *eventstore.DuplicateConflictError
				require.ErrorAs(t, err, &dc)
				assert.Equal(t, c.dupOf, dc.EventID)
				assert.Equal(t, stream, dc.StreamID)
				assert.ErrorIs(t, err, eventstore.ErrDuplicateConflict)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, outcome)
			if outcome == partDone {
				assert.Equal(t, stream, res.StreamID)
				assert.Equal(t, c.version, res.Version)
				require.Len(t, res.Records, 2)
				assert.Equal(t, evs[0].ID, res.Records[0].EventID)
			}
		})
	}
}

func TestSeal(t *testing.T) {
	evs := []eventstore.EventData{
		{ID: uuid.New(), Type: "A", SchemaVersion: 1, Data: []byte(`{}`)},
		{ID: uuid.New(), Type: "B", SchemaVersion: 1, Data: []byte(`{}`)},
	}
	part := eventstore.StreamAppend{StreamID: "document-1", Events: evs}
	now := time.Date(2026, 3, 1, 10, 0, 0, 999, time.FixedZone("Almaty", 5*3600))

	t.Run("new stream", func(t *testing.T) {
		recs := seal(&part, tail{}, now)
		require.Len(t, recs, 2)
		assert.Equal(t, uint64(1), recs[0].Version)
		assert.Equal(t, uint64(2), recs[1].Version)
		assert.True(t, recs[0].PrevHash.IsZero())
		assert.Equal(t, recs[0].Hash, recs[1].PrevHash)
		assert.Equal(t, time.UTC, recs[0].RecordedAt.Location())
		assert.Equal(t, now.UTC().Truncate(time.Microsecond), recs[0].RecordedAt)
		assert.Equal(t, eventstore.ChainHash(recs[1].PrevHash, &recs[1]), recs[1].Hash)
	})
	t.Run("after a tail", func(t *testing.T) {
		tl := tail{version: 7, hash: eventstore.Hash{9}, recordedAt: now.UTC().Add(-time.Hour)}
		recs := seal(&part, tl, now)
		assert.Equal(t, uint64(8), recs[0].Version)
		assert.Equal(t, tl.hash, recs[0].PrevHash)
	})
	t.Run("never before the tail's time", func(t *testing.T) {
		later := now.UTC().Add(time.Second).Truncate(time.Microsecond)
		recs := seal(&part, tail{version: 1, recordedAt: later}, now)
		assert.Equal(t, later, recs[0].RecordedAt, "a host whose clock is behind does not write an earlier time")
	})
}

func TestParseWrongExpected(t *testing.T) {
	cases := []struct {
		msg  string
		want uint64
		ok   bool
	}{
		{"wrong expected version: expecting '3' but got '5'", 6, true},
		{"wrong expected version: expecting 'no_stream' but got '0'", 1, true},
		{"wrong expected version: expecting '0' but got 'no_stream'", 0, true},
		{"wrong expected version: expecting 'any' but got '-1'", 0, false},
		{"something else", 0, false},
		{"but got 'x'", 0, false},
	}
	for _, c := range cases {
		got, ok := parseWrongExpected(c.msg)
		assert.Equal(t, c.ok, ok, c.msg)
		assert.Equal(t, c.want, got, c.msg)
	}
}
