-- Inbound mail: every message read (by pipe, IMAP or the admin API) is kept with what
-- it was taken for and what was done, so nothing is dropped and a request's consent
-- has its evidence. raw_sha256 makes handling a message twice (an MTA retry, a poll
-- interrupted before the move) a no-op.
CREATE TABLE inbound_messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at     BIGINT  NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('stdin', 'imap', 'api')),
    raw_sha256      TEXT    NOT NULL,
    raw             BYTEA   NOT NULL,
    size            BIGINT  NOT NULL,
    from_address    TEXT,
    subject         TEXT,
    message_id      TEXT,
    sent_at         BIGINT,                     -- the Date header
    kind            TEXT    NOT NULL
        CHECK (kind IN ('subscribe', 'unsubscribe', 'bounce', 'automatic', 'loop', 'other', 'unreadable')),
    result          TEXT    NOT NULL,            -- what was done, for staff
    contact_id      BIGINT REFERENCES contacts (id) ON DELETE CASCADE,
    delivery_id     BIGINT REFERENCES deliveries (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX inbound_messages_raw ON inbound_messages (raw_sha256);
CREATE INDEX inbound_messages_kind ON inbound_messages (kind, id);
CREATE INDEX inbound_messages_contact ON inbound_messages (contact_id);
CREATE INDEX inbound_messages_delivery ON inbound_messages (delivery_id);

-- A delivery whose hard bounce has been counted (a second report for it counts nothing).
ALTER TABLE deliveries ADD COLUMN bounced_at BIGINT;
-- Reports that name the bounced message by its Message-ID.
CREATE INDEX deliveries_message_id ON deliveries (message_id);

-- How a pending request was made, applied to the contact when the link is used.
ALTER TABLE tokens ADD COLUMN consent_source TEXT;
ALTER TABLE tokens ADD COLUMN consent_note TEXT;
