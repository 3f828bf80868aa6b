-- Issue 31: what staff own is changed in the admin and read when it is used, so a change
-- takes effect at once. One row; a NULL column is "as the settings file says".
CREATE TABLE staff_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    organisation_name TEXT,
    organisation_short_name TEXT,
    from_name TEXT,
    from_address TEXT,
    reply_address TEXT,
    updated_at BIGINT NOT NULL
);
-- Each publication's footer; NULL is the default text, written from the current names.
ALTER TABLE publications ADD COLUMN footer_contact TEXT;
ALTER TABLE publications ADD COLUMN footer_about TEXT;
ALTER TABLE publications ADD COLUMN footer_join TEXT;
