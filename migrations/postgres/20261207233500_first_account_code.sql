-- The one-time set-up code of a new installation (issue 31): `serve` makes it while no
-- staff account exists and prints it, `doctor` repeats it (so it is kept readable, like
-- the key file beside the database), and it makes the first account, an administrator,
-- once. It is removed in the same transaction as any account is made.
CREATE TABLE first_account_code (
    id          BIGINT  NOT NULL PRIMARY KEY CHECK (id = 1),
    code        TEXT    NOT NULL,
    made_at     BIGINT  NOT NULL
);
