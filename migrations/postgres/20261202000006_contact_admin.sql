-- What the staff pages of contacts need: who recorded a consent and where it came
-- from, counts per status without counting a million rows, a search index for any
-- part of an address or name, and inbound mail found by its sender.

-- Who recorded the consent (a staff account, a command-line user, an import's actor)
-- and where it came from ("kontakter.csv, linje 12", a request's Message-ID).
ALTER TABLE contacts ADD COLUMN consent_by TEXT;
ALTER TABLE contacts ADD COLUMN consent_ref TEXT;

-- Contacts per status, kept by statement-level triggers over the transition tables
-- (as delivery_counts): the contact list shows them on every page, and an import of
-- a million rows updates them once.
CREATE TABLE contact_counts (
    status      TEXT    PRIMARY KEY,
    n           BIGINT  NOT NULL
);
INSERT INTO contact_counts (status, n)
    SELECT s.status, (SELECT COUNT(*) FROM contacts c WHERE c.status = s.status)
    FROM (VALUES ('pending'), ('confirmed'), ('unsubscribed'), ('bounced')) AS s (status);

CREATE FUNCTION contacts_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Rows in status order, so two transactions take their locks in the same order.
    IF TG_OP = 'INSERT' THEN
        UPDATE contact_counts c SET n = c.n + d.n FROM (
            SELECT status, COUNT(*) AS n FROM new_rows GROUP BY status ORDER BY status
        ) d WHERE c.status = d.status;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE contact_counts c SET n = c.n - d.n FROM (
            SELECT status, COUNT(*) AS n FROM old_rows GROUP BY status ORDER BY status
        ) d WHERE c.status = d.status;
    ELSE
        UPDATE contact_counts c SET n = c.n + d.n FROM (
            SELECT status, SUM(delta) AS n FROM (
                SELECT status, -1 AS delta FROM old_rows
                UNION ALL SELECT status, 1 FROM new_rows
            ) changes GROUP BY status HAVING SUM(delta) <> 0 ORDER BY status
        ) d WHERE c.status = d.status;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_counted_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_counted();
CREATE TRIGGER contacts_counted_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_counted();
CREATE TRIGGER contacts_counted_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_counted();

-- Any part of search_text (already lower-cased in Rust) found through trigrams:
-- `LIKE '%ndersen%'` reads this index instead of every contact.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_search_trgm ON contacts USING gin (search_text gin_trgm_ops);

-- A contact's page and an erasure find the mail an address sent.
CREATE INDEX inbound_messages_from ON inbound_messages (lower(from_address));

-- Mail kept for staff: when someone dealt with it, and who.
ALTER TABLE inbound_messages ADD COLUMN handled_at BIGINT;
ALTER TABLE inbound_messages ADD COLUMN handled_by TEXT;

-- A disabled staff account cannot sign in; its sessions end when it is disabled.
ALTER TABLE staff_users ADD COLUMN disabled_at BIGINT;

-- A second factor: a TOTP secret (RFC 6238; set when enrolment starts, in force once
-- a code from it was typed), the last time step used (a code works once), and ten
-- single-use recovery codes stored as their SHA-256.
ALTER TABLE staff_users ADD COLUMN totp_secret TEXT;
ALTER TABLE staff_users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE staff_users ADD COLUMN totp_last_step BIGINT;
CREATE TABLE staff_recovery_codes (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_user_id   BIGINT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    code_hash       TEXT    NOT NULL,
    used_at         BIGINT
);
CREATE INDEX staff_recovery_codes_user ON staff_recovery_codes (staff_user_id);
-- A session that has passed the password but not yet the second factor (1: a code is
-- due; 2: enrolment is due, as staff_require_totp asks): it opens no staff page.
ALTER TABLE staff_sessions ADD COLUMN second_factor_due BIGINT NOT NULL DEFAULT 0;
