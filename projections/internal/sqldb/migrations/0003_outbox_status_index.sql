-- +goose Up
-- The console's notifications filtered by delivery status (and channel) read the outbox in
-- page order (position, dedup_key) from these instead of every notification; the first also
-- covers the counts by channel and status (with attempts, for the retried ones).
CREATE INDEX projections_outbox_status_channel ON projections_outbox (status, channel, position, dedup_key, attempts);
CREATE INDEX projections_outbox_status_position ON projections_outbox (status, position, dedup_key);
