-- Staff can pause a send from the web admin: while paused_at is set, no worker claims
-- the issue's deliveries (those already handed to a sender finish); resuming clears it.
-- The status stays 'sending', so the issue stays public and is never marked sent early.
ALTER TABLE issues ADD COLUMN paused_at INTEGER;
