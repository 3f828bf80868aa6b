-- A send planned for later, or waiting for a second staff member's approval
-- (send_approval): the draft is locked while a plan exists. A worker starts it within a
-- minute of send_at; one found more than schedule_grace_minutes late is not started but
-- marked missed for a person to decide.
ALTER TABLE issues ADD COLUMN send_at BIGINT;
ALTER TABLE issues ADD COLUMN send_requested_by TEXT;
ALTER TABLE issues ADD COLUMN send_approved_by TEXT;
ALTER TABLE issues ADD COLUMN send_missed_at BIGINT;
