-- +goose Up
-- The statuses still undelivered to ИИС ЦОН, in time order (issue 11): the overdue list merges
-- them with the clocks page by page, reading this index until a page is full. Partial, so it
-- holds only what is not delivered yet, however long the outbox grows; the overdue query
-- repeats these terms as literals so that SQLite and PostgreSQL both use it.
CREATE INDEX projections_outbox_iis_con_late ON projections_outbox (created_at, document_id, dedup_key)
    WHERE channel = 'iis_con' AND status <> 'delivered';
