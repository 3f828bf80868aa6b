-- A delivery report that claims a delivery of ours without its signed bounce address is
-- recorded as 'forged' (and counts nothing).
ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_kind_check;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_kind_check
    CHECK (kind IN ('subscribe', 'unsubscribe', 'bounce', 'forged', 'automatic', 'loop', 'other', 'unreadable'));
