// Package projections builds the ledger's read models from the global log, exactly once and
// rebuildably, and serves them: registries with their reconciliation, overdue documents,
// custody intervals and liability, and notifications with their delivery (DOMAIN.md; API.md,
// Reading).
//
// # Wiring (cmd/custody, api)
//
//	p, err := projections.Open(ctx, db, projections.SQLite, store, svc, projections.Options{})
//	go p.Run(ctx)                   // custody serve: elect, follow the log, watch deadlines, deliver
//	api.Config{ReadModels: p.Queries()} // the read endpoints, served by package api
//	registry.MustRegister(p.Metrics()...) // lag, batches, deliveries, watch
//	readyz: p.Ready(ctx); lag: p.Lag(ctx)
//	custody rebuild: st, err := p.Rebuild(ctx)
//
// db is the event store's database (sqlite.Store.DB(), or stdlib.OpenDBFromPool(pool) over
// postgres.Store.Pool()); for a KurrentDB store, a separate SQLite or PostgreSQL database.
// svc is the commands.Service the deadline watch appends through.
//
// # Tables and generations
//
// The global tables are created by embedded goose migrations recorded in goose_projections
// (separate from the event store's, internal/migrate): projections_generations, projections_lease and
// projections_outbox. Read-model tables come in generations: generation g has tables
// rm<g>_documents, rm<g>_intervals, rm<g>_clocks, rm<g>_charges, rm<g>_notifications,
// rm<g>_registries, rm<g>_registry_lines, rm<g>_discrepancies, rm<g>_force_majeure,
// rm<g>_disputes and rm<g>_dispute_documents (see internal/model for their columns: BIGINT and
// TEXT only, times as Unix microseconds, the same SQL on SQLite and PostgreSQL, $n
// placeholders on both, except the writer's ? on SQLite). projections_generations holds each generation's status (building,
// live, retired), its model version and its checkpoint. Queries read the one live generation.
//
// Rebuild creates generation g+1 (status building) with only the indexes the runner itself
// needs, applies the log from position zero into it in large batches, builds the remaining
// indexes, catches up again and, once a batch comes back short (caught up with the head),
// flips the statuses in one transaction: g+1 live, g retired. The API answers from g all along; the
// running runner notices the switch at its next batch and continues on g+1 from its
// checkpoint. g is kept (a query that read its number a moment before the switch still finds
// its tables) and dropped by the next rebuild. A runner of newer code (another model version)
// rebuilds by itself.
//
// A rebuild writes rows back rather than through: its generation is read by no one until the
// switch, so a stream's rows are written when the stream leaves the applier's cache, before a
// batch declaring force majeure queries the tables, and when the build has caught up; rows
// new to the generation are copied straight into its tables on PostgreSQL (COPY, no conflict
// check). A batch that fails on its events (a projection panic, rows the database refuses)
// empties the generation and builds it again writing through, where the failure is narrowed
// down and quarantined as in live batches. Stored events are decoded in one lenient pass
// (domain.DecodeStored: the write side validated them), in live batches and rebuilds alike.
// Options.RebuildUnlogged builds UNLOGGED tables, made LOGGED before the switch.
//
// What else makes a rebuild cheap: it looks up which of a batch's notifications the outbox
// holds already (almost all, after the first build) and encodes and enqueues only the others;
// a batch of many (a first build) goes into the outbox through COPY and one INSERT ... SELECT
// on PostgreSQL. Its batches commit without waiting for their WAL flush (synchronous_commit
// off): the generation is never resumed, and the synchronous switch makes them durable. The
// deferred indexes and VACUUM (ANALYZE) run on two connections at once on PostgreSQL, the
// outbox vacuumed only when the build filled it. Force-majeure periods are indexed by region
// once per set (model.Env.Indexed), so a stream's clocks judge only its region's and
// everywhere's periods, and the calendar counts working days from tables built with it.
//
// # Exactly once
//
// The runner reads a batch after the generation's checkpoint, computes each touched stream's
// rows before and after it (rows are a pure function of the stream's events and the
// force-majeure periods declared so far, internal/model) and, in one transaction, first moves
// the checkpoint from exactly its old value (an UPDATE ... WHERE position = old, which also
// takes the row's lock), then writes only the rows that changed and inserts the new
// notifications into the outbox (ON CONFLICT DO NOTHING on the dedup key), then commits. A
// crash before the commit leaves nothing; after it, everything. A second runner that read the
// same checkpoint finds it moved and applies nothing. Because rows depend only on the log
// prefix, small live batches and large rebuild batches give the same tables, byte for byte.
//
// One runner is active per database: on PostgreSQL, whoever holds the session advisory lock
// (pg_try_advisory_lock(1886547818, hashtext(current_schema()))) on a dedicated connection;
// the server releases it when that process dies, and a standby, retrying every
// ElectionRetry, takes over within about a second. On SQLite, a lease row renewed every
// LeaseTTL/3 (a standby takes over after LeaseTTL). A leader whose renewal is late (it waits
// for the write lock) is not Leading from its lease's expiry on, since a standby may take the
// lease then; it goes on once the renewal gets through, or stands down if the lease was taken.
//
// The deadline watch (package watch) appends DeadlineMissed through commands with event ids
// derived from document, rule and deadline, so a restart or a second watch appends nothing
// twice. The outbox (package notify) is delivered at least once, each message carrying its
// dedup key; a crash between publishing and marking a row delivered repeats one message with
// the same key, which consumers drop.
//
// # Throughput
//
// Applying is a pipeline: a reader goroutine reads the next batch and decodes it on every CPU
// while the current batch is planned (streams projected in parallel, results assembled in
// stream order) and the previous one commits; commits stay strictly in order, and a batch
// that declares force majeure waits for the commits before it, because it queries the tables
// for the documents the period moves (those of its region with a clock overlapping it). A
// stream's events and rows stay cached (CacheStreams) so a batch rarely reads a stream back.
// Rows are written with multi-row statements; on PostgreSQL a table with many rows in a batch
// goes through COPY into a session staging table and one INSERT ... SELECT ... ON CONFLICT;
// on SQLite the writer uses anonymous ? placeholders (SQLite resolves $n by name, quadratic
// in a wide statement) and a 64 MB page cache.
//
// # Lag
//
// Lag reports positions and seconds behind the head; Metrics exports them
// (custody_projection_lag_positions, custody_projection_lag_seconds) with the apply delay of
// each event (custody_projection_apply_delay_seconds). Ready fails until a generation first
// met (on start, after a rebuild's switch) has reached the head of that moment, and then
// beyond Options.ReadyMaxLagSecs or ReadyMaxLagCount.
//
// # Poison events
//
// No event stops the runner (quarantine.go). One that does not decode is quarantined where it
// is met; when a batch fails otherwise (a panic while planning it, rows the database refuses),
// its events are applied again one per batch and the one that fails alone is quarantined: a
// row of the generation's quarantine table (position, stream, version, type, error; never the
// payload), skipped by every later batch and read-back of its stream. Quarantine lists them,
// custody_projection_quarantined counts them; a rebuild of fixed code projects them.
package projections
