-- What the staff pages of contacts need: who recorded a consent and where it came
-- from, counts per status without counting a million rows, a search index for any
-- part of an address or name, and inbound mail found by its sender.

-- Who recorded the consent (a staff account, a command-line user, an import's actor)
-- and where it came from ("kontakter.csv, linje 12", a request's Message-ID).
ALTER TABLE contacts ADD COLUMN consent_by TEXT;
ALTER TABLE contacts ADD COLUMN consent_ref TEXT;

-- Contacts per status, kept by triggers (as delivery_counts): the contact list shows
-- them on every page.
CREATE TABLE contact_counts (
    status      TEXT    PRIMARY KEY,
    n           INTEGER NOT NULL
);
INSERT INTO contact_counts (status, n)
    SELECT s.status, (SELECT COUNT(*) FROM contacts c WHERE c.status = s.status)
    FROM (SELECT 'pending' AS status UNION ALL SELECT 'confirmed'
          UNION ALL SELECT 'unsubscribed' UNION ALL SELECT 'bounced') s;

CREATE TRIGGER contacts_counted_insert AFTER INSERT ON contacts
BEGIN
    UPDATE contact_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER contacts_counted_delete AFTER DELETE ON contacts
BEGIN
    UPDATE contact_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER contacts_counted_update AFTER UPDATE OF status ON contacts
    WHEN OLD.status <> NEW.status
BEGIN
    UPDATE contact_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE contact_counts SET n = n + 1 WHERE status = NEW.status;
END;

-- Any part of search_text (already lower-cased in Rust) found through trigrams:
-- `LIKE '%ndersen%'` on this table reads the index instead of every contact. The
-- table holds no copy of the text (external content); triggers keep it in step.
CREATE VIRTUAL TABLE contacts_search USING fts5(
    search_text, content = 'contacts', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO contacts_search (contacts_search) VALUES ('rebuild');
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contacts_search (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts
BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search_text)
        VALUES ('delete', OLD.id, OLD.search_text);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text ON contacts
BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search_text)
        VALUES ('delete', OLD.id, OLD.search_text);
    INSERT INTO contacts_search (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;

-- A contact's page and an erasure find the mail an address sent.
CREATE INDEX inbound_messages_from ON inbound_messages (lower(from_address));

-- Mail kept for staff: when someone dealt with it, and who.
ALTER TABLE inbound_messages ADD COLUMN handled_at INTEGER;
ALTER TABLE inbound_messages ADD COLUMN handled_by TEXT;

-- A disabled staff account cannot sign in; its sessions end when it is disabled.
ALTER TABLE staff_users ADD COLUMN disabled_at INTEGER;

-- A second factor: a TOTP secret (RFC 6238; set when enrolment starts, in force once
-- a code from it was typed), the last time step used (a code works once), and ten
-- single-use recovery codes stored as their SHA-256.
ALTER TABLE staff_users ADD COLUMN totp_secret TEXT;
ALTER TABLE staff_users ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE staff_users ADD COLUMN totp_last_step INTEGER;
CREATE TABLE staff_recovery_codes (
    id              INTEGER PRIMARY KEY,
    staff_user_id   INTEGER NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    code_hash       TEXT    NOT NULL,
    used_at         INTEGER
);
CREATE INDEX staff_recovery_codes_user ON staff_recovery_codes (staff_user_id);
-- A session that has passed the password but not yet the second factor (1: a code is
-- due; 2: enrolment is due, as staff_require_totp asks): it opens no staff page.
ALTER TABLE staff_sessions ADD COLUMN second_factor_due INTEGER NOT NULL DEFAULT 0;
