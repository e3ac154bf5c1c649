// Package esdb is the event store on KurrentDB / EventStoreDB (22.10 or later), through
// EventStore-Client-Go/v4. It is selected with --store esdb://… (the client's connection
// string: TLS, credentials, gossip seeds, DNS discovery with esdb+discover://). Operator
// documentation: docs/esdb.md.
//
// # Streams
//
// A port stream id is a server stream name, optionally behind a namespace (WithNamespace, or
// custodyNamespace= in the URL) so that several ledgers or test runs share a cluster. Only
// streams under the ledger's categories (WithCategories, which cmd/custody fills from
// domain.StreamPrefixes: document-, registry-, dispute-, forcemajeure-) can be written: the global log is $all filtered on those
// prefixes, and a stream outside them would be invisible to it (ErrInvalid).
//
// # Versions and expected versions
//
// Our versions count events from 1; server revisions count from 0: version = revision+1.
// NoStream and Exact(0) ↔ NoStream{}, StreamExists ↔ StreamExists{}, Any ↔ Any{},
// Exact(v>0) ↔ Revision(v-1). The adapter checks the caller's expectation against the
// stream's tail, then always appends with the exact revision of that tail, also for Any and
// StreamExists: the hash chain links each event to the one before it, which must be the one
// actually there. A concurrent writer makes the server refuse the append
// (WrongExpectedVersion); an Exact expectation then becomes *eventstore.VersionConflictError
// with the stream's current version, and Any/StreamExists re-read the tail, re-seal and retry.
//
// # What an event carries
//
// Event id = our event id; event type = our type; data = our Data bytes, unchanged (content
// type JSON when they are JSON, binary otherwise; the server stores the bytes as given). The
// event's metadata is a JSON envelope with what ESDB has no field for: schema_version,
// recorded_at, prev_hash, hash, batch (a digest of the append request) and our Metadata (as
// JSON when it is compact JSON, else base64; either way the exact bytes come back).
//
// RecordedAt is stamped by the adapter at append time (UTC, microseconds), not by the server:
// it is hashed, so it must be known before the write, and the server's created date is only
// known after it. It never goes back within a stream (it is at least the previous event's),
// so hosts' clock differences cannot reorder a stream's times.
//
// # Global position
//
// Record.Position is the event's commit position in $all. KurrentDB gives every event written
// without an explicit transaction (the adapter never uses those) its own commit position, equal
// to its prepare position: positions are unique and increase in commit order but are not dense.
// $all on the leader only shows committed events, so a reader never passes a position that
// could still commit. ReadAll and Head read $all and keep the ledger's streams (the client has
// no server-side filter for reads); Subscribe uses a server-side filtered subscription (see
// Subscribe). Stream reads need the server to send $all positions, which it does from 22.6.
//
// # Idempotency
//
// The server's own idempotency (a cache of recent event ids per stream) is lost on restart and
// under load, and never sees other streams, so the adapter does not rely on it. Instead:
//
//   - Every event id is bound to its stream in the id index before it is written: one stream
//     per id (DefaultIDIndexPrefix+namespace+id) holding one event, appended with NoStream so
//     that the first binding wins. An id bound to another stream is a DuplicateConflictError
//     naming that stream. Bindings are permanent: an id proposed for a stream whose append then
//     failed stays that stream's (correct callers never move an id to another stream). Index
//     streams are outside the ledger's prefixes and never appear in the global log. Cost: one
//     small append per event (issued in parallel), plus a read when the id was bound before.
//   - Since every writer binds before it writes, a stored copy of an event can only be in the
//     bound stream, after the binding in $all. So the stream is searched (newest first) only
//     among events positioned after the earliest binding of the request's ids: for a new
//     request that is nothing (the tail is older than the bindings), for a retry it is what was
//     written since the first attempt. All stored, same content, consecutive, in request order
//     and written by the same request → the original result, whatever the expected version.
//     Any other overlap → DuplicateConflictError. Two copies of one request racing each other
//     are safe: both append with the tail's exact revision, the loser is refused and finds the
//     winner's events.
//   - After a write the adapter reads the events back: that gives every event's position (the
//     write result only has the last one) and catches the case where a concurrent retry of the
//     same request wrote first and the server answered ours idempotently.
//
// # AppendMulti
//
// Servers before KurrentDB 25.1 have no atomic multi-stream append, and the v4 client has
// none at all. The adapter:
//
//  1. validates the request and binds all ids (nothing in the ledger's streams is written);
//  2. reads every part's tail, recognises parts this same request already stored (same event
//     ids and batch digest), refuses any duplicate conflict;
//  3. checks every remaining part's expected version; a conflict here writes nothing;
//  4. appends the remaining parts one by one, in stream-id order, each atomically.
//
// Guarantees: each part is atomic; a request refused in steps 1–3 wrote nothing to the
// ledger's streams; parts are written in a deterministic order (for a registry step the
// document-… parts come before the registry-… part, so a registry never records a hand-over
// whose document events are not all stored). Not guaranteed: atomicity
// across parts. If a part fails in step 4 after another was written (a concurrent writer moved
// that stream in between, the connection or the leader was lost, the context ended), the
// error is a *PartialAppendError, which matches eventstore.ErrUnavailable and its cause (so a
// VersionConflictError is still visible). Readers of the log may see the written parts before
// the rest. Retrying the same request (same streams, same event ids; expected versions may
// change) skips the stored parts, returns their original results and writes the rest; it never
// writes anything twice. The commands layer derives event ids deterministically and re-plans a
// registry step from what is stored, so a retried hand-over completes and never doubles.
//
// # Errors
//
// WrongExpectedVersion → *eventstore.VersionConflictError (with the current version, re-read);
// stream not found → eventstore.ErrNotFound; unavailable, deadline exceeded, aborted, not
// leader → eventstore.Unavailable(err) (the client reconnects to the new leader by itself);
// a deleted stream → ErrStreamDeleted (the ledger never deletes; an operator did); calls after
// Close → ErrClosed. A context that ended is reported as ctx.Err().
//
// # Tampering
//
// The server is append-only through its API: an event cannot be changed in place, so the
// conformance suite's tampering test does not apply (Harness.Tamper is nil).
package esdb
