-- Administrators: only they add, disable and enable accounts, set another's password
-- or reset their second factor. An existing installation keeps its earliest account as
-- one, so someone can still manage accounts after the upgrade.
ALTER TABLE staff_users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
-- Where to tell the owner that someone else changed their account (optional; a user
-- name that is an address is used when this is empty).
ALTER TABLE staff_users ADD COLUMN email TEXT;
-- Someone else reset the account's second factor: it sets one up again at its next
-- sign-in, whether or not `staff_require_totp` asks every account to.
ALTER TABLE staff_users ADD COLUMN must_enrol INTEGER NOT NULL DEFAULT 0;
UPDATE staff_users SET is_admin = 1 WHERE id = (SELECT MIN(id) FROM staff_users);

-- Who made an account, gave it a password or reset its second factor: an approval by
-- an account the requester made or changed (or that anyone changed in the last 24
-- hours) does not count. `by_staff_user_id` is NULL for the command line.
CREATE TABLE staff_account_changes (
    id                  INTEGER PRIMARY KEY,
    staff_user_id       INTEGER NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    kind                TEXT    NOT NULL
                        CHECK (kind IN ('created', 'password', 'second_factor_reset')),
    by_staff_user_id    INTEGER REFERENCES staff_users (id) ON DELETE SET NULL,
    at                  INTEGER NOT NULL
);
CREATE INDEX staff_account_changes_user ON staff_account_changes (staff_user_id, at);

-- What happened before this version is in the audit log: accounts made and passwords
-- set by one web account for another count as well (a back-door account made before
-- the upgrade must not approve its maker's sends).
INSERT INTO staff_account_changes (staff_user_id, kind, by_staff_user_id, at)
    SELECT u.id, CASE WHEN a.action = 'staff.add' THEN 'created' ELSE 'password' END, b.id, a.at
    FROM audit_log a
    JOIN staff_users u ON u.username = a.subject
    JOIN staff_users b ON 'web:' || b.username = a.actor
    WHERE a.action IN ('staff.add', 'staff.password') AND b.id <> u.id;
