// Package postgres is the PostgreSQL event store (pgx/v5), for production on one region.
//
// # Tables
//
// One table, events: global position (primary key), stream id and version (unique
// together), the client's event id (unique: the idempotency key, checked in the database, so
// it holds after a restart), type, schema version, data and metadata as bytea (hashed exactly
// as stored), recorded time, previous hash and hash, and the id of the appending transaction.
// Migrations are embedded and applied by Open; the store lives in one schema (WithSchema or
// the URL's search_path), so one database can hold several stores, one per test.
//
// There is no streams table. A stream's head is its last row, one step down the
// (stream_id, version) index, and that unique index is also the optimistic-concurrency guard:
// two appends continuing a stream from the same version insert the same (stream, version) and
// the later one fails. A streams row would cost every append a second write for nothing the
// index does not already give.
//
// # One round trip per append
//
// The client seals the events itself with eventstore.Seal (one implementation of the hash
// chain, the port's), continuing each stream from its head as this process last saw it (from
// its own appends and from ReadStream reading to the end) or, for NoStream, from nothing. The
// database call, one plain SQL statement (append.go), only allocates positions and inserts;
// it also checks that each head it continues from is still stored with that hash. When the guess was wrong (a
// head moved on, a stream was created meanwhile, an event id is stored already) the insert
// fails, and one read fetches the heads and any stored ids: stored ids decide first
// (eventstore.MatchRetry: the original result for an exact re-send, whatever the expected
// version, else a DuplicateConflictError), then the expected versions (VersionConflictError
// with the current version), then the append is sealed again and retried.
//
// RecordedAt is this process's clock (the custody server's, not the database's: the hash
// needs it before the insert), never earlier than the stream's last event, so a stream's times
// do not go backwards across servers with slightly different clocks.
//
// The first design computed the chain in PL/pgSQL with the database's clock and checked
// everything server side; it cost about 150µs of database CPU per single-event append against
// 15µs for a plain INSERT (PL/pgSQL re-initialises each expression once per transaction), and
// reached under 40% of the baseline with 8 writers. The next, custody_append, a PL/pgSQL
// function, paid a subtransaction per call for its EXCEPTION block; the statement replaced it
// (BenchmarkAppend compares the two; migration 0001 still creates the function).
//
// # Global order without a commit-wide lock
//
// A sequence alone is not enough: transactions commit in any order, so a reader could see
// position 8 committed while 7 is still in flight, move past 7 and lose it. The simple cure, a
// lock taken before allocating positions and held until commit, serialises every commit with
// its WAL flush, so concurrent appends can no longer share flushes (group commit): see the
// "serialised" benchmarks, which run exactly that.
//
// Instead, the append statement takes the transaction's id (pg_current_xact_id) and its positions
// together under a session advisory lock that it releases at once, microseconds later, before
// any write. So across committed appends, position order equals transaction-id order, and a
// position missing between two visible events belongs to a transaction whose id lies between
// theirs (or to none still running: a failed append). A reader asks, in the same statement
// and snapshot as its read, which transaction ids are in flight (pg_current_snapshot).
// ReadAll reads, in one round trip and one REPEATABLE READ snapshot, the in-flight ids, the
// transaction id of the event before the page and the page with each event's transaction id,
// and checks the gaps in the page itself: at the first gap that an in-flight transaction could
// own, it stops below it. Head finds, for each in-flight transaction, the
// first event above it (custody_first_after: since txid increases along the primary key, a
// search on that index, galloping back from the end) and the event before that one; positions
// missing between them may be that transaction's. No index on txid is needed, so an append
// writes three index entries per event, not four (migration 0002 dropped the one there was).
// An in-flight transaction that sits at no gap (another store's, or no append at all) is
// ignored. Unlike reading only below pg_snapshot_xmin (the xid8 approach of Marten and
// Eventuous), an unrelated long transaction elsewhere in the cluster does not stall readers:
// it matters only if it happens to sit at a gap, which only a failed append or a crash
// leaves, and only until it ends.
//
// Positions therefore have gaps where an append failed after allocating (a lost race, a
// duplicate, a crash); readers skip a gap once no transaction that could own it is in flight.
//
// # Subscriptions
//
// Subscribe is eventstore.Follow: local commits wake local subscribers at once; other
// processes hear of commits through LISTEN/NOTIFY (coalesced, at most one per 20ms, sent from
// a separate connection with asynchronous commit, because a transaction that notifies takes a
// database-wide lock across its commit); polling covers anything missed.
//
// # Errors
//
// Lost races are retried at once (each one is another append's progress); connection
// failures, serialization failures and deadlocks a few times with backoff (an append is safe to
// retry: a retry of a committed append finds its event ids and returns the original result).
// What still fails is wrapped with eventstore.Unavailable, as is a server-side statement
// timeout. The caller's own context ending is returned as the context's error.
package postgres
