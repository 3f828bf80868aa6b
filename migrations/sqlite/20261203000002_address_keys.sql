-- An address is unique by its domain's A-label from now on (issue 17): user@bücher.example
-- and user@xn--bcher-kva.example are one contact. Keys stored before were the address
-- lower-cased as written; the service rewrites them when it starts (IDNA is not SQL),
-- once, in one transaction, while this row says that is still to do.
CREATE TABLE data_migrations (
    name            TEXT    PRIMARY KEY,
    done_at         INTEGER
);
INSERT INTO data_migrations (name) VALUES ('address_keys');

-- Contacts that the rewrite found to be the same mailbox as another, kept as they were
-- (never merged: each has its own consent and history) until staff remove one.
CREATE TABLE address_duplicates (
    contact_id      INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    same_as         INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    found_at        INTEGER NOT NULL
);
