-- Requests from the web form, as they came: the form only writes one row here, the same
-- for an address on the list and one that is not, so its answer time tells nothing. The
-- notice sender turns each into a pending contact and a queued confirmation (or into
-- nothing, for an address already confirmed) and deletes it.
CREATE TABLE subscription_requests (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL,
    name            TEXT,
    organisation    TEXT,
    requested_at    INTEGER  NOT NULL
);
