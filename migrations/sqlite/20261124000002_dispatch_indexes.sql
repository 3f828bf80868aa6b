-- Dispatch: workers look for contacts who left since they last looked, and count
-- messages sent in the last hour and day for the relay's caps.
CREATE INDEX contacts_updated ON contacts (updated_at);
CREATE INDEX deliveries_sent_at ON deliveries (sent_at);
