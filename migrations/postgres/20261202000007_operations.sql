-- Operations (issue 15): backups, retention, the suppression list.

-- The last backup (and other runs) are found by action, newest first.
CREATE INDEX audit_log_action ON audit_log (action, at);

-- The metrics' age of the oldest due delivery: the first entry of a partial index that
-- holds only what is queued (the claim index, by id, cannot answer it without a sort).
CREATE INDEX deliveries_queued_due ON deliveries (next_attempt_at) WHERE status = 'queued';

-- An inbound message keeps what it was taken for and what was done; its bytes are
-- removed after inbound_retention_days, and this says when.
ALTER TABLE inbound_messages ADD COLUMN raw_removed_at BIGINT;
CREATE INDEX inbound_messages_received ON inbound_messages (received_at);

-- Addresses erased at the person's request, remembered only as a keyed hash (HMAC with
-- token_key) so that a later import or staff add can warn without the address kept.
CREATE TABLE erased_addresses (
    address_hash    TEXT    PRIMARY KEY,
    erased_at       BIGINT  NOT NULL
);
