-- A send's counts, kept up to date by triggers as deliveries change, so the staff
-- dashboard and a send's report read a handful of rows instead of counting a million
-- (measured: about a second per page at 1,000,000 deliveries). One row per issue and
-- bucket: a delivery status, or 'retrying' (queued after a failed attempt).
-- Triggers are the one place that keeps them: no code path can forget to.
CREATE TABLE delivery_counts (
    issue_id    INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    bucket      TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (issue_id, bucket)
);

INSERT INTO delivery_counts (issue_id, bucket, n)
    SELECT issue_id, status, COUNT(*) FROM deliveries GROUP BY issue_id, status;
INSERT INTO delivery_counts (issue_id, bucket, n)
    SELECT issue_id, 'retrying', COUNT(*) FROM deliveries
    WHERE status = 'queued' AND attempts > 0 GROUP BY issue_id;

CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries
BEGIN
    INSERT INTO delivery_counts (issue_id, bucket, n) VALUES (NEW.issue_id, NEW.status, 1)
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = n + 1;
    INSERT INTO delivery_counts (issue_id, bucket, n)
        SELECT NEW.issue_id, 'retrying', 1 WHERE NEW.status = 'queued' AND NEW.attempts > 0
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE delivery_counts SET n = n - 1 WHERE issue_id = OLD.issue_id AND bucket = OLD.status;
    UPDATE delivery_counts SET n = n - 1 WHERE issue_id = OLD.issue_id AND bucket = 'retrying'
        AND OLD.status = 'queued' AND OLD.attempts > 0;
END;

CREATE TRIGGER deliveries_counted_update AFTER UPDATE OF status, attempts ON deliveries
    WHEN OLD.status <> NEW.status
      OR (OLD.status = 'queued' AND OLD.attempts > 0) <> (NEW.status = 'queued' AND NEW.attempts > 0)
BEGIN
    UPDATE delivery_counts SET n = n - 1
        WHERE issue_id = OLD.issue_id AND bucket = OLD.status AND OLD.status <> NEW.status;
    INSERT INTO delivery_counts (issue_id, bucket, n)
        SELECT NEW.issue_id, NEW.status, 1 WHERE OLD.status <> NEW.status
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = n + 1;
    UPDATE delivery_counts SET n = n - 1
        WHERE issue_id = OLD.issue_id AND bucket = 'retrying'
        AND OLD.status = 'queued' AND OLD.attempts > 0
        AND NOT (NEW.status = 'queued' AND NEW.attempts > 0);
    INSERT INTO delivery_counts (issue_id, bucket, n)
        SELECT NEW.issue_id, 'retrying', 1
        WHERE NEW.status = 'queued' AND NEW.attempts > 0
        AND NOT (OLD.status = 'queued' AND OLD.attempts > 0)
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = n + 1;
END;
