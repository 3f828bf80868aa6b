//! The worker's side of the queue: claim due deliveries with a lease, record what
//! became of them, finish issues, give back leases not used.

use sqlx::{AssertSqlSafe, Row};

use super::audit::Actor;
use super::deliveries::hard_bounce;
use super::import::{list_placeholders, values_placeholders};
use super::{Backend, Result, Store, StoreError};
use crate::domain::ContactId;
use crate::domain::{ContactName, DeliveryId, EmailAddress, IssueId, Timestamp};

/// A delivery a worker holds a lease on, with what its message needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub issue_id: IssueId,
    pub contact_id: ContactId,
    /// Attempts made before this one.
    pub attempts: i64,
    pub email: EmailAddress,
    pub name: Option<ContactName>,
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

const CLAIM_SQLITE: &str = "UPDATE deliveries SET lease_owner = $1, lease_until = $2, updated_at = $3 \
     WHERE id IN (SELECT d.id FROM deliveries d JOIN issues i ON i.id = d.issue_id \
     WHERE d.status = 'queued' AND d.next_attempt_at <= $3 \
     AND (d.lease_until IS NULL OR d.lease_until < $3) AND i.status = 'sending' AND i.paused_at IS NULL \
     AND ($4 < 0 OR d.issue_id = $4) AND d.id > $6 ORDER BY d.id LIMIT $5) \
     RETURNING id, issue_id, contact_id, attempts";

// The same, with rows locked by another worker's claim skipped rather than waited for.
const CLAIM_POSTGRES: &str = "UPDATE deliveries SET lease_owner = $1, lease_until = $2, updated_at = $3 \
     WHERE id IN (SELECT d.id FROM deliveries d JOIN issues i ON i.id = d.issue_id \
     WHERE d.status = 'queued' AND d.next_attempt_at <= $3 \
     AND (d.lease_until IS NULL OR d.lease_until < $3) AND i.status = 'sending' AND i.paused_at IS NULL \
     AND ($4 < 0 OR d.issue_id = $4) AND d.id > $6 ORDER BY d.id LIMIT $5 \
     FOR UPDATE OF d SKIP LOCKED) \
     RETURNING id, issue_id, contact_id, attempts";

impl Store {
    /// Claims up to `limit` due deliveries for `owner` until `lease_until`, of one issue
    /// or (with `None`) of any issue that is sending, in id order after `after`.
    ///
    /// The cursor matters on PostgreSQL: every row a send finishes leaves a dead index
    /// entry under `queued` until vacuum, and a claim that always started from the first
    /// id walked all of them (a million-row send slowed to a third). A worker passes the
    /// last id it claimed, and `None` when that finds nothing, to pick up retries and rows
    /// released by others. Rows of contacts who are no longer
    /// confirmed are marked skipped instead of returned. Nothing is written for the
    /// message's leave link: it is derived from the contact and the issue (see
    /// [`crate::domain::TokenKey::leave_token`]).
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        limit: i64,
        lease_until: Timestamp,
        only_issue: Option<IssueId>,
        after: Option<DeliveryId>,
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
            .bind(only_issue.map_or(-1, IssueId::get))
            .bind(limit)
            .bind(after.map_or(0, DeliveryId::get))
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let mut claimed = Vec::with_capacity(rows.len());
        let mut contact_ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let contact_id: ContactId = row.try_get("contact_id")?;
            contact_ids.push(contact_id);
            claimed.push((
                row.try_get::<DeliveryId, _>("id")?,
                row.try_get::<IssueId, _>("issue_id")?,
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
            let id: ContactId = row.try_get("id")?;
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
        tx.commit().await?;
        Ok(ready)
    }

    /// Records what became of claimed deliveries, in one transaction. A hard bounce also
    /// counts toward the contact's threshold, after which the contact is bounced.
    pub async fn record_outcomes(
        &self,
        owner: &str,
        outcomes: &[(DeliveryId, Outcome)],
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
        let sent: Vec<(DeliveryId, &str)> = outcomes
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
}
