// Package postgres is the PostgreSQL event store (pgx/v5), for production on one region.
//
// # Tables
//
// events holds one row per event: global position (primary key), stream id and version
// (unique together), the client's event id (unique: the idempotency key, checked in the
// database, so it holds after a restart), type, schema version, data and metadata as bytea
// (hashed exactly as stored), recorded time, previous hash and hash, and the id of the
// transaction that wrote it. streams holds each stream's current version and last hash, so
// an expected-version check is one primary-key lookup. Migrations are embedded and applied
// by Open; the store lives in one schema (WithSchema or the URL's search_path), so one
// database can hold several stores, one per test.
//
// # One round trip per append
//
// An append is a single call of the SQL function custody_append, in the statement's implicit
// transaction: it looks for already-stored event ids and checks the expected versions with
// plain reads (a refused append takes no transaction id, allocates no position and needs no
// WAL flush), allocates positions, locks the streams' rows in name order (no deadlocks
// between multi-stream appends), re-checks the versions under the locks, takes the recorded
// time from the database's clock after the locks (so a stream's times never go backwards),
// computes the hash chain with sha256() exactly as eventstore.ChainHash does, and inserts.
// The Go side checks that the database's chain matches eventstore.ChainHash. A request some
// of whose ids are stored is resolved by eventstore.MatchRetry against the stored rows.
//
// # Global order without a commit-wide lock
//
// A sequence alone is not enough: transactions commit in any order, so a reader could see
// position 8 committed while 7 is still in flight, move past 7 and lose it. The simple cure,
// a lock taken before allocating positions and held until commit, serialises every commit
// with its WAL flush, so concurrent appends can no longer share flushes (group commit); on
// this project's 2-core test machine it gave about a third of what the unlocked design gives
// with 8 writers (see the benchmarks: Append/serialised).
//
// Instead, custody_append takes the transaction's id (pg_current_xact_id) and its positions
// together under a session advisory lock that it releases at once, microseconds later, before
// any write. So across committed transactions position order equals transaction-id order. A
// reader asks, in the same statement and snapshot as its read, which transaction ids are in
// flight (pg_current_snapshot); for each one it finds the committed rows with the nearest
// lower and higher transaction ids (index on txid). If positions are missing between those
// two rows, the in-flight transaction may own them, and the reader stops below the gap; if
// none are missing, that transaction has no position below what is visible (it belongs to
// another store or is no append) and is ignored. Head uses the same cut. Unlike reading only
// below pg_snapshot_xmin (the xid8 approach of Marten and Eventuous), an unrelated long
// transaction elsewhere in the cluster does not stall readers: it matters only if it happens
// to sit exactly at a gap, which only a failed append or a crash leaves.
//
// Positions have gaps where an append failed after allocating (a lost race, a crash); readers
// skip a gap once no transaction that could own it is in flight.
//
// # Subscriptions
//
// Subscribe is eventstore.Follow: local commits wake local subscribers at once; other
// processes hear of commits through LISTEN/NOTIFY (coalesced, sent from a separate connection
// with asynchronous commit, because a transaction that notifies takes a database-wide lock
// across its commit); polling covers anything missed.
//
// # Errors
//
// Unique violations from races, serialization failures, deadlocks and connection errors are
// retried internally a few times (an append is safe to retry: a retry of a committed append
// finds its event ids and returns the original result); what still fails is wrapped with
// eventstore.Unavailable, as is a server-side statement timeout. The caller's own context
// ending is returned as the context's error.
package postgres
