//! Keeping personal data no longer than needed: the bytes of inbound mail, contacts who
//! never confirmed, and the keyed hashes of erased addresses.

use sqlx::{Executor, Row};

use super::{Backend, Result, Store};
use crate::domain::{EmailAddress, Timestamp};

/// The PostgreSQL tables an erasure or a retention run deletes from or rewrites.
const TABLES_HOLDING_PERSONS: &[&str] = &[
    "contacts",
    "subscriptions",
    "deliveries",
    "tokens",
    "notices",
    "inbound_messages",
    "subscription_requests",
    "audit_log",
];

impl Store {
    /// Makes what was just deleted unreadable in the database's files, after an erasure
    /// or a retention run. SQLite overwrites deleted content with zeros as it goes
    /// (`secure_delete` on every connection; the search index's own `secure-delete`),
    /// but the pages it wrote still sit in the write-ahead log and freed pages in the
    /// file: the incremental vacuum gives the free pages back and the checkpoint copies
    /// the zeroed pages into the file and empties the log. PostgreSQL keeps dead rows
    /// until a vacuum of their table.
    pub async fn scrub_deleted(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                let _turn = self.write_turn().await;
                let mut conn = self.pool.acquire().await?;
                conn.execute("PRAGMA incremental_vacuum").await?;
                // A reader still on an older snapshot keeps the log's frames; it ends
                // soon (requests are short), so try again for a little while.
                for _ in 0..50 {
                    let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(&mut *conn)
                        .await?;
                    if row.try_get::<i64, _>(0)? == 0 {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                tracing::warn!(
                    "the write-ahead log could not be emptied after an erasure: readers kept it; \
                     the next checkpoint will"
                );
            }
            Backend::Postgres => {
                for table in TABLES_HOLDING_PERSONS {
                    // VACUUM cannot run in a transaction, nor be prepared: sent as it is.
                    self.pool
                        .execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "VACUUM {table}"
                        ))))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Removes the bytes of the inbound messages received before `before`; what each
    /// was taken for and what was done stay. Returns how many lost their bytes.
    pub async fn forget_inbound_bytes(&self, before: Timestamp, now: Timestamp) -> Result<u64> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE inbound_messages SET raw = $1, raw_removed_at = $2 \
             WHERE received_at < $3 AND raw_removed_at IS NULL",
        )
        .bind(Vec::<u8>::new())
        .bind(now.unix_ms())
        .bind(before.unix_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done)
    }

    /// Contacts still pending (they never confirmed), last changed before `before` and
    /// with no confirmation link that still works at `now` (one who asked again
    /// recently keeps their chance), oldest first, at most `limit`.
    pub async fn unconfirmed_before(
        &self,
        before: Timestamp,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<EmailAddress>> {
        let emails: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM contacts c WHERE status = 'pending' AND updated_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.contact_id = c.id \
                 AND t.purpose = 'confirm' AND t.used_at IS NULL AND t.expires_at > $2) \
             ORDER BY updated_at, id LIMIT $3",
        )
        .bind(before.unix_ms())
        .bind(now.unix_ms())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(emails
            .iter()
            .map(|e| EmailAddress::parse(e))
            .collect::<std::result::Result<_, _>>()?)
    }

    /// Remembers that an address was erased at the person's request, as its keyed hash.
    pub async fn remember_erased(&self, address_hash: &str, at: Timestamp) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO erased_addresses (address_hash, erased_at) VALUES ($1, $2) \
             ON CONFLICT (address_hash) DO UPDATE SET erased_at = excluded.erased_at",
        )
        .bind(address_hash)
        .bind(at.unix_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the address with this keyed hash was erased, if it was.
    pub async fn erased_at(&self, address_hash: &str) -> Result<Option<Timestamp>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT erased_at FROM erased_addresses WHERE address_hash = $1")
                .bind(address_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(at.map(Timestamp::from_unix_ms))
    }

    /// Every erased address's keyed hash (for an import to check its rows against).
    pub async fn erased_hashes(&self) -> Result<std::collections::HashSet<String>> {
        let hashes: Vec<String> = sqlx::query_scalar("SELECT address_hash FROM erased_addresses")
            .fetch_all(&self.pool)
            .await?;
        Ok(hashes.into_iter().collect())
    }

    /// Forgets an erased address again: the person asked to be added back.
    pub async fn forget_erased(&self, address_hash: &str) -> Result<()> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM erased_addresses WHERE address_hash = $1")
            .bind(address_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
