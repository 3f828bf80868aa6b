-- Initial schema (PostgreSQL). migrations/sqlite/ holds the same schema for SQLite;
-- tests/schema.rs checks that the two agree table by table, column by column.
-- Times are integers (Unix milliseconds, UTC): sqlx's Any driver reads no timestamp type.

CREATE TABLE contacts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT    NOT NULL,            -- normalised: trimmed, domain lower-cased
    email_key       TEXT    NOT NULL,            -- lower-cased address: unique identity
    name            TEXT,
    organisation    TEXT,
    search_text     TEXT    NOT NULL,            -- lower-cased email, name, organisation
    status          TEXT    NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')),
    consent_source  TEXT    NOT NULL
        CHECK (consent_source IN ('web', 'email-request', 'import', 'staff')),
    consent_at      BIGINT  NOT NULL,
    consent_note    TEXT,
    confirmed_at    BIGINT,
    unsubscribed_at BIGINT,
    bounce_count    BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key);
CREATE INDEX contacts_status ON contacts (status, email_key);

CREATE TABLE issues (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    period          TEXT    NOT NULL,
    preheader       TEXT    NOT NULL,
    audience        TEXT,
    issue_date      TEXT,                        -- as written in the front matter
    source          TEXT    NOT NULL,            -- the Markdown file as imported
    status          TEXT    NOT NULL
        CHECK (status IN ('draft', 'sending', 'sent', 'cancelled')),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    send_started_at BIGINT,
    sent_at         BIGINT 
);
CREATE UNIQUE INDEX issues_slug ON issues (slug);

-- One row per (issue, contact): both the work queue and the record of who got what.
CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id        BIGINT  NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    contact_id      BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL
        CHECK (status IN ('queued', 'sent', 'failed', 'skipped', 'cancelled')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    message_id      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    sent_at         BIGINT 
);
CREATE UNIQUE INDEX deliveries_issue_contact ON deliveries (issue_id, contact_id);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_contact ON deliveries (contact_id);

-- Confirmation and unsubscribe tokens. Only a hash is stored; the mail carries the secret.
CREATE TABLE tokens (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      TEXT    NOT NULL,
    contact_id      BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    purpose         TEXT    NOT NULL CHECK (purpose IN ('confirm', 'unsubscribe')),
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT,
    used_at         BIGINT 
);
CREATE UNIQUE INDEX tokens_hash ON tokens (token_hash);
CREATE INDEX tokens_contact ON tokens (contact_id, purpose);

CREATE TABLE staff_users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,            -- argon2 PHC string
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX staff_users_username ON staff_users (username);

-- What staff did. `subject` names a contact by its email_key; erasing the contact
-- replaces it. `detail` names changed fields, never personal values.
CREATE TABLE audit_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              BIGINT  NOT NULL,
    actor           TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    subject         TEXT,
    detail          TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject);
