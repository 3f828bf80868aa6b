//! What the metrics read from the database at a scrape: counts the triggers keep
//! (`delivery_counts`, `contact_counts`) and index-only reads, never a count over the
//! deliveries, so a scrape costs the same at a million deliveries as at ten.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::Timestamp;

/// The database's side of the metrics, read in one go.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// Deliveries of every issue per status (`queued`, `sent`, …) and `retrying`
    /// (queued after a temporary failure).
    pub deliveries: Vec<(String, i64)>,
    /// Contacts per status.
    pub contacts: Vec<(String, i64)>,
    /// How long the oldest delivery that is due has waited, in seconds (0: none due).
    pub oldest_due_seconds: f64,
    /// Inbound messages recorded, per kind.
    pub inbound: Vec<(String, i64)>,
    /// Mails that answer a request (confirmation, leave link), per purpose and status.
    pub notices: Vec<(String, String, i64)>,
    /// When the last backup was made.
    pub last_backup: Option<Timestamp>,
}

impl Store {
    pub async fn metrics_snapshot(&self, now: Timestamp) -> Result<MetricsSnapshot> {
        let mut conn = self.pool.acquire().await?;
        let deliveries = sqlx::query(
            "SELECT bucket, CAST(SUM(n) AS BIGINT) AS n FROM delivery_counts GROUP BY bucket ORDER BY bucket",
        )
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("bucket")?, row.try_get("n")?)))
        .collect::<Result<Vec<_>>>()?;
        let contacts = sqlx::query("SELECT status, n FROM contact_counts ORDER BY status")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
            .collect::<Result<Vec<_>>>()?;
        // The first entry of the partial index of what is queued. SQLite's planner
        // prefers the claim index (status, id) and a scan of the whole queue, so it is
        // told which index to read.
        let oldest_due: Option<i64> = sqlx::query_scalar(match self.backend {
            super::Backend::Sqlite => {
                "SELECT min(next_attempt_at) FROM deliveries INDEXED BY deliveries_queued_due \
                 WHERE status = 'queued' AND next_attempt_at <= $1"
            }
            super::Backend::Postgres => {
                "SELECT min(next_attempt_at) FROM deliveries \
                 WHERE status = 'queued' AND next_attempt_at <= $1"
            }
        })
        .bind(now.unix_ms())
        .fetch_one(&mut *conn)
        .await?;
        let inbound = sqlx::query(
            "SELECT kind, COUNT(*) AS n FROM inbound_messages GROUP BY kind ORDER BY kind",
        )
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("kind")?, row.try_get("n")?)))
        .collect::<Result<Vec<_>>>()?;
        let notices = sqlx::query(
            "SELECT purpose, status, COUNT(*) AS n FROM notices GROUP BY purpose, status \
             ORDER BY purpose, status",
        )
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("purpose")?,
                row.try_get("status")?,
                row.try_get("n")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        let last_backup: Option<i64> =
            sqlx::query_scalar("SELECT MAX(at) FROM audit_log WHERE action = 'backup.made'")
                .fetch_one(&mut *conn)
                .await?;
        Ok(MetricsSnapshot {
            deliveries,
            contacts,
            oldest_due_seconds: oldest_due
                .map_or(0.0, |at| (now.unix_ms() - at).max(0) as f64 / 1000.0),
            inbound,
            notices,
            last_backup: last_backup.map(Timestamp::from_unix_ms),
        })
    }

    /// Issue messages sent since `since` (a count over the `sent_at` index: cheap for a
    /// short window only).
    pub async fn sent_since_count(&self, since: Timestamp) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE sent_at >= $1")
                .bind(since.unix_ms())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Connections the pool holds, and how many of them are idle.
    pub fn pool_use(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }
}
