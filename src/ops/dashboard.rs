//! What the staff dashboard shows: every issue with its status, the sends in progress
//! with their counts, and the warnings that need a person.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::contacts::ExportRecord;
use crate::domain::ContactId;
use crate::domain::Timestamp;
use crate::mail::Transport;
use crate::store::{
    IssueStatus, NoticeBudget, NoticeBudgets, PublicationCount, SendCounts, Store, StoreError,
    StoredIssue,
};

/// The relay is tried at most this often for the dashboard (each try is a connection).
const RELAY_PROBE_EVERY: Duration = Duration::from_secs(60);
/// A send's rate is what it sent over this window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// An issue with its send's counts (all zero for a draft).
#[derive(Debug, Clone)]
pub struct IssueLine {
    pub issue: StoredIssue,
    pub counts: SendCounts,
}

/// Something on the dashboard that a person should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The relay could not be reached or refused us (its answer, for the technician).
    RelayUnreachable(String),
    /// Nothing can be sent: `token_key` is not set.
    NoWorker,
    /// A send is paused by staff.
    Paused { slug: String },
    /// Deliveries of a send failed (permanently, or after every retry).
    Failures { slug: String, failed: i64 },
    /// Deliveries wait for a retry after a temporary failure.
    Retrying { slug: String, retrying: i64 },
    /// A planned send was found too late and was not started.
    MissedPlan { slug: String, at: Timestamp },
    /// A send waits for another staff member's approval.
    AwaitingApproval { slug: String, by: String },
    /// A send waits because the hourly or daily cap is reached.
    WaitingForCap { daily: bool, cap: u64 },
    /// Mail kept for staff that nobody has marked handled yet.
    MailWaiting(i64),
    /// Confirmations or leave links wait because their hourly budget is spent; they
    /// go out by themselves as the hour makes room.
    NoticesWaiting { budget: NoticeBudget, waiting: i64 },
    /// Two contacts are one mailbox written two ways (found when address keys moved to
    /// the A-label form): both get every mail until staff remove one.
    SameMailbox {
        contact_id: ContactId,
        email: String,
        same_as: ContactId,
    },
}

#[derive(Debug, Clone)]
pub struct Overview {
    pub issues: Vec<IssueLine>,
    pub warnings: Vec<Warning>,
    /// Each publication with how many confirmed contacts get it (counted at most once a
    /// minute: a count over every subscription is not free on a large list).
    pub publications: Vec<PublicationCount>,
    /// The newest exports of the contact list (the last [`EXPORTS_WINDOW_DAYS`] days).
    pub exports: Vec<ExportRecord>,
    /// What a new installation does first, each step ticked off by what is stored;
    /// `None` once an issue has gone out (then every step is behind it).
    pub first_steps: Option<FirstSteps>,
}

/// A new installation's first steps, in order: contacts, an issue, a test copy, a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstSteps {
    /// There is at least one contact.
    pub contacts: bool,
    /// There is at least one issue.
    pub issue: bool,
    /// A test copy of some issue was sent.
    pub test_copy: bool,
    /// An issue was queued for sending (it may still be going out).
    pub sent: bool,
    /// The newest issue, whose checklist sends the test copy and the issue.
    pub newest_issue: Option<String>,
}

impl FirstSteps {
    pub fn all_done(&self) -> bool {
        self.contacts && self.issue && self.test_copy && self.sent
    }
}

/// The dashboard's «Siste eksporter»: exports of the contact list over this window…
pub const EXPORTS_WINDOW_DAYS: i64 = 30;
/// …at most this many, newest first.
pub const EXPORTS_SHOWN: i64 = 5;

/// How long the dashboard's publication counts are kept.
const PUBLICATION_COUNTS_FOR: Duration = Duration::from_secs(60);

/// A send in progress: counts, the rate over the last minute, and the time left.
#[derive(Debug, Clone)]
pub struct Progress {
    pub issue: StoredIssue,
    pub counts: SendCounts,
    /// Messages a minute.
    pub per_minute: i64,
    /// At the current rate; `None` when nothing was sent in the last minute.
    pub seconds_left: Option<i64>,
}

/// When the publications were last counted, and the counts.
type CountedPublications = (Instant, Vec<PublicationCount>);

/// When the relay was last tried, and its problem then (`None`: it answered).
type RelayProbe = (Instant, Option<String>);

#[derive(Clone)]
pub struct Dashboard {
    store: Store,
    /// `None`: the outbox folder, which needs no probe.
    relay: Option<Transport>,
    sending_enabled: bool,
    send_approval: bool,
    hourly_cap: Option<u64>,
    daily_cap: Option<u64>,
    /// `None`: no notice sender to count for (the dashboard says nothing of notices).
    notice_budgets: Option<NoticeBudgets>,
    probe: Arc<Mutex<Option<RelayProbe>>>,
    publication_counts: Arc<Mutex<Option<CountedPublications>>>,
}

impl Dashboard {
    pub fn new(store: Store, transport: Transport, sending_enabled: bool) -> Self {
        let relay = matches!(transport, Transport::Smtp(_)).then_some(transport);
        Self {
            store,
            relay,
            sending_enabled,
            send_approval: false,
            hourly_cap: None,
            daily_cap: None,
            notice_budgets: None,
            probe: Arc::new(Mutex::new(None)),
            publication_counts: Arc::new(Mutex::new(None)),
        }
    }

    /// What the dashboard should know of the settings: approval, and the relay's caps.
    pub fn with_rules(
        mut self,
        send_approval: bool,
        hourly_cap: Option<u64>,
        daily_cap: Option<u64>,
    ) -> Self {
        self.send_approval = send_approval;
        self.hourly_cap = hourly_cap;
        self.daily_cap = daily_cap;
        self
    }

    /// The hourly budgets of confirmations and leave links, to say how many wait.
    pub fn with_notice_budgets(mut self, budgets: NoticeBudgets) -> Self {
        self.notice_budgets = Some(budgets);
        self
    }

    pub async fn overview(&self) -> Result<Overview, StoreError> {
        let mut issues = Vec::new();
        let mut warnings = Vec::new();
        if !self.sending_enabled {
            warnings.push(Warning::NoWorker);
        }
        let stored = self.store.list_issues().await?;
        let mut any_sending = false;
        for (index, issue) in stored.into_iter().enumerate() {
            let counts = if issue.status == IssueStatus::Draft {
                SendCounts::default()
            } else {
                self.store.send_counts(issue.id).await?
            };
            let slug = issue.slug.to_string();
            if let Some(plan) = &issue.plan {
                if plan.missed_at.is_some() {
                    warnings.push(Warning::MissedPlan {
                        slug: slug.clone(),
                        at: plan.at,
                    });
                } else if self.send_approval && plan.approved_by.is_none() {
                    warnings.push(Warning::AwaitingApproval {
                        slug: slug.clone(),
                        by: plan.requested_by.clone(),
                    });
                }
            }
            if issue.status == IssueStatus::Sending {
                any_sending = true;
                if issue.paused_at.is_some() {
                    warnings.push(Warning::Paused { slug: slug.clone() });
                }
                if counts.retrying > 0 {
                    warnings.push(Warning::Retrying {
                        slug: slug.clone(),
                        retrying: counts.retrying,
                    });
                }
            }
            // Failures of a send in progress, or of the newest one that ended.
            if counts.failed > 0 && (issue.status == IssueStatus::Sending || index == 0) {
                warnings.push(Warning::Failures {
                    slug,
                    failed: counts.failed,
                });
            }
            issues.push(IssueLine { issue, counts });
        }
        if any_sending {
            if let Some(problem) = self.relay_problem().await {
                warnings.insert(0, Warning::RelayUnreachable(problem));
            }
            let now = Timestamp::now().unix_ms();
            for (window_ms, cap, daily) in [
                (3_600_000, self.hourly_cap, false),
                (86_400_000, self.daily_cap, true),
            ] {
                if let Some(cap) = cap
                    && self
                        .store
                        .sent_since(Timestamp::from_unix_ms(now - window_ms))
                        .await?
                        >= cap as i64
                {
                    warnings.push(Warning::WaitingForCap { daily, cap });
                }
            }
        }
        let waiting = self.store.inbound_waiting().await?;
        if waiting > 0 {
            warnings.push(Warning::MailWaiting(waiting));
        }
        if let Some(budgets) = self.notice_budgets {
            let notices = self.store.notices_waiting_for_room(budgets).await?;
            for budget in NoticeBudget::ALL {
                let waiting = notices.of(budget);
                if waiting > 0 {
                    warnings.push(Warning::NoticesWaiting { budget, waiting });
                }
            }
        }
        for duplicate in self.store.address_duplicates().await? {
            warnings.push(Warning::SameMailbox {
                contact_id: duplicate.contact_id,
                email: duplicate.email,
                same_as: duplicate.same_as,
            });
        }
        let publications = self.publication_counts().await?;
        let since = Timestamp::from_unix_ms(
            Timestamp::now().unix_ms() - EXPORTS_WINDOW_DAYS * 24 * 3_600_000,
        );
        let exports = self
            .store
            .recent_actions(super::contacts::EXPORT_ACTION, since, EXPORTS_SHOWN)
            .await?
            .iter()
            .map(ExportRecord::from_entry)
            .collect();
        let first_steps = self.first_steps(&issues).await?;
        Ok(Overview {
            issues,
            warnings,
            publications,
            exports,
            first_steps,
        })
    }

    /// The first steps, from what is stored; `None` when all are done.
    async fn first_steps(&self, issues: &[IssueLine]) -> Result<Option<FirstSteps>, StoreError> {
        let sent = issues
            .iter()
            .any(|line| matches!(line.issue.status, IssueStatus::Sending | IssueStatus::Sent));
        let contacts = self
            .store
            .contact_counts()
            .await?
            .iter()
            .any(|(_, n)| *n > 0);
        // An installation that has sent is past its test copies, whatever the log kept.
        let test_copy = sent
            || !self
                .store
                .recent_actions(
                    crate::domain::AuditAction::IssueTestSend,
                    Timestamp::from_unix_ms(0),
                    1,
                )
                .await?
                .is_empty();
        let steps = FirstSteps {
            contacts,
            issue: !issues.is_empty(),
            test_copy,
            sent,
            newest_issue: issues.first().map(|line| line.issue.slug.to_string()),
        };
        Ok((!steps.all_done()).then_some(steps))
    }

    /// The publications with their subscribers, from a count at most a minute old.
    async fn publication_counts(&self) -> Result<Vec<PublicationCount>, StoreError> {
        if let Some((at, counts)) = &*self.publication_counts.lock().await
            && at.elapsed() < PUBLICATION_COUNTS_FOR
        {
            return Ok(counts.clone());
        }
        let counts = self.store.publication_counts().await?;
        *self.publication_counts.lock().await = Some((Instant::now(), counts.clone()));
        Ok(counts)
    }

    /// Whether the relay answers now (at most one try a minute, shared by every page).
    pub async fn relay_problem(&self) -> Option<String> {
        let relay = self.relay.as_ref()?;
        let mut probe = self.probe.lock().await;
        if let Some((at, result)) = &*probe
            && at.elapsed() < RELAY_PROBE_EVERY
        {
            return result.clone();
        }
        let result = match relay.open().await {
            Ok(connection) => {
                connection.close().await;
                None
            }
            Err(e) => Some(e.to_string()),
        };
        *probe = Some((Instant::now(), result.clone()));
        result
    }

    /// How a send stands now.
    pub async fn progress(&self, issue: StoredIssue) -> Result<Progress, StoreError> {
        let counts = self.store.send_counts(issue.id).await?;
        self.progress_of(issue, counts).await
    }

    /// [`Dashboard::progress`] with counts already read: adds the rate and time left.
    pub async fn progress_of(
        &self,
        issue: StoredIssue,
        counts: SendCounts,
    ) -> Result<Progress, StoreError> {
        let since =
            Timestamp::from_unix_ms(Timestamp::now().unix_ms() - RATE_WINDOW.as_millis() as i64);
        let per_minute = if issue.status == IssueStatus::Sending {
            self.store.issue_sent_since(issue.id, since).await?
        } else {
            0
        };
        let seconds_left = (per_minute > 0).then(|| counts.queued * 60 / per_minute);
        Ok(Progress {
            issue,
            counts,
            per_minute,
            seconds_left,
        })
    }
}
