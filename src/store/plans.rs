//! Sends planned for later, or waiting for a second staff member's approval: the plan
//! lives on the issue (`send_at`, `send_requested_by`, `send_approved_by`,
//! `send_missed_at`) and the draft is locked while it exists.

use super::audit::{self, Actor};
use super::deliveries::{enqueue_in, issue_id};
use super::{Enqueued, Result, Store, StoreError, StoredIssue};
use crate::domain::AuditAction;
use crate::domain::{Slug, Timestamp};

impl Store {
    /// Plans the draft's send for `at`, asked for by `actor` (a new plan replaces an
    /// old one, and needs approval afresh).
    pub async fn plan_send(&self, slug: &Slug, at: Timestamp, actor: &Actor) -> Result<()> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let planned = sqlx::query(
            "UPDATE issues SET send_at = $2, send_requested_by = $3, send_approved_by = NULL, \
             send_missed_at = NULL, updated_at = $4 WHERE id = $1 AND status = 'draft'",
        )
        .bind(id)
        .bind(at.unix_ms())
        .bind(actor.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if planned == 0 {
            let status: String = sqlx::query_scalar("SELECT status FROM issues WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            return Err(StoreError::IssueNotDraft {
                slug: slug.to_string(),
                status,
            });
        }
        audit::record(
            &mut tx,
            actor,
            AuditAction::IssuePlanSend,
            Some(slug.as_str()),
            Some(crate::domain::AuditDetail::PlannedFor(at).to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Approves the planned send, by anyone but the one who asked for it.
    pub async fn approve_send(&self, slug: &Slug, actor: &Actor) -> Result<StoredIssue> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let approved = sqlx::query(
            "UPDATE issues SET send_approved_by = $2, updated_at = $3 WHERE id = $1 \
             AND status = 'draft' AND send_at IS NOT NULL AND send_missed_at IS NULL \
             AND send_approved_by IS NULL AND send_requested_by <> $2",
        )
        .bind(id)
        .bind(actor.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if approved == 0 {
            let requested_by: Option<String> = sqlx::query_scalar(
                "SELECT send_requested_by FROM issues WHERE id = $1 AND send_at IS NOT NULL",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .ok()
            .flatten();
            return Err(match requested_by {
                Some(by) if by == actor.as_str() => StoreError::OwnApproval,
                _ => StoreError::NoPlan(slug.to_string()),
            });
        }
        audit::record(
            &mut tx,
            actor,
            AuditAction::IssueApproveSend,
            Some(slug.as_str()),
            None,
        )
        .await?;
        tx.commit().await?;
        self.existing_issue(slug).await
    }

    /// Drops the plan; the draft can be changed again.
    pub async fn cancel_plan(&self, slug: &Slug, actor: &Actor) -> Result<bool> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let id = issue_id(&mut tx, slug).await?;
        let dropped = sqlx::query(
            "UPDATE issues SET send_at = NULL, send_requested_by = NULL, send_approved_by = NULL, \
             send_missed_at = NULL, updated_at = $2 WHERE id = $1 AND send_at IS NOT NULL AND status = 'draft'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if dropped {
            audit::record(
                &mut tx,
                actor,
                AuditAction::IssueCancelPlan,
                Some(slug.as_str()),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(dropped)
    }

    /// Drafts whose planned send is due and not yet found missed.
    pub async fn due_plans(&self, now: Timestamp) -> Result<Vec<StoredIssue>> {
        let all = self.list_issues().await?;
        Ok(all
            .into_iter()
            .filter(|i| {
                i.status == super::IssueStatus::Draft
                    && i.plan
                        .as_ref()
                        .is_some_and(|p| p.at <= now && p.missed_at.is_none())
            })
            .collect())
    }

    /// Starts a planned send: takes the plan (only if it is still the one seen at
    /// `at`) and queues the issue in one transaction, so two workers cannot both start
    /// it. `None`: someone else took or changed the plan first.
    pub async fn start_planned(
        &self,
        issue: &StoredIssue,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Option<Enqueued>> {
        let (_turn, mut tx) = self.begin_write().await?;
        let taken = sqlx::query(
            "UPDATE issues SET send_at = NULL WHERE id = $1 AND send_at = $2 \
             AND status = 'draft' AND send_missed_at IS NULL",
        )
        .bind(issue.id)
        .bind(at.unix_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(None);
        }
        let enqueued = enqueue_in(&mut tx, issue.id, &issue.slug, actor).await?;
        tx.commit().await?;
        self.after_enqueue(&enqueued).await?;
        Ok(Some(enqueued))
    }

    /// Marks a plan missed (found too late to start): a person decides.
    pub async fn mark_plan_missed(
        &self,
        issue: &StoredIssue,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<bool> {
        let now = Timestamp::now().unix_ms();
        let (_turn, mut tx) = self.begin_write().await?;
        let marked = sqlx::query(
            "UPDATE issues SET send_missed_at = $3 WHERE id = $1 AND send_at = $2 AND send_missed_at IS NULL",
        )
        .bind(issue.id)
        .bind(at.unix_ms())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if marked {
            audit::record(
                &mut tx,
                actor,
                AuditAction::IssuePlanMissed,
                Some(issue.slug.as_str()),
                Some(crate::domain::AuditDetail::PlanMissed(at).to_string()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(marked)
    }
}
