-- Events, streams and the append function. Unqualified names: the store runs with
-- search_path set to its schema, so one database can hold many stores (one per test).

CREATE TABLE streams (
    stream_id text   PRIMARY KEY,
    version   bigint NOT NULL,
    last_hash bytea  NOT NULL
);

-- Global positions. Taken only inside custody_allocate, under a lock, together with the
-- transaction id, so position order equals transaction-id order (see the package doc).
CREATE SEQUENCE events_position_seq AS bigint MINVALUE 1 START 1 CACHE 1;

CREATE TABLE events (
    position       bigint      PRIMARY KEY,
    txid           bigint      NOT NULL, -- pg_current_xact_id() of the appending transaction
    stream_id      text        NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    schema_version integer     NOT NULL,
    data           bytea       NOT NULL, -- bytea, not jsonb: the bytes are hashed exactly
    metadata       bytea       NOT NULL,
    recorded_at    timestamptz NOT NULL,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    UNIQUE (stream_id, version)
);

-- Readers find, for each in-flight transaction id, the committed rows on either side of it.
CREATE INDEX events_txid_idx ON events (txid, position);

-- custody_allocate assigns this transaction its id and n consecutive positions, atomically
-- with respect to every other allocation: the session advisory lock is held for microseconds,
-- never across the commit, so concurrent appends still share WAL flushes (group commit).
-- With hold = true it takes a transaction-level lock instead, kept until commit: the
-- "serialise commits" design, kept only so the benchmarks can compare the two.
CREATE FUNCTION custody_allocate(n int, hold boolean, OUT xid bigint, OUT first_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    key    bigint := (1668641652::bigint << 32) | 'events_position_seq'::regclass::oid::bigint;
    locked boolean := false;
BEGIN
    IF hold THEN
        PERFORM pg_advisory_xact_lock(key);
        xid := pg_current_xact_id()::text::bigint;
        first_position := nextval('events_position_seq');
        IF n > 1 THEN
            PERFORM setval('events_position_seq', first_position + n - 1);
        END IF;
        RETURN;
    END IF;
    BEGIN
        PERFORM pg_advisory_lock(key);
        locked := true;
        xid := pg_current_xact_id()::text::bigint;
        first_position := nextval('events_position_seq');
        IF n > 1 THEN
            PERFORM setval('events_position_seq', first_position + n - 1);
        END IF;
        PERFORM pg_advisory_unlock(key);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session lock outlives the transaction: release it or every later append hangs.
        IF locked THEN
            PERFORM pg_advisory_unlock(key);
        END IF;
        RAISE;
    END;
END $$;

-- custody_append appends the parts of one request in one transaction (the caller's implicit
-- one). Parts are given in request order; events are flattened in that order, e_counts[i]
-- of them for part i. Expected versions: -1 any, -2 stream exists, >= 0 exact.
--
-- status 0: appended; first_position, recorded_at and per part the version and hash before
--           the append (prev_versions, prev_hashes) and the hash after it (last_hashes).
-- status 1: some event id is already stored; nothing written, the caller resolves it.
-- status 2: part conflict_part is not at its expected version but at conflict_version.
-- SQLSTATE CU001: lost a race creating a stream; rolled back, the caller retries.
CREATE FUNCTION custody_append(
    p_streams text[], p_expected bigint[], p_counts int[],
    e_ids uuid[], e_types text[], e_svs int[], e_data bytea[], e_meta bytea[], hold boolean,
    OUT status int, OUT conflict_part int, OUT conflict_version bigint,
    OUT first_position bigint, OUT recorded_at timestamptz,
    OUT prev_versions bigint[], OUT prev_hashes bytea[], OUT last_hashes bytea[])
LANGUAGE plpgsql AS $$
DECLARE
    n_parts int := cardinality(p_streams);
    n       int := cardinality(e_ids);
    tx      bigint;
    i       int;
    j       int;
    k       int := 0;
    v       bigint;
    h       bytea;
    sb      bytea;
    micros  bytea;
    is_new  boolean[] := array_fill(false, ARRAY[n_parts]);
    e_sids  text[] := array_fill(NULL::text, ARRAY[n]);
    e_vers  bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    e_prev  bytea[] := array_fill(NULL::bytea, ARRAY[n]);
    e_hash  bytea[] := array_fill(NULL::bytea, ARRAY[n]);
BEGIN
    -- Plain reads first: they assign no transaction id and allocate no position, so a refused
    -- append costs no WAL flush and leaves no gap in the positions.
    PERFORM 1 FROM events WHERE event_id = ANY (e_ids) LIMIT 1;
    IF FOUND THEN
        status := 1;
        RETURN;
    END IF;
    SELECT u.ord, coalesce(s.version, 0) INTO conflict_part, conflict_version
      FROM unnest(p_streams, p_expected) WITH ORDINALITY AS u(sid, exp, ord)
      LEFT JOIN streams s ON s.stream_id = u.sid
     WHERE (u.exp = -2 AND s.version IS NULL) OR (u.exp >= 0 AND coalesce(s.version, 0) <> u.exp)
     ORDER BY u.ord LIMIT 1;
    IF FOUND THEN
        status := 2;
        RETURN;
    END IF;

    SELECT a.xid, a.first_position INTO tx, first_position FROM custody_allocate(n, hold) a;

    -- Lock the streams in one global order so that multi-stream appends cannot deadlock.
    prev_versions := array_fill(0::bigint, ARRAY[n_parts]);
    prev_hashes := array_fill(NULL::bytea, ARRAY[n_parts]);
    FOR i IN SELECT u.ord FROM unnest(p_streams) WITH ORDINALITY AS u(sid, ord) ORDER BY u.sid LOOP
        SELECT s.version, s.last_hash INTO v, h FROM streams s WHERE s.stream_id = p_streams[i] FOR UPDATE;
        IF NOT FOUND THEN
            v := 0;
            h := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
            is_new[i] := true;
        END IF;
        -- The plain read above may be stale: re-check under the lock.
        IF (p_expected[i] = -2 AND v = 0) OR (p_expected[i] >= 0 AND v <> p_expected[i]) THEN
            status := 2;
            conflict_part := i;
            conflict_version := v;
            first_position := NULL;
            RETURN; -- nothing written yet; this transaction only leaves a gap in positions
        END IF;
        prev_versions[i] := v;
        prev_hashes[i] := h;
    END LOOP;

    -- After every lock, so a stream's recorded times never go backwards.
    recorded_at := clock_timestamp();
    micros := '\x0000000000000008'::bytea || int8send((extract(epoch FROM recorded_at) * 1000000)::bigint);

    -- The hash chain, exactly as eventstore.CanonicalBytes and eventstore.ChainHash build it.
    last_hashes := array_fill(NULL::bytea, ARRAY[n_parts]);
    FOR i IN 1..n_parts LOOP
        v := prev_versions[i];
        h := prev_hashes[i];
        sb := int8send(octet_length(convert_to(p_streams[i], 'UTF8'))::bigint) || convert_to(p_streams[i], 'UTF8');
        FOR j IN 1..p_counts[i] LOOP
            k := k + 1;
            v := v + 1;
            e_sids[k] := p_streams[i];
            e_vers[k] := v;
            e_prev[k] := h;
            h := sha256(h || '\x637573746f64792e763100'::bytea || sb
                 || '\x0000000000000008'::bytea || int8send(v)
                 || '\x0000000000000010'::bytea || uuid_send(e_ids[k])
                 || int8send(octet_length(convert_to(e_types[k], 'UTF8'))::bigint) || convert_to(e_types[k], 'UTF8')
                 || '\x0000000000000008'::bytea || int8send(e_svs[k]::bigint)
                 || int8send(octet_length(e_data[k])::bigint) || e_data[k]
                 || int8send(octet_length(e_meta[k])::bigint) || e_meta[k]
                 || micros);
            e_hash[k] := h;
        END LOOP;
        last_hashes[i] := h;
    END LOOP;

    FOR i IN SELECT u.ord FROM unnest(p_streams) WITH ORDINALITY AS u(sid, ord) ORDER BY u.sid LOOP
        IF is_new[i] THEN
            INSERT INTO streams (stream_id, version, last_hash)
            VALUES (p_streams[i], prev_versions[i] + p_counts[i], last_hashes[i])
            ON CONFLICT (stream_id) DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'stream % was created concurrently', p_streams[i] USING ERRCODE = 'CU001';
            END IF;
        ELSE
            UPDATE streams SET version = prev_versions[i] + p_counts[i], last_hash = last_hashes[i]
             WHERE stream_id = p_streams[i];
        END IF;
    END LOOP;

    INSERT INTO events (position, txid, stream_id, version, event_id, type, schema_version,
                        data, metadata, recorded_at, prev_hash, hash)
    SELECT first_position + u.ord - 1, tx, u.sid, u.ver, u.id, u.typ, u.sv, u.d, u.m,
           recorded_at, u.ph, u.h
      FROM unnest(e_sids, e_vers, e_ids, e_types, e_svs, e_data, e_meta, e_prev, e_hash)
           WITH ORDINALITY AS u(sid, ver, id, typ, sv, d, m, ph, h, ord);
    status := 0;
END $$;
