-- A send's counts, kept up to date by triggers as deliveries change, so the staff
-- dashboard and a send's report read a handful of rows instead of counting a million
-- (measured: about a second per page at 1,000,000 deliveries). One row per issue and
-- bucket: a delivery status, or 'retrying' (queued after a failed attempt).
-- Triggers are the one place that keeps them: no code path can forget to. Here they are
-- per statement, over its transition tables: a batch of 500 sent rows is one update
-- of the counts, not 500; the rows are written in (issue, bucket) order so two
-- transactions cannot take their locks in opposite orders.
CREATE TABLE delivery_counts (
    issue_id    BIGINT  NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    bucket      TEXT    NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (issue_id, bucket)
);

INSERT INTO delivery_counts (issue_id, bucket, n)
    SELECT issue_id, status, COUNT(*) FROM deliveries GROUP BY issue_id, status;
INSERT INTO delivery_counts (issue_id, bucket, n)
    SELECT issue_id, 'retrying', COUNT(*) FROM deliveries
    WHERE status = 'queued' AND attempts > 0 GROUP BY issue_id;

CREATE FUNCTION deliveries_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts (issue_id, bucket, n)
        SELECT issue_id, bucket, SUM(d) FROM (
            SELECT issue_id, status AS bucket, 1 AS d FROM new_rows
            UNION ALL SELECT issue_id, 'retrying', 1 FROM new_rows WHERE status = 'queued' AND attempts > 0
        ) changes
        GROUP BY issue_id, bucket HAVING SUM(d) <> 0 ORDER BY issue_id, bucket
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = delivery_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION deliveries_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts (issue_id, bucket, n)
        SELECT issue_id, bucket, SUM(d) FROM (
            SELECT issue_id, status AS bucket, -1 AS d FROM old_rows
            UNION ALL SELECT issue_id, 'retrying', -1 FROM old_rows WHERE status = 'queued' AND attempts > 0
        ) changes
        GROUP BY issue_id, bucket HAVING SUM(d) <> 0 ORDER BY issue_id, bucket
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = delivery_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION deliveries_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts (issue_id, bucket, n)
        SELECT issue_id, bucket, SUM(d) FROM (
            SELECT issue_id, status AS bucket, -1 AS d FROM old_rows
            UNION ALL SELECT issue_id, 'retrying', -1 FROM old_rows WHERE status = 'queued' AND attempts > 0
            UNION ALL SELECT issue_id, status, 1 FROM new_rows
            UNION ALL SELECT issue_id, 'retrying', 1 FROM new_rows WHERE status = 'queued' AND attempts > 0
        ) changes
        GROUP BY issue_id, bucket HAVING SUM(d) <> 0 ORDER BY issue_id, bucket
        ON CONFLICT (issue_id, bucket) DO UPDATE SET n = delivery_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER deliveries_counted_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_counted_insert();
CREATE TRIGGER deliveries_counted_delete AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_counted_delete();
CREATE TRIGGER deliveries_counted_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_counted_update();
