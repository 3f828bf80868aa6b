-- Issue 29: each kind of notice has its own hourly budget, so a flood of one kind
-- (join requests by mail with made-up senders) leaves the others working. A notice
-- that meets a full budget waits in the queue; the sender takes, per budget, only
-- what the last hour leaves room for.
--   web   confirmations of the web form (confirmations_per_hour)
--   mail  confirmations of requests by mail, and staff answering them
--         (mail_confirmations_per_hour)
--   leave leave links for unverified requests to leave (leave_links_per_hour)
ALTER TABLE notices ADD COLUMN budget TEXT NOT NULL DEFAULT 'web'
    CHECK (budget IN ('web', 'mail', 'leave'));
UPDATE notices SET budget = 'leave' WHERE purpose = 'leave';
UPDATE notices SET budget = 'mail' WHERE purpose = 'confirm' AND consent_source = 'email-request';
-- The claim looks for the oldest queued notices of one budget.
CREATE INDEX notices_budget_queue ON notices (budget, status, id);
