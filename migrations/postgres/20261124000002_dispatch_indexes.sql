-- Dispatch: workers claim queued deliveries in id order from a cursor, look for contacts
-- who left since they last looked, and count messages sent in the last hour and day for
-- the relay's caps.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_claim ON deliveries (status, id);
CREATE INDEX contacts_updated ON contacts (updated_at);
CREATE INDEX deliveries_sent_at ON deliveries (sent_at);
