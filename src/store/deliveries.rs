//! The delivery queue: one row per (issue, contact), both the work queue and the record
//! of who got what.
//!
//! A row is `queued` until a worker has a final answer for it: `sent`, `failed`,
//! `skipped` (the contact left before it went out) or `cancelled`. Workers claim rows
//! with a lease (`lease_owner`, `lease_until`); a row whose lease has expired is free to
//! claim again, which is how the work of a crashed worker is taken over.

use sqlx::{AssertSqlSafe, Row};

use super::audit::{self, Actor};
use super::contact_state::{self, Entry};
use super::{Backend, Result, Store, StoreError};
use crate::domain::AuditAction;
use crate::domain::ContactId;
use crate::domain::{ContactStatus, DeliveryId, DeliveryStatus, IssueId, Slug, Timestamp};

/// What `issue send` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// Deliveries added now (contacts confirmed and not yet queued for this issue).
    pub added: i64,
    /// Cancelled deliveries queued again.
    pub resumed: i64,
    /// Deliveries the issue had before.
    pub existing: i64,
}

/// Counts for one issue, for `issue status` and progress bars.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub total: i64,
    pub queued: i64,
    /// Queued rows whose earlier attempts failed temporarily.
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub cancelled: i64,
}

impl SendCounts {
    pub fn done(&self) -> i64 {
        self.total - self.queued
    }
}

/// One delivery in an issue's ledger.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub email: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub sent_at: Option<Timestamp>,
    pub bounced: bool,
    pub error: Option<String>,
}

/// One delivery that did not go out, with why.
#[derive(Debug, Clone)]
pub struct DeliveryProblem {
    pub email: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub error: Option<String>,
}

fn problem_from_row(row: &sqlx::any::AnyRow) -> Result<DeliveryProblem> {
    let status: String = row.try_get("status")?;
    Ok(DeliveryProblem {
        email: row.try_get("email")?,
        status: DeliveryStatus::try_from(status.as_str()).map_err(StoreError::Corrupt)?,
        attempts: row.try_get("attempts")?,
        error: row.try_get("last_error")?,
    })
}

/// One hard bounce of a delivery, whether the relay refused it at send time or a
/// report came back later: the same rule for both. The delivery is marked bounced
/// once (`None` when it was already); the contact's count goes up; at `threshold` (or
/// past it, the threshold lowered since) a confirmed contact becomes bounced
/// ([`contact_state::bounce`]). Returns the contact's bounce count and whether it
/// became bounced now.
pub(super) async fn hard_bounce(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    delivery_id: DeliveryId,
    threshold: u32,
    now: i64,
    detail: &str,
    actor: &Actor,
) -> Result<Option<(i64, bool)>> {
    let marked = sqlx::query(
        "UPDATE deliveries SET bounced_at = $2, last_error = $3, updated_at = $2 \
         WHERE id = $1 AND bounced_at IS NULL RETURNING contact_id",
    )
    .bind(delivery_id)
    .bind(now)
    .bind(detail)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(marked) = marked else {
        return Ok(None);
    };
    let contact_id: ContactId = marked.try_get("contact_id")?;
    let row = sqlx::query(
        "UPDATE contacts SET bounce_count = bounce_count + 1, updated_at = $2 WHERE id = $1 \
         RETURNING bounce_count, status",
    )
    .bind(contact_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let bounce_count: i64 = row.try_get("bounce_count")?;
    let status: String = row.try_get("status")?;
    // Only a confirmed contact becomes bounced: one who left, or never confirmed, keeps
    // what it is (and gets nothing either way).
    let now_bounced = status == ContactStatus::Confirmed.as_str()
        && bounce_count >= i64::from(threshold)
        && contact_state::bounce(
            tx,
            contact_id,
            now,
            Entry::new(
                actor,
                AuditAction::ContactBounced,
                Some(crate::domain::AuditDetail::HardBounces(bounce_count).to_string()),
            ),
        )
        .await?
        .is_some();
    Ok(Some((bounce_count, now_bounced)))
}

/// The id of the issue `slug`, read inside the caller's transaction.
pub(super) async fn issue_id(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    slug: &Slug,
) -> Result<IssueId> {
    sqlx::query_scalar("SELECT id FROM issues WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::IssueNotFound(slug.to_string()))
}

/// [`Store::enqueue_issue`] inside the caller's transaction (a planned send starts in the
/// same transaction that takes its plan).
pub(super) async fn enqueue_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: IssueId,
    slug: &Slug,
    actor: &Actor,
) -> Result<Enqueued> {
    let now = Timestamp::now().unix_ms();
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE issue_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let added = sqlx::query(
        "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, created_at, updated_at) \
         SELECT $1, c.id, 'queued', 0, $2, $2, $2 FROM contacts c \
         JOIN subscriptions s ON s.contact_id = c.id AND s.left_at IS NULL \
         WHERE c.status = 'confirmed' \
         AND s.publication_id = (SELECT publication_id FROM issues WHERE id = $1) \
         ON CONFLICT (issue_id, contact_id) DO NOTHING",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    let resumed = sqlx::query(
        "UPDATE deliveries SET status = 'queued', next_attempt_at = $2, updated_at = $2 \
         WHERE issue_id = $1 AND status = 'cancelled'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    if existing + added == 0 {
        return Err(StoreError::NothingToSend(slug.to_string()));
    }
    if added + resumed > 0 {
        sqlx::query(
            "UPDATE issues SET status = 'sending', send_started_at = COALESCE(send_started_at, $2), \
             sent_at = NULL, send_at = NULL, updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    audit::record(
        tx,
        actor,
        AuditAction::IssueSend,
        Some(slug.as_str()),
        Some(crate::domain::AuditDetail::Queued { added, resumed }.to_string()),
    )
    .await?;
    Ok(Enqueued {
        added,
        resumed,
        existing,
    })
}

impl Store {
    /// Queues an issue for every confirmed contact who does not have it yet, in one
    /// transaction, and marks it as sending. Running it again adds only contacts
    /// confirmed since, and queues again what a cancel stopped; nobody gets two rows.
    pub async fn enqueue_issue(&self, slug: &Slug, actor: &Actor) -> Result<Enqueued> {
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let enqueued = enqueue_in(&mut tx, id, slug, actor).await?;
        tx.commit().await?;
        self.after_enqueue(&enqueued).await?;
        Ok(enqueued)
    }

    /// What a large enqueue needs once committed.
    pub(super) async fn after_enqueue(&self, enqueued: &Enqueued) -> Result<()> {
        if self.backend == Backend::Postgres && enqueued.added > 1000 {
            // Fresh statistics, or the planner, still believing the table small, sorts
            // every queued row on each claim instead of reading the claim index in order
            // (measured: 290 ms instead of 0.2 ms per claim with a million rows queued).
            sqlx::query("ANALYZE deliveries")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// How many confirmed contacts `enqueue_issue` would add now.
    pub async fn count_unqueued(&self, slug: &Slug) -> Result<i64> {
        let issue = self.existing_issue(slug).await?;
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts c JOIN subscriptions s ON s.contact_id = c.id \
             AND s.left_at IS NULL AND s.publication_id = $2 \
             WHERE c.status = 'confirmed' AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.issue_id = $1 AND d.contact_id = c.id)",
        )
        .bind(issue.id)
        .bind(issue.publication_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Stops an issue: what is still queued is cancelled (messages already handed to the
    /// relay stay sent). Returns how many deliveries were cancelled.
    pub async fn cancel_issue(&self, slug: &Slug, actor: &Actor) -> Result<i64> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let cancelled = sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', updated_at = $2 WHERE issue_id = $1 AND status = 'queued'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        sqlx::query(
            "UPDATE issues SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status IN ('draft', 'sending')",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            actor,
            AuditAction::IssueCancel,
            Some(slug.as_str()),
            Some(crate::domain::AuditDetail::Cancelled(cancelled).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(cancelled)
    }

    /// Queues again the deliveries of an issue that failed without a hard bounce (the
    /// relay was away or kept answering 4xx until the attempts ran out), for contacts
    /// still confirmed. Nobody whose message was accepted is queued: their rows are
    /// `sent`. Returns how many were queued.
    pub async fn requeue_failed(&self, slug: &Slug, actor: &Actor) -> Result<i64> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let queued = sqlx::query(
            "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = $2, \
             lease_owner = NULL, lease_until = NULL, updated_at = $2 \
             WHERE issue_id = $1 AND status = 'failed' AND bounced_at IS NULL \
             AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = deliveries.contact_id AND c.status = 'confirmed')",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        if queued > 0 {
            sqlx::query(
                "UPDATE issues SET status = 'sending', sent_at = NULL, updated_at = $2 \
                 WHERE id = $1 AND status IN ('sending', 'sent')",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            actor,
            AuditAction::IssueRetryFailed,
            Some(slug.as_str()),
            Some(crate::domain::AuditDetail::Requeued(queued).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Pauses (`true`) or resumes a send. Only an issue that is sending can be paused;
    /// returns whether anything changed (pausing a paused send changes nothing).
    pub async fn set_issue_paused(&self, slug: &Slug, paused: bool, actor: &Actor) -> Result<bool> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let sql = if paused {
            "UPDATE issues SET paused_at = $2, updated_at = $2 WHERE id = $1 AND status = 'sending' AND paused_at IS NULL"
        } else {
            "UPDATE issues SET paused_at = NULL, updated_at = $2 WHERE id = $1 AND status = 'sending' AND paused_at IS NOT NULL"
        };
        let changed = sqlx::query(sql)
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if changed {
            let action = if paused {
                AuditAction::IssuePause
            } else {
                AuditAction::IssueResume
            };
            audit::record(&mut tx, actor, action, Some(slug.as_str()), None).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// How a send stands, from the counts the database keeps beside the deliveries
    /// (`delivery_counts`, kept by triggers): a handful of rows however large the send.
    pub async fn send_counts(&self, issue_id: IssueId) -> Result<SendCounts> {
        let rows = sqlx::query("SELECT bucket, n FROM delivery_counts WHERE issue_id = $1")
            .bind(issue_id)
            .fetch_all(&self.pool)
            .await?;
        let mut counts = SendCounts::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            let bucket: String = row.try_get("bucket")?;
            if bucket == "retrying" {
                counts.retrying = n;
                continue;
            }
            counts.total += n;
            match bucket.as_str() {
                "queued" => counts.queued = n,
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                "skipped" => counts.skipped = n,
                "cancelled" => counts.cancelled = n,
                other => return Err(StoreError::Corrupt(format!("delivery status {other:?}"))),
            }
        }
        Ok(counts)
    }

    /// One page of an issue's deliveries in delivery order, those after `after` (all
    /// with `None`): the report's CSV reads a send of any size a page at a time, in flat
    /// memory. Returns the rows and the last id read.
    pub async fn delivery_ledger_page(
        &self,
        issue_id: IssueId,
        after: Option<DeliveryId>,
        limit: i64,
    ) -> Result<(Vec<LedgerRow>, Option<DeliveryId>)> {
        let rows = sqlx::query(
            "SELECT d.id, c.email, d.status, d.attempts, d.sent_at, d.bounced_at, d.last_error \
             FROM deliveries d JOIN contacts c ON c.id = d.contact_id \
             WHERE d.issue_id = $1 AND d.id > $2 ORDER BY d.id LIMIT $3",
        )
        .bind(issue_id)
        .bind(after.map_or(0, DeliveryId::get))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let last = match rows.last() {
            Some(row) => Some(row.try_get::<DeliveryId, _>("id")?),
            None => None,
        };
        let rows = rows
            .iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(LedgerRow {
                    email: row.try_get("email")?,
                    status: DeliveryStatus::try_from(status.as_str())
                        .map_err(StoreError::Corrupt)?,
                    attempts: row.try_get("attempts")?,
                    sent_at: row
                        .try_get::<Option<i64>, _>("sent_at")?
                        .map(Timestamp::from_unix_ms),
                    bounced: row.try_get::<Option<i64>, _>("bounced_at")?.is_some(),
                    error: row.try_get("last_error")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((rows, last))
    }

    /// Messages of one issue sent since `since`: the current rate of a send.
    pub async fn issue_sent_since(&self, issue_id: IssueId, since: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            // `issue_id + 0`: read the sent_at index (the last minute's rows), never the
            // issue's index (all of its rows).
            "SELECT COUNT(*) FROM deliveries WHERE sent_at > $2 AND issue_id + 0 = $1",
        )
        .bind(issue_id)
        .bind(since.unix_ms())
        .fetch_one(&self.pool)
        .await?)
    }

    /// At most `limit` of each kind of problem (failed, skipped, waiting for a retry),
    /// oldest first: what a page shows of a send of any size. Each query reads the
    /// (issue_id, status, id) index in id order and stops at the limit.
    pub async fn delivery_problems_first(
        &self,
        issue_id: IssueId,
        limit: i64,
    ) -> Result<Vec<DeliveryProblem>> {
        let mut problems = Vec::new();
        for condition in [
            "d.status = 'failed'",
            "d.status = 'skipped'",
            "d.status = 'queued' AND d.attempts > 0",
        ] {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT c.email, d.status, d.attempts, d.last_error FROM deliveries d \
                 JOIN contacts c ON c.id = d.contact_id WHERE {condition} AND d.issue_id = $1 \
                 ORDER BY d.id LIMIT $2"
            )))
            .bind(issue_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                problems.push(problem_from_row(row)?);
            }
        }
        Ok(problems)
    }

    /// Deliveries of an issue that failed, were skipped, or are waiting for a retry.
    pub async fn delivery_problems(&self, issue_id: IssueId) -> Result<Vec<DeliveryProblem>> {
        let rows = sqlx::query(
            "SELECT c.email, d.status, d.attempts, d.last_error FROM deliveries d \
             JOIN contacts c ON c.id = d.contact_id WHERE d.issue_id = $1 \
             AND (d.status IN ('failed', 'skipped') OR (d.status = 'queued' AND d.attempts > 0)) \
             ORDER BY d.status, c.email_key",
        )
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(problem_from_row).collect()
    }

    /// Messages sent since `since` by every worker, confirmation and leave-link mails
    /// included: for the relay's hourly and daily caps.
    pub async fn sent_since(&self, since: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE sent_at >= $1) \
             + (SELECT COUNT(*) FROM notices WHERE sent_at >= $1)",
        )
        .bind(since.unix_ms())
        .fetch_one(&self.pool)
        .await?)
    }

    /// The send time of the `n`-th message sent since `since` (0 = the first): with a
    /// cap of `n` reached, the window has room again once this one leaves it.
    pub async fn nth_oldest_sent_since(
        &self,
        since: Timestamp,
        n: i64,
    ) -> Result<Option<Timestamp>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT sent_at FROM (SELECT sent_at FROM deliveries WHERE sent_at >= $1 \
             UNION ALL SELECT sent_at FROM notices WHERE sent_at >= $1) AS sent \
             ORDER BY sent_at LIMIT 1 OFFSET $2",
        )
        .bind(since.unix_ms())
        .bind(n.max(0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(at.map(Timestamp::from_unix_ms))
    }

    /// A contact's leaving of a publication since `since`, as the (contact, issue)
    /// pairs of that publication's issues being sent: a worker drops those messages
    /// that have not gone out yet, and no others of the contact.
    pub async fn publication_departures_since(
        &self,
        since: Timestamp,
    ) -> Result<Vec<(ContactId, IssueId)>> {
        sqlx::query(
            "SELECT s.contact_id, i.id FROM subscriptions s \
             JOIN issues i ON i.publication_id = s.publication_id AND i.status = 'sending' \
             WHERE s.left_at >= $1",
        )
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
    }

    /// Contacts no longer confirmed whose record changed since `since`, and issues
    /// cancelled: a worker drops their messages that have not gone out yet.
    pub async fn departures_since(
        &self,
        since: Timestamp,
    ) -> Result<(Vec<ContactId>, Vec<IssueId>)> {
        let contacts: Vec<ContactId> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE updated_at >= $1 AND status <> 'confirmed'",
        )
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?;
        let issues: Vec<IssueId> = sqlx::query_scalar(
            "SELECT id FROM issues WHERE status = 'cancelled' AND updated_at >= $1",
        )
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?;
        Ok((contacts, issues))
    }
}
