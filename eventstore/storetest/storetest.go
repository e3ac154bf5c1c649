// Package storetest is the conformance suite every eventstore adapter must pass. An adapter's
// test calls Run with a Harness that makes fresh stores; benchmarks call Bench.
//
// The suite relies only on the eventstore.Store contract. In particular it never assumes that
// global positions are contiguous (KurrentDB's are not), only that they are > 0 and strictly
// increasing in commit order. Event data is always compact JSON.
//
// Idempotency, as the suite checks it: an append whose events all already exist, in the same
// stream, with the same content, in the same order, as one earlier append, returns that
// append's original AppendResult and writes nothing, whatever the expected version (also after a
// restart). An event id stored with different content, or in another stream, or an append of
// which only some ids exist, is a *DuplicateConflictError. Its EventID is the first event, in
// request order, stored with other content or in another stream (for a partly stored or
// reordered request: any stored one); its StreamID is the stream that holds that event. The
// same holds for AppendMulti over all parts (eventstore.MatchRetry implements these rules).
// Retrying a strict subset of an earlier append is not specified and not tested. The expected
// version is checked only after idempotency: a retry with changed content and a now-stale
// expected version is a duplicate conflict, not a version conflict.
//
// Cases run one after another (no t.Parallel), each on a store from a fresh Harness.New; a
// whole run takes a few seconds on SQLite under -race.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// Harness tells the suite how to make stores.
type Harness struct {
	// New makes a fresh, empty store location and returns a function that opens it; the suite
	// calls open() again after Close() to test durability and idempotency across restarts.
	New func(t *testing.T) (open func() eventstore.Store)
	// Tamper changes the stored data of one event behind the store's back (raw SQL etc.),
	// without fixing its hash; nil skips the tampering test with t.Skip and a message.
	Tamper func(t *testing.T, s eventstore.Store, stream string, version uint64)
}

// clockSkew bounds how far the server's clock (RecordedAt) may be from the test's clock.
const clockSkew = time.Minute

// waitLimit bounds every wait for a subscriber, so a lost event fails the test instead of
// hanging it.
const waitLimit = 20 * time.Second

// Run runs every conformance case as a subtest, each on a fresh store.
func Run(t *testing.T, h Harness) {
	require.NotNil(t, h.New, "storetest: Harness.New is required")
	cases := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"EmptyStore", testEmptyStore},
		{"AppendAndRead", testAppendAndRead},
		{"ExpectedVersion", testExpectedVersion},
		{"InvalidRequests", testInvalidRequests},
		{"Limits", testLimits},
		{"Idempotency", testIdempotency},
		{"IdempotencyAfterReopen", testIdempotencyAfterReopen},
		{"AppendMulti", testAppendMulti},
		{"AppendMultiAtomic", testAppendMultiAtomic},
		{"AppendMultiIdempotency", testAppendMultiIdempotency},
		{"Durability", testDurability},
		{"Tamper", testTamper},
		{"LargePayload", testLargePayload},
		{"ManyStreams", testManyStreams},
		{"CancelledContext", testCancelledContext},
		{"Subscribe", testSubscribe},
		{"SubscribeCatchUpPages", testSubscribeCatchUpPages},
		{"ConcurrentSameStream", testConcurrentSameStream},
		{"ConcurrentRetryLoop", testConcurrentRetryLoop},
		{"ConcurrentRetries", testConcurrentRetries},
		{"ConcurrentGlobalLog", testConcurrentGlobalLog},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newEnv(t, h))
		})
	}
}

// env is one test's store, reopened in place by reopen.
type env struct {
	t    *testing.T
	h    Harness
	open func() eventstore.Store
	s    eventstore.Store
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	e := &env{t: t, h: h, open: h.New(t)}
	e.s = e.open()
	require.NotNil(t, e.s, "storetest: open() returned nil")
	t.Cleanup(func() {
		if e.s != nil {
			_ = e.s.Close()
		}
	})
	return e
}

// reopen closes the store and opens the same location again, as after a restart.
func (e *env) reopen() {
	e.t.Helper()
	s := e.s
	e.s = nil
	require.NoError(e.t, s.Close(), "Close")
	e.s = e.open()
	require.NotNil(e.t, e.s, "storetest: open() returned nil on reopen")
}

func (e *env) ctx() context.Context { return e.t.Context() }

// streamID returns a stream name unique to this run, so stores that share a server between
// tests cannot collide.
func streamID(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
}

var seq atomic.Int64

// event returns a new event with a fresh id and compact JSON data.
func event(typ string) eventstore.EventData {
	n := seq.Add(1)
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		Data:          fmt.Appendf(nil, `{"n":%d,"note":"storetest"}`, n),
		Metadata:      []byte(`{"actor":"storetest"}`),
	}
}

// events returns n new events of type "Tested".
func events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = event("Tested")
	}
	return out
}

// clone deep-copies events so a retry shares no memory with the original request.
func clone(evs []eventstore.EventData) []eventstore.EventData {
	out := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		out[i] = e
		out[i].Data = bytes.Clone(e.Data)
		out[i].Metadata = bytes.Clone(e.Metadata)
	}
	return out
}

func (e *env) append(stream string, exp eventstore.ExpectedVersion, evs ...eventstore.EventData) eventstore.AppendResult {
	e.t.Helper()
	res, err := eventstore.AppendOne(e.ctx(), e.s, stream, exp, evs...)
	require.NoError(e.t, err, "Append %s (%s)", stream, exp)
	return res
}

// readStream reads a whole stream; a missing stream gives nil.
func (e *env) readStream(stream string) []eventstore.Record {
	e.t.Helper()
	recs, err := e.s.ReadStream(e.ctx(), stream, 1, 0)
	if errors.Is(err, eventstore.ErrNotFound) {
		return nil
	}
	require.NoError(e.t, err, "ReadStream %s", stream)
	return recs
}

func (e *env) readAll(after uint64) []eventstore.Record {
	e.t.Helper()
	recs, err := e.s.ReadAll(e.ctx(), after, 0)
	require.NoError(e.t, err, "ReadAll after %d", after)
	return recs
}

func (e *env) head() uint64 {
	e.t.Helper()
	h, err := e.s.Head(e.ctx())
	require.NoError(e.t, err, "Head")
	return h
}

// requireNotFound asserts that a stream has no events.
func (e *env) requireNotFound(stream string) {
	e.t.Helper()
	_, err := e.s.ReadStream(e.ctx(), stream, 1, 0)
	require.ErrorIs(e.t, err, eventstore.ErrNotFound, "stream %s should not exist", stream)
}

// requireUnchanged asserts that nothing was committed since head.
func (e *env) requireUnchanged(head uint64) {
	e.t.Helper()
	require.Equal(e.t, head, e.head(), "Head moved: something was written")
	require.Empty(e.t, e.readAll(head), "ReadAll shows records that should not exist")
}

func requireVersionConflict(t *testing.T, err error, stream string, expected eventstore.ExpectedVersion, actual uint64) {
	t.Helper()
	require.ErrorIs(t, err, eventstore.ErrVersionConflict)
	var vc *eventstore.VersionConflictError
	require.ErrorAs(t, err, &vc)
	assert.Equal(t, stream, vc.StreamID, "VersionConflictError.StreamID")
	assert.Equal(t, expected, vc.Expected, "VersionConflictError.Expected")
	assert.Equal(t, actual, vc.Actual, "VersionConflictError.Actual must be the stream's current version")
}

func requireDuplicateConflict(t *testing.T, err error, id uuid.UUID, storedIn string) {
	t.Helper()
	require.ErrorIs(t, err, eventstore.ErrDuplicateConflict)
	var dc *eventstore.DuplicateConflictError
	require.ErrorAs(t, err, &dc)
	assert.Equal(t, id, dc.EventID, "DuplicateConflictError.EventID")
	assert.Equal(t, storedIn, dc.StreamID, "DuplicateConflictError.StreamID must name the stream that holds the event")
}

// checkRecord asserts that r stores ev at stream/version, with well-formed server fields.
func checkRecord(t *testing.T, r eventstore.Record, stream string, version uint64, ev eventstore.EventData) {
	t.Helper()
	assert.Equal(t, stream, r.StreamID, "StreamID")
	assert.Equal(t, version, r.Version, "Version")
	assert.NotZero(t, r.Position, "Position must be > 0")
	assert.Equal(t, ev.ID, r.EventID, "EventID")
	assert.Equal(t, ev.Type, r.Type, "Type")
	assert.Equal(t, ev.SchemaVersion, r.SchemaVersion, "SchemaVersion")
	assert.True(t, bytes.Equal(ev.Data, r.Data), "Data differs: %q vs %q", trunc(ev.Data), trunc(r.Data))
	assert.True(t, bytes.Equal(ev.Metadata, r.Metadata), "Metadata differs: %q vs %q", trunc(ev.Metadata), trunc(r.Metadata))
	assert.False(t, r.RecordedAt.IsZero(), "RecordedAt must be set")
	assert.Equal(t, time.UTC, r.RecordedAt.Location(), "RecordedAt must be UTC")
	assert.True(t, r.RecordedAt.Equal(r.RecordedAt.Truncate(time.Microsecond)), "RecordedAt must be truncated to microseconds")
	assert.WithinDuration(t, time.Now(), r.RecordedAt, clockSkew, "RecordedAt must come from the server clock")
	assert.Equal(t, eventstore.ChainHash(r.PrevHash, &r), r.Hash, "Hash must be SHA-256(PrevHash || CanonicalBytes)")
}

// checkResult asserts that res is the result of appending evs to stream at version from+1.
func checkResult(t *testing.T, res eventstore.AppendResult, stream string, from uint64, evs []eventstore.EventData) {
	t.Helper()
	assert.Equal(t, stream, res.StreamID, "AppendResult.StreamID")
	assert.Equal(t, from+uint64(len(evs)), res.Version, "AppendResult.Version is the stream's version after the append")
	requireCount(t, res.Records, len(evs), "AppendResult.Records")
	for i, ev := range evs {
		checkRecord(t, res.Records[i], stream, from+uint64(i)+1, ev)
		if i > 0 {
			assert.Equal(t, res.Records[i-1].Hash, res.Records[i].PrevHash, "PrevHash links to the previous event")
			assert.Greater(t, res.Records[i].Position, res.Records[i-1].Position, "positions strictly increase")
		}
	}
}

// checkChain asserts that recs is a whole stream: versions 1..n, linked hashes, increasing
// positions.
func checkChain(t *testing.T, recs []eventstore.Record) {
	t.Helper()
	var prev eventstore.Hash
	for i, r := range recs {
		require.Equal(t, uint64(i+1), r.Version, "versions are 1..n without gaps")
		require.Equal(t, prev, r.PrevHash, "PrevHash of version %d", r.Version)
		require.Equal(t, eventstore.ChainHash(prev, &r), r.Hash, "Hash of version %d", r.Version)
		if i > 0 {
			require.Greater(t, r.Position, recs[i-1].Position, "positions strictly increase within a stream")
		}
		prev = r.Hash
	}
}

// requireIncreasing asserts that positions strictly increase.
func requireIncreasing(t *testing.T, recs []eventstore.Record, after uint64) {
	t.Helper()
	for _, r := range recs {
		require.Greater(t, r.Position, after, "positions must strictly increase (event %s)", r.EventID)
		after = r.Position
	}
}

// sameRecord compares every field; times with Equal and byte slices with bytes.Equal (so a
// nil and an empty Metadata are the same, as they hash the same).
func sameRecord(t *testing.T, want, got eventstore.Record, msgAndArgs ...any) {
	t.Helper()
	ok := want.StreamID == got.StreamID && want.Version == got.Version && want.Position == got.Position &&
		want.EventID == got.EventID && want.Type == got.Type && want.SchemaVersion == got.SchemaVersion &&
		bytes.Equal(want.Data, got.Data) && bytes.Equal(want.Metadata, got.Metadata) &&
		want.RecordedAt.Equal(got.RecordedAt) && want.PrevHash == got.PrevHash && want.Hash == got.Hash
	if !ok {
		require.Fail(t, fmt.Sprintf("records differ:\nwant %s\ngot  %s", fmtRecord(want), fmtRecord(got)), msgAndArgs...)
	}
}

// sameRecords compares two record lists; on a length mismatch it names the first difference
// instead of dumping both lists.
func sameRecords(t *testing.T, want, got []eventstore.Record, msgAndArgs ...any) {
	t.Helper()
	if len(want) != len(got) {
		i := 0
		for i < len(want) && i < len(got) && want[i].EventID == got[i].EventID {
			i++
		}
		diff := "one list is a prefix of the other"
		switch {
		case i < len(want) && i < len(got):
			diff = fmt.Sprintf("first difference at index %d: want %s, got %s", i, fmtRecord(want[i]), fmtRecord(got[i]))
		case i < len(want):
			diff = fmt.Sprintf("missing from index %d on, first: %s", i, fmtRecord(want[i]))
		case i < len(got):
			diff = fmt.Sprintf("extra from index %d on, first: %s", i, fmtRecord(got[i]))
		}
		require.Fail(t, fmt.Sprintf("want %d records, got %d; %s", len(want), len(got), diff), msgAndArgs...)
	}
	for i := range want {
		sameRecord(t, want[i], got[i], msgAndArgs...)
	}
}

func sameResult(t *testing.T, want, got eventstore.AppendResult, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.StreamID, got.StreamID, msgAndArgs...)
	require.Equal(t, want.Version, got.Version, msgAndArgs...)
	sameRecords(t, want.Records, got.Records, msgAndArgs...)
}

func fmtRecord(r eventstore.Record) string {
	return fmt.Sprintf("{%s v%d pos %d id %s %s/%d data %q meta %q at %s prev %.8s hash %.8s}",
		r.StreamID, r.Version, r.Position, r.EventID, r.Type, r.SchemaVersion, trunc(r.Data), trunc(r.Metadata),
		r.RecordedAt.Format(time.RFC3339Nano), r.PrevHash, r.Hash)
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return append(b[:60:60], "..."...)
	}
	return b
}

// requireCount and assertCount check how many records there are without dumping them.
func requireCount(t *testing.T, recs []eventstore.Record, n int, msgAndArgs ...any) {
	t.Helper()
	if !assertCount(t, recs, n, msgAndArgs...) {
		t.FailNow()
	}
}

func assertCount(t *testing.T, recs []eventstore.Record, n int, msgAndArgs ...any) bool {
	t.Helper()
	return assert.Equal(t, n, len(recs), msgAndArgs...)
}
