//! Sending an issue: a test copy, the request to send (the typed number of recipients,
//! now or planned), queueing, pause and resume, sending failures again, cancelling, and
//! how the send stands (counts, problems, the ledger).

use super::{IssueError, Issues};
use crate::dispatch::{DispatchError, Dispatcher};
use crate::domain::{AuditAction, EmailAddress, IssueId, Slug, Timestamp};
use crate::store::{
    Actor, AuditEntry, DeliveryProblem, Enqueued, IssueStatus, SendCounts, StoredIssue,
};

/// How a send stands: counts, and every delivery that failed, was skipped or waits
/// for a retry, with why.
#[derive(Debug, Clone)]
pub struct SendStatus {
    pub issue: StoredIssue,
    pub counts: SendCounts,
    pub problems: Vec<DeliveryProblem>,
}

/// What became of a request to send.
#[derive(Debug, Clone)]
pub enum SendRequested {
    /// Queued now.
    Started(Enqueued),
    /// Planned for `at`; `needs_approval`: another account must approve first.
    Planned { at: Timestamp, needs_approval: bool },
}

impl Issues {
    /// One copy to any address, its subject marked `[TEST]`; nothing is queued.
    pub async fn test_send(
        &self,
        dispatcher: &Dispatcher,
        slug: &Slug,
        to: &EmailAddress,
        actor: &Actor,
    ) -> Result<(), IssueError> {
        dispatcher.test_send(slug, to).await.map_err(|e| match e {
            DispatchError::Store(e) => IssueError::from(e),
            other => IssueError::Send(other),
        })?;
        self.store
            .log_action(
                actor,
                AuditAction::IssueTestSend,
                slug.as_str(),
                Some(to.to_string()),
            )
            .await?;
        Ok(())
    }

    /// How many confirmed contacts a send would queue now.
    pub async fn count_unqueued(&self, slug: &Slug) -> Result<i64, IssueError> {
        Ok(self.store.count_unqueued(slug).await?)
    }

    /// Queues the issue for every confirmed contact not yet queued (a worker sends it);
    /// cancelled deliveries are queued again. Refused without `token_key`.
    pub async fn queue_send(&self, slug: &Slug, actor: &Actor) -> Result<Enqueued, IssueError> {
        if let Err(why) = &self.token_key {
            return Err(IssueError::NoTokenKey(why.clone()));
        }
        if self.send_approval {
            // Only a plan that another account approved starts a draft's send; a send
            // already under way may take in contacts confirmed since.
            let issue = self.store.existing_issue(slug).await?;
            if issue.status == IssueStatus::Draft {
                return Err(IssueError::NeedsApproval);
            }
        }
        Ok(self.store.enqueue_issue(slug, actor).await?)
    }

    /// The test copies sent of the issue's current version (since it was last saved),
    /// newest first: who sent them and to whom.
    pub async fn test_copies(&self, issue: &StoredIssue) -> Result<Vec<AuditEntry>, IssueError> {
        let since = if issue.status == IssueStatus::Draft {
            issue.updated_at
        } else {
            Timestamp::from_unix_ms(0)
        };
        Ok(self
            .store
            .audit_entries(AuditAction::IssueTestSend, issue.slug.as_str(), since)
            .await?)
    }

    /// Asks for the send once staff have typed how many contacts it will go to: the
    /// number must be what a send would queue now, so nobody starts a send to more (or
    /// fewer) people than they saw on the page. `at`: a time to start (`None`: now); a
    /// time that has passed is refused, never taken as now. It starts at once when it
    /// is for now and needs no approval; otherwise it is planned, and a worker starts
    /// it when it is due (and approved).
    pub async fn request_send(
        &self,
        slug: &Slug,
        typed: &str,
        at: Option<Timestamp>,
        actor: &Actor,
    ) -> Result<SendRequested, IssueError> {
        if let Err(why) = &self.token_key {
            return Err(IssueError::NoTokenKey(why.clone()));
        }
        let now = Timestamp::now();
        if let Some(at) = at
            && at.unix_ms() <= now.unix_ms()
        {
            return Err(IssueError::SendTimePassed(at));
        }
        let issue = self.store.existing_issue(slug).await?;
        if issue.plan.is_some() {
            return Err(IssueError::Planned(slug.to_string()));
        }
        let expected = self.count_unqueued(slug).await?;
        let digits: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '.' && *c != '\u{a0}')
            .collect();
        if digits.parse::<i64>().ok() != Some(expected) || expected == 0 {
            return Err(IssueError::WrongCount {
                expected,
                typed: typed.chars().take(20).collect(),
            });
        }
        if at.is_none() && !self.send_approval {
            return Ok(SendRequested::Started(
                self.store.enqueue_issue(slug, actor).await?,
            ));
        }
        let at = at.unwrap_or(now);
        self.store.plan_send(slug, at, actor).await?;
        Ok(SendRequested::Planned {
            at,
            needs_approval: self.send_approval,
        })
    }

    /// Drops a planned send; the draft can be changed and sent again.
    pub async fn cancel_plan(&self, slug: &Slug, actor: &Actor) -> Result<bool, IssueError> {
        Ok(self.store.cancel_plan(slug, actor).await?)
    }

    /// Pauses (`true`) or resumes a send: while paused no new message starts.
    pub async fn set_paused(
        &self,
        slug: &Slug,
        paused: bool,
        actor: &Actor,
    ) -> Result<(), IssueError> {
        if self.store.set_issue_paused(slug, paused, actor).await? {
            return Ok(());
        }
        let issue = self.store.existing_issue(slug).await?;
        if issue.status == IssueStatus::Sending {
            // Already as asked (two staff pressed the same button): nothing to do.
            return Ok(());
        }
        Err(IssueError::NotSending(slug.to_string()))
    }

    /// Sends again to those whose delivery failed without a hard bounce; never to anyone
    /// whose message was accepted. Returns how many were queued.
    pub async fn retry_failed(&self, slug: &Slug, actor: &Actor) -> Result<i64, IssueError> {
        if let Err(why) = &self.token_key {
            return Err(IssueError::NoTokenKey(why.clone()));
        }
        Ok(self.store.requeue_failed(slug, actor).await?)
    }

    /// Every delivery of an issue, for the report's CSV, a page at a time (address,
    /// status, attempts, when it was sent, whether it bounced, the last error): a
    /// stream that holds one page in memory however large the send. It holds every
    /// recipient's address, so who took it is in the audit log first
    /// (`issue.export_ledger`, with how many deliveries it has).
    pub async fn ledger(
        &self,
        slug: &Slug,
        actor: &Actor,
    ) -> Result<
        impl futures_util::Stream<Item = Result<Vec<crate::store::LedgerRow>, IssueError>>
        + Send
        + 'static,
        IssueError,
    > {
        const PAGE: i64 = 5_000;
        let issue = self.store.existing_issue(slug).await?;
        let deliveries = self.store.send_counts(issue.id).await?.total;
        self.store
            .log_action(
                actor,
                AuditAction::IssueExportLedger,
                slug.as_str(),
                Some(crate::domain::AuditDetail::Ledger(deliveries).to_string()),
            )
            .await?;
        let store = self.store.clone();
        // The state: the last delivery read (`None` before the first), or `None` once done.
        Ok(futures_util::stream::unfold(Some(None), move |after| {
            let store = store.clone();
            async move {
                let after = after?;
                match store.delivery_ledger_page(issue.id, after, PAGE).await {
                    Ok((rows, _)) if rows.is_empty() => None,
                    Ok((rows, last)) => Some((Ok(rows), Some(last))),
                    // The error ends the stream after it is given.
                    Err(e) => Some((Err(IssueError::from(e)), None)),
                }
            }
        }))
    }

    /// Cancels what is not yet sent; returns how many deliveries that was.
    pub async fn cancel(&self, slug: &Slug, actor: &Actor) -> Result<i64, IssueError> {
        Ok(self.store.cancel_issue(slug, actor).await?)
    }

    pub async fn status(&self, slug: &Slug) -> Result<SendStatus, IssueError> {
        let issue = self.store.existing_issue(slug).await?;
        let counts = self.store.send_counts(issue.id).await?;
        let problems = self.store.delivery_problems(issue.id).await?;
        Ok(SendStatus {
            issue,
            counts,
            problems,
        })
    }

    /// How a send stands, with at most `limit` problems of each kind (a page's worth).
    pub async fn status_first(&self, slug: &Slug, limit: i64) -> Result<SendStatus, IssueError> {
        let issue = self.store.existing_issue(slug).await?;
        let counts = self.store.send_counts(issue.id).await?;
        let problems = self.store.delivery_problems_first(issue.id, limit).await?;
        Ok(SendStatus {
            issue,
            counts,
            problems,
        })
    }

    pub async fn counts(&self, issue_id: IssueId) -> Result<SendCounts, IssueError> {
        Ok(self.store.send_counts(issue_id).await?)
    }
}
