-- Mails that answer a request (the double opt-in confirmation, the leave link for an
-- unsubscribe by mail that could not be verified) are queued here and sent in the
-- background: the web form answers every request alike, whatever it leads to, and a
-- relay that is away delays a confirmation instead of losing it. The per-address and
-- hourly caps count these rows, checked and written in one transaction.
CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('confirm', 'leave')),
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
    created_at      INTEGER  NOT NULL,
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at INTEGER  NOT NULL,
    lease_until     INTEGER,
    sent_at         INTEGER,
    last_error      TEXT,
    -- What a confirmation link carries into the consent once it is used.
    consent_source  TEXT,
    consent_note    TEXT
);
CREATE INDEX notices_due ON notices (status, next_attempt_at);
CREATE INDEX notices_contact ON notices (contact_id, created_at);
CREATE INDEX notices_created ON notices (created_at);
CREATE INDEX notices_sent ON notices (sent_at);
