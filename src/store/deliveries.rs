//! The delivery queue: one row per (issue, contact), both the work queue and the record
//! of who got what.
//!
//! A row is `queued` until a worker has a final answer for it: `sent`, `failed`,
//! `skipped` (the contact left before it went out) or `cancelled`. Workers claim rows
//! with a lease (`lease_owner`, `lease_until`); a row whose lease has expired is free to
//! claim again, which is how the work of a crashed worker is taken over.

use sqlx::{AssertSqlSafe, Row};

use super::audit::{self, Actor};
use super::import::{list_placeholders, values_placeholders};
use super::{Backend, Result, Store, StoreError};
use crate::domain::{
    ContactName, ContactStatus, DeliveryStatus, EmailAddress, Slug, Timestamp, TokenSecret,
};

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

/// A delivery a worker holds a lease on, with what its message needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub issue_id: i64,
    pub contact_id: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    pub email: EmailAddress,
    pub name: Option<ContactName>,
    /// The personal unsubscribe secret for this message's links.
    pub unsubscribe: TokenSecret,
}

/// The end of one attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        message_id: String,
    },
    /// Try again at `at`.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Final failure; `hard_bounce` counts toward the contact's bounce threshold.
    Failed {
        error: String,
        hard_bounce: bool,
    },
    /// Not attempted (shutdown, or the lease ran short): free for any worker at once.
    Released,
    /// The contact left, or the issue was cancelled, before it went out.
    Skipped {
        reason: String,
    },
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

/// One delivery that did not go out, with why.
#[derive(Debug, Clone)]
pub struct DeliveryProblem {
    pub email: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub error: Option<String>,
}

const CLAIM_SQLITE: &str = "UPDATE deliveries SET lease_owner = $1, lease_until = $2, updated_at = $3 \
     WHERE id IN (SELECT d.id FROM deliveries d JOIN issues i ON i.id = d.issue_id \
     WHERE d.status = 'queued' AND d.next_attempt_at <= $3 \
     AND (d.lease_until IS NULL OR d.lease_until < $3) AND i.status = 'sending' \
     AND ($4 < 0 OR d.issue_id = $4) AND d.id > $6 ORDER BY d.id LIMIT $5) \
     RETURNING id, issue_id, contact_id, attempts";

// The same, with rows locked by another worker's claim skipped rather than waited for.
const CLAIM_POSTGRES: &str = "UPDATE deliveries SET lease_owner = $1, lease_until = $2, updated_at = $3 \
     WHERE id IN (SELECT d.id FROM deliveries d JOIN issues i ON i.id = d.issue_id \
     WHERE d.status = 'queued' AND d.next_attempt_at <= $3 \
     AND (d.lease_until IS NULL OR d.lease_until < $3) AND i.status = 'sending' \
     AND ($4 < 0 OR d.issue_id = $4) AND d.id > $6 ORDER BY d.id LIMIT $5 \
     FOR UPDATE OF d SKIP LOCKED) \
     RETURNING id, issue_id, contact_id, attempts";

/// The id of the issue `slug`, read inside the caller's transaction.
/// Marks a contact's queued deliveries that no worker holds as skipped: nothing more
/// goes out to them. Workers drop the ones they hold when they see the change (see
/// dispatch).
pub(super) async fn skip_unclaimed(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    contact_id: i64,
    reason: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET status = 'skipped', last_error = $2, updated_at = $3 \
         WHERE contact_id = $1 AND status = 'queued' AND lease_owner IS NULL",
    )
    .bind(contact_id)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One hard bounce of a delivery, whether the relay refused it at send time or a
/// report came back later: the same rule for both. The delivery is marked bounced
/// once (`None` when it was already); the contact's count goes up; at `threshold` a
/// confirmed contact becomes bounced, its unclaimed deliveries are skipped and the
/// audit log says so. Returns the contact's bounce count and whether it became bounced
/// now.
pub(super) async fn hard_bounce(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    delivery_id: i64,
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
    let contact_id: i64 = marked.try_get("contact_id")?;
    let row = sqlx::query(
        "UPDATE contacts SET bounce_count = bounce_count + 1, \
         status = CASE WHEN bounce_count + 1 >= $2 AND status = 'confirmed' \
         THEN 'bounced' ELSE status END, updated_at = $3 WHERE id = $1 \
         RETURNING bounce_count, status, email_key",
    )
    .bind(contact_id)
    .bind(i64::from(threshold))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let bounce_count: i64 = row.try_get("bounce_count")?;
    let status: String = row.try_get("status")?;
    let now_bounced =
        status == ContactStatus::Bounced.as_str() && bounce_count == i64::from(threshold);
    if now_bounced {
        skip_unclaimed(tx, contact_id, "the address bounced", now).await?;
        let email_key: String = row.try_get("email_key")?;
        audit::record(
            tx,
            actor,
            "contact.bounced",
            Some(&email_key),
            Some(format!("{bounce_count} hard bounces")),
        )
        .await?;
    }
    Ok(Some((bounce_count, now_bounced)))
}

async fn issue_id(tx: &mut sqlx::Transaction<'static, sqlx::Any>, slug: &Slug) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM issues WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::IssueNotFound(slug.to_string()))
}

impl Store {
    /// Queues an issue for every confirmed contact who does not have it yet, in one
    /// transaction, and marks it as sending. Running it again adds only contacts
    /// confirmed since, and queues again what a cancel stopped; nobody gets two rows.
    pub async fn enqueue_issue(&self, slug: &Slug, actor: &Actor) -> Result<Enqueued> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let existing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE issue_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let added = sqlx::query(
            "INSERT INTO deliveries (issue_id, contact_id, status, attempts, next_attempt_at, created_at, updated_at) \
             SELECT $1, c.id, 'queued', 0, $2, $2, $2 FROM contacts c WHERE c.status = 'confirmed' \
             ON CONFLICT (issue_id, contact_id) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        let resumed = sqlx::query(
            "UPDATE deliveries SET status = 'queued', next_attempt_at = $2, updated_at = $2 \
             WHERE issue_id = $1 AND status = 'cancelled'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        if existing + added == 0 {
            return Err(StoreError::NothingToSend(slug.to_string()));
        }
        if added + resumed > 0 {
            sqlx::query(
                "UPDATE issues SET status = 'sending', send_started_at = COALESCE(send_started_at, $2), \
                 sent_at = NULL, updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            actor,
            "issue.send",
            Some(slug.as_str()),
            Some(format!("queued {added}, resumed {resumed}")),
        )
        .await?;
        tx.commit().await?;
        if self.backend == Backend::Postgres && added > 1000 {
            // Fresh statistics, or the planner, still believing the table small, sorts
            // every queued row on each claim instead of reading the claim index in order
            // (measured: 290 ms instead of 0.2 ms per claim with a million rows queued).
            sqlx::query("ANALYZE deliveries")
                .execute(&self.pool)
                .await?;
        }
        Ok(Enqueued {
            added,
            resumed,
            existing,
        })
    }

    /// How many confirmed contacts `enqueue_issue` would add now.
    pub async fn count_unqueued(&self, slug: &Slug) -> Result<i64> {
        let issue = self.existing_issue(slug).await?;
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts c WHERE c.status = 'confirmed' AND NOT EXISTS \
             (SELECT 1 FROM deliveries d WHERE d.issue_id = $1 AND d.contact_id = c.id)",
        )
        .bind(issue.id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Claims up to `limit` due deliveries for `owner` until `lease_until`, of one issue
    /// or (with `None`) of any issue that is sending, in id order after `after_id`.
    ///
    /// The cursor matters on PostgreSQL: every row a send finishes leaves a dead index
    /// entry under `queued` until vacuum, and a claim that always started from the first
    /// id walked all of them (a million-row send slowed to a third). A worker passes the
    /// last id it claimed, and 0 when that finds nothing, to pick up retries and rows
    /// released by others. Rows of contacts who are no longer
    /// confirmed are marked skipped instead of returned. Each returned row gets a fresh
    /// personal unsubscribe secret, stored (hashed) before any mail carries it.
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        limit: i64,
        lease_until: Timestamp,
        only_issue: Option<i64>,
        after_id: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        let now = Timestamp::now().unix_ms();
        let claim = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let (_turn, mut tx) = self.begin_write().await?;
        let rows = sqlx::query(claim)
            .bind(owner)
            .bind(lease_until.unix_ms())
            .bind(now)
            .bind(only_issue.unwrap_or(-1))
            .bind(limit)
            .bind(after_id)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut claimed = Vec::with_capacity(rows.len());
        let mut contact_ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let contact_id: i64 = row.try_get("contact_id")?;
            contact_ids.push(contact_id);
            claimed.push((
                row.try_get::<i64, _>("id")?,
                row.try_get::<i64, _>("issue_id")?,
                contact_id,
                row.try_get::<i64, _>("attempts")?,
            ));
        }
        let sql = format!(
            "SELECT id, email, name, status FROM contacts WHERE id IN {}",
            list_placeholders(self.backend, contact_ids.len())
        );
        // Not kept in the statement cache: its text varies with the batch size, and
        // each cached variant would stay prepared on every connection.
        let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for id in &contact_ids {
            query = query.bind(*id);
        }
        let mut contacts = std::collections::HashMap::with_capacity(contact_ids.len());
        for row in query.fetch_all(&mut *tx).await? {
            let id: i64 = row.try_get("id")?;
            let email: String = row.try_get("email")?;
            let name: Option<String> = row.try_get("name")?;
            let status: String = row.try_get("status")?;
            contacts.insert(id, (email, name, status));
        }
        let mut ready = Vec::with_capacity(claimed.len());
        let mut gone = Vec::new();
        for (id, issue_id, contact_id, attempts) in claimed {
            // One batch may hold several issues' deliveries to the same contact: the
            // lookup is shared by all of them, never consumed by the first.
            match contacts.get(&contact_id) {
                Some((email, name, status)) if status == "confirmed" => {
                    ready.push(ClaimedDelivery {
                        id,
                        issue_id,
                        contact_id,
                        attempts,
                        email: EmailAddress::parse(email)?,
                        name: ContactName::parse(name.as_deref().unwrap_or_default())
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        unsubscribe: TokenSecret::generate(),
                    })
                }
                Some((_, _, status)) => gone.push((id, format!("the contact is {status}"))),
                None => gone.push((id, "the contact was removed".to_owned())),
            }
        }
        for (id, reason) in &gone {
            sqlx::query(
                "UPDATE deliveries SET status = 'skipped', last_error = $2, lease_owner = NULL, \
                 lease_until = NULL, updated_at = $3 WHERE id = $1",
            )
            .bind(*id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if !ready.is_empty() {
            let sql = format!(
                "INSERT INTO tokens (token_hash, contact_id, purpose, created_at) VALUES {}",
                values_placeholders(self.backend, ready.len(), 4)
            );
            // Not kept in the statement cache: its text varies with the batch size, and
            // each cached variant would stay prepared on every connection.
            let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
            for delivery in &ready {
                query = query
                    .bind(delivery.unsubscribe.hash().as_str().to_owned())
                    .bind(delivery.contact_id)
                    .bind("unsubscribe")
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ready)
    }

    /// Records what became of claimed deliveries, in one transaction. A hard bounce also
    /// counts toward the contact's threshold, after which the contact is bounced.
    pub async fn record_outcomes(
        &self,
        owner: &str,
        outcomes: &[(i64, Outcome)],
        bounce_threshold: u32,
        actor: &Actor,
    ) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        // Sent rows, the bulk of a send, in one statement (a round trip each would make
        // PostgreSQL the slowest part of a send).
        let sent: Vec<(i64, &str)> = outcomes
            .iter()
            .filter_map(|(id, outcome)| match outcome {
                Outcome::Sent { message_id } => Some((*id, message_id.as_str())),
                _ => None,
            })
            .collect();
        if !sent.is_empty() {
            // No lease check: the message went out, so that is the truth even if the lease
            // ran out or the issue was cancelled meanwhile. VALUES columns are named
            // column1, column2 by both SQLite and PostgreSQL.
            let sql = format!(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = {now}, \
                 message_id = v.column2, last_error = NULL, lease_owner = NULL, lease_until = NULL, \
                 updated_at = {now} FROM (VALUES {}) AS v WHERE deliveries.id = v.column1",
                values_placeholders(self.backend, sent.len(), 2)
            );
            // Not kept in the statement cache: its text varies with the batch size, and
            // each cached variant would stay prepared on every connection.
            let mut query = sqlx::query(AssertSqlSafe(sql)).persistent(false);
            for (id, message_id) in &sent {
                query = query.bind(*id).bind(message_id.to_string());
            }
            query.execute(&mut *tx).await?;
        }
        for (delivery_id, outcome) in outcomes {
            match outcome {
                Outcome::Sent { .. } => {}
                Outcome::Retry { error, at } => {
                    sqlx::query(
                        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
                         lease_owner = NULL, lease_until = NULL, updated_at = $4 \
                         WHERE id = $1 AND status = 'queued' AND lease_owner = $5",
                    )
                    .bind(*delivery_id)
                    .bind(at.unix_ms())
                    .bind(error)
                    .bind(now)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?;
                }
                Outcome::Failed {
                    error,
                    hard_bounce: bounced,
                } => {
                    sqlx::query(
                        "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = $2, \
                         lease_owner = NULL, lease_until = NULL, updated_at = $3 WHERE id = $1",
                    )
                    .bind(*delivery_id)
                    .bind(error)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if *bounced {
                        hard_bounce(&mut tx, *delivery_id, bounce_threshold, now, error, actor)
                            .await?;
                    }
                }
                Outcome::Released => {
                    sqlx::query(
                        "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL, updated_at = $2 \
                         WHERE id = $1 AND lease_owner = $3 AND status = 'queued'",
                    )
                    .bind(*delivery_id)
                    .bind(now)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?;
                }
                Outcome::Skipped { reason } => {
                    sqlx::query(
                        "UPDATE deliveries SET status = 'skipped', last_error = $2, lease_owner = NULL, \
                         lease_until = NULL, updated_at = $3 WHERE id = $1 AND status = 'queued'",
                    )
                    .bind(*delivery_id)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks issues with nothing left in the queue as sent; returns their slugs.
    pub async fn finish_issues(&self) -> Result<Vec<String>> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let slugs: Vec<String> = sqlx::query_scalar(
            "UPDATE issues SET status = 'sent', sent_at = $1, updated_at = $1 WHERE status = 'sending' \
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.issue_id = issues.id AND d.status = 'queued') \
             RETURNING slug",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(slugs)
    }

    /// Frees every lease `owner` still holds (a worker shutting down).
    pub async fn release_leases(&self, owner: &str) -> Result<u64> {
        let _turn = self.write_turn().await;
        Ok(sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = $1 AND status = 'queued'",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected())
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
            "issue.cancel",
            Some(slug.as_str()),
            Some(format!("cancelled {cancelled}")),
        )
        .await?;
        tx.commit().await?;
        Ok(cancelled)
    }

    pub async fn send_counts(&self, issue_id: i64) -> Result<SendCounts> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n, SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS retried \
             FROM deliveries WHERE issue_id = $1 GROUP BY status",
        )
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = SendCounts::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            counts.total += n;
            match row.try_get::<String, _>("status")?.as_str() {
                "queued" => {
                    counts.queued = n;
                    counts.retrying = row.try_get::<Option<i64>, _>("retried")?.unwrap_or(0);
                }
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                "skipped" => counts.skipped = n,
                "cancelled" => counts.cancelled = n,
                other => return Err(StoreError::Corrupt(format!("delivery status {other:?}"))),
            }
        }
        Ok(counts)
    }

    /// Deliveries of an issue that failed, were skipped, or are waiting for a retry.
    pub async fn delivery_problems(&self, issue_id: i64) -> Result<Vec<DeliveryProblem>> {
        let rows = sqlx::query(
            "SELECT c.email, d.status, d.attempts, d.last_error FROM deliveries d \
             JOIN contacts c ON c.id = d.contact_id WHERE d.issue_id = $1 \
             AND (d.status IN ('failed', 'skipped') OR (d.status = 'queued' AND d.attempts > 0)) \
             ORDER BY d.status, c.email_key",
        )
        .bind(issue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryProblem {
                    email: row.try_get("email")?,
                    status: {
                        let status: String = row.try_get("status")?;
                        DeliveryStatus::try_from(status.as_str()).map_err(StoreError::Corrupt)?
                    },
                    attempts: row.try_get("attempts")?,
                    error: row.try_get("last_error")?,
                })
            })
            .collect()
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

    /// Contacts no longer confirmed whose record changed since `since`, and issues
    /// cancelled: a worker drops their messages that have not gone out yet.
    pub async fn departures_since(&self, since: Timestamp) -> Result<(Vec<i64>, Vec<i64>)> {
        let contacts: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE updated_at >= $1 AND status <> 'confirmed'",
        )
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?;
        let issues: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM issues WHERE status = 'cancelled' AND updated_at >= $1",
        )
        .bind(since.unix_ms())
        .fetch_all(&self.pool)
        .await?;
        Ok((contacts, issues))
    }
}
