-- +goose Up
-- Events and the append function. Unqualified names: the store runs with search_path set to
-- its schema, so one database can hold many stores (one per test).

-- Global positions. Taken only inside custody_append, under a lock, together with the
-- transaction id, so that position order equals transaction-id order (see the package doc).
CREATE SEQUENCE events_position_seq AS bigint MINVALUE 1 START 1 CACHE 1;

CREATE TABLE events (
    position       bigint      PRIMARY KEY,
    txid           bigint      NOT NULL, -- pg_current_xact_id() of the appending transaction
    tx_events      integer,              -- on the first event of an append only: how many it has
    stream_id      text        COLLATE "C" NOT NULL, -- opaque ids: byte order, cheap compares
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL UNIQUE, -- the idempotency key
    type           text        NOT NULL,
    schema_version integer     NOT NULL,
    data           bytea       NOT NULL, -- bytea, not jsonb: the bytes are hashed exactly
    metadata       bytea       NOT NULL,
    recorded_at    timestamptz NOT NULL,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    -- Also the optimistic-concurrency guard: two appends that continue a stream from the
    -- same version collide here, and the later one fails.
    UNIQUE (stream_id, version)
);

-- Readers find, for each in-flight transaction id, the committed appends on either side of
-- it. One entry per append, not per event: a batch of 100 pays for one.
CREATE INDEX events_tx_idx ON events (txid) WHERE tx_events IS NOT NULL;

-- custody_append inserts the events of one append (all its streams) in the caller's
-- transaction and returns the first of the positions it gives them. The client has checked
-- the expected versions against the streams' heads and chained the hashes; this function
-- only allocates positions and guards the heads:
--   e_offs        each event's offset from the first position (request order), while the
--                 rows come sorted by stream, so concurrent appends lock index entries in
--                 one order and cannot deadlock;
--   h_sids/h_vers/h_hashes  the head (version, hash) each existing stream continues from; if
--                 any is no longer there, nothing is inserted and SQLSTATE CU001 is raised.
-- A stream that moved on, or a new stream created meanwhile, makes the insert fail on
-- UNIQUE (stream_id, version); an event id stored already fails on UNIQUE (event_id).
--
-- With hold the position lock is kept until commit: the "serialise commits" design, kept
-- only so that the benchmarks can compare it.
--
-- Generic plans: custom plans were re-planned on every call, and planning cost more than
-- executing.
-- +goose StatementBegin
CREATE FUNCTION custody_append(
    e_offs int[], e_sids text[], e_vers bigint[], e_ids uuid[], e_types text[], e_svs int[],
    e_data bytea[], e_meta bytea[], e_prev bytea[], e_hash bytea[], p_at timestamptz,
    h_sids text[], h_vers bigint[], h_hashes bytea[], hold boolean)
RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n        int := cardinality(e_ids);
    lock_key bigint := (1668641652::bigint << 32) | 'events_position_seq'::regclass::oid::bigint;
    locked   boolean := false;
    tx       bigint;
    first    bigint;
    inserted bigint;
BEGIN
    -- This transaction's id and its positions, atomically with respect to every other
    -- allocation, before anything else gives the transaction an id. The session lock is
    -- held for microseconds, never across the commit, so concurrent appends still share WAL
    -- flushes.
    IF hold THEN
        PERFORM pg_advisory_xact_lock(lock_key);
        tx := pg_current_xact_id()::text::bigint;
        first := nextval('events_position_seq');
        IF n > 1 THEN
            PERFORM setval('events_position_seq', first + n - 1);
        END IF;
    ELSE
        BEGIN
            PERFORM pg_advisory_lock(lock_key);
            locked := true;
            tx := pg_current_xact_id()::text::bigint;
            first := nextval('events_position_seq');
            IF n > 1 THEN
                PERFORM setval('events_position_seq', first + n - 1);
            END IF;
            PERFORM pg_advisory_unlock(lock_key);
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            -- A session lock outlives the transaction: release it or every later append hangs.
            IF locked THEN
                PERFORM pg_advisory_unlock(lock_key);
            END IF;
            RAISE;
        END;
    END IF;

    IF n = 1 THEN -- the common case, without unnest's tuplestore
        INSERT INTO events (position, txid, tx_events, stream_id, version, event_id, type, schema_version,
                            data, metadata, recorded_at, prev_hash, hash)
        SELECT first, tx, 1, e_sids[1], e_vers[1], e_ids[1], e_types[1], e_svs[1], e_data[1], e_meta[1],
               p_at, e_prev[1], e_hash[1]
         WHERE cardinality(h_sids) = 0
            OR EXISTS (SELECT 1 FROM events e
                        WHERE e.stream_id = h_sids[1] AND e.version = h_vers[1] AND e.hash = h_hashes[1]);
    ELSE
        INSERT INTO events (position, txid, tx_events, stream_id, version, event_id, type, schema_version,
                            data, metadata, recorded_at, prev_hash, hash)
        SELECT first + u.off, tx, CASE WHEN u.off = 0 THEN n END, u.sid, u.ver, u.id, u.typ, u.sv, u.d, u.m, p_at, u.ph, u.h
          FROM unnest(e_offs, e_sids, e_vers, e_ids, e_types, e_svs, e_data, e_meta, e_prev, e_hash)
               AS u(off, sid, ver, id, typ, sv, d, m, ph, h)
         WHERE NOT EXISTS (
                 SELECT 1 FROM unnest(h_sids, h_vers, h_hashes) AS x(sid, ver, hash)
                  WHERE NOT EXISTS (SELECT 1 FROM events e
                                     WHERE e.stream_id = x.sid AND e.version = x.ver AND e.hash = x.hash));
    END IF;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted <> n THEN
        RAISE EXCEPTION 'a stream is no longer at the version this append continues from'
            USING ERRCODE = 'CU001';
    END IF;
    RETURN first;
END $$;
-- +goose StatementEnd
