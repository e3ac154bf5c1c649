-- +goose Up
-- Readers no longer look appends up by transaction id (see read.go): ReadAll checks the gaps
-- in the positions it reads against the transactions in flight, and Head finds, for each of
-- those, the first event after it by a search on the primary key. The index on (txid) cost
-- every single-event append a fourth B-tree insert and is dropped. tx_events stays, written as
-- before and no longer read.
DROP INDEX events_tx_idx;

-- custody_first_after returns the position of the first visible event whose transaction id is
-- above tx, or NULL if there is none. Positions follow transaction ids (both are taken under
-- one lock), so txid is increasing along the primary key and a search on it finds the event:
-- galloping back from the end first, since the transactions in flight are usually recent, then
-- halving. STABLE: it reads with the snapshot of the statement that calls it. No EXCEPTION
-- block, so no subtransaction.
-- +goose StatementBegin
CREATE FUNCTION custody_first_after(tx bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    hi   bigint; -- a visible event whose txid > tx
    lo   bigint := 0; -- every visible event at or below lo has txid <= tx
    step bigint := 1;
    p    bigint;
    q    bigint;
    t    bigint;
BEGIN
    SELECT e.position, e.txid INTO hi, t FROM events e ORDER BY e.position DESC LIMIT 1;
    IF hi IS NULL OR t <= tx THEN
        RETURN NULL;
    END IF;
    LOOP
        p := hi - step;
        EXIT WHEN p <= lo;
        SELECT e.position, e.txid INTO q, t FROM events e WHERE e.position <= p ORDER BY e.position DESC LIMIT 1;
        IF q IS NOT NULL AND t > tx THEN
            hi := q;
            step := step * 2;
        ELSE
            lo := p; -- no event at or below p, or the last one's txid <= tx
            EXIT;
        END IF;
    END LOOP;
    WHILE hi - lo > 1 LOOP
        p := lo + (hi - lo) / 2;
        SELECT e.position, e.txid INTO q, t FROM events e
         WHERE e.position > lo AND e.position <= p ORDER BY e.position DESC LIMIT 1;
        IF q IS NOT NULL AND t > tx THEN
            hi := q;
        ELSE
            lo := p;
        END IF;
    END LOOP;
    RETURN hi;
END $$;
-- +goose StatementEnd
