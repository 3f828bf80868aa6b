-- A delivery report that claims a delivery of ours without its signed bounce address is
-- recorded as 'forged' (and counts nothing). SQLite cannot change a CHECK constraint in
-- place, so the table is rebuilt with the same columns and indexes.
CREATE TABLE inbound_messages_new (
    id              INTEGER PRIMARY KEY,
    received_at     INTEGER NOT NULL,
    channel         TEXT    NOT NULL CHECK (channel IN ('stdin', 'imap', 'api')),
    raw_sha256      TEXT    NOT NULL,
    raw             BLOB    NOT NULL,
    size            INTEGER NOT NULL,
    from_address    TEXT,
    subject         TEXT,
    message_id      TEXT,
    sent_at         INTEGER,                     -- the Date header
    kind            TEXT    NOT NULL
        CHECK (kind IN ('subscribe', 'unsubscribe', 'bounce', 'forged', 'automatic', 'loop', 'other', 'unreadable')),
    result          TEXT    NOT NULL,            -- what was done, for staff
    contact_id      INTEGER REFERENCES contacts (id) ON DELETE CASCADE,
    delivery_id     INTEGER REFERENCES deliveries (id) ON DELETE CASCADE
);
INSERT INTO inbound_messages_new SELECT * FROM inbound_messages;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_new RENAME TO inbound_messages;
CREATE UNIQUE INDEX inbound_messages_raw ON inbound_messages (raw_sha256);
CREATE INDEX inbound_messages_kind ON inbound_messages (kind, id);
CREATE INDEX inbound_messages_contact ON inbound_messages (contact_id);
CREATE INDEX inbound_messages_delivery ON inbound_messages (delivery_id);
