package main

// The schema the hand-written migration runners made before goose (main at a2d1466), written
// out as SQL so that TestMigrateForwardFromEarlierRunners builds a database of that shape
// (comments dropped; statements verbatim). Do not edit: this is history.

// The runners' own bookkeeping.
const (
	legacySQLiteVersions = `CREATE TABLE schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL,
    PRIMARY KEY (component, version)
);
INSERT INTO schema_migrations VALUES ('eventstore', 1, '0001_events.sql', '2026-12-01T10:00:00Z');
`
	legacyPostgresVersions = `CREATE TABLE schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_migrations (version, name) VALUES (1, '0001_events.sql');
`
	legacyProjectionsVersions = `CREATE TABLE projections_migrations (
		version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
INSERT INTO projections_migrations VALUES (1, '0001_projections.sql', 1764583200000000);
`
)

const legacySQLiteEvents = `CREATE TABLE streams (
    stream_id TEXT    NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version > 0),
    last_hash BLOB    NOT NULL
);

CREATE TABLE events (
    position       INTEGER NOT NULL PRIMARY KEY,
    stream_id      TEXT    NOT NULL REFERENCES streams (stream_id),
    version        INTEGER NOT NULL CHECK (version > 0),
    event_id       BLOB    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    metadata       BLOB,
    recorded_at    INTEGER NOT NULL,
    prev_hash      BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    UNIQUE (stream_id, version)
);
`

const legacyPostgresEvents = `CREATE SEQUENCE events_position_seq AS bigint MINVALUE 1 START 1 CACHE 1;

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
    UNIQUE (stream_id, version)
);

CREATE INDEX events_tx_idx ON events (txid) WHERE tx_events IS NOT NULL;

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
`

const legacyProjections = `CREATE TABLE projections_generations (
    gen           BIGINT NOT NULL PRIMARY KEY,
    status        TEXT   NOT NULL,
    model_version BIGINT NOT NULL,
    position      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    switched_at   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE projections_lease (
    name       TEXT   NOT NULL PRIMARY KEY,
    owner      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE projections_outbox (
    dedup_key       TEXT   NOT NULL PRIMARY KEY,
    document_id     TEXT   NOT NULL,
    channel         TEXT   NOT NULL,
    position        BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    payload         TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT   NOT NULL DEFAULT '',
    enqueued_at     BIGINT NOT NULL,
    delivered_at    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX projections_outbox_due ON projections_outbox (status, next_attempt_at, position);
CREATE INDEX projections_outbox_document ON projections_outbox (document_id);
`

const legacySQLiteKeys = `CREATE TABLE IF NOT EXISTS api_keys (
    id            TEXT PRIMARY KEY,
    secret_sha256 BLOB    NOT NULL,
    org           TEXT    NOT NULL,
    unit          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL, -- Unix microseconds, UTC
    revoked_at    INTEGER           -- NULL while the key is live
);
`

const legacyPostgresKeys = `CREATE TABLE IF NOT EXISTS api_keys (
    id            TEXT PRIMARY KEY,
    secret_sha256 BYTEA       NOT NULL,
    org           TEXT        NOT NULL,
    unit          TEXT        NOT NULL,
    role          TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
`
