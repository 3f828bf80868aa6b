-- Signed-in staff: one row per session. The browser holds 256 random bits in a cookie;
-- the database holds only their SHA-256, so a copy of it signs nobody in. A session
-- ends after `session_idle_minutes` without use and 12 hours after it began, and with
-- the account (or a new password for it).
CREATE TABLE staff_sessions (
    id_hash         TEXT    PRIMARY KEY,
    staff_user_id   BIGINT  NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    csrf_token      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL
);
CREATE INDEX staff_sessions_user ON staff_sessions (staff_user_id);
