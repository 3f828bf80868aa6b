//! Issues, from draft to sent: import or replace a draft, read it, preview it, send a
//! test copy, queue it, cancel it, and tell how the send is going.

use crate::dispatch::{DispatchError, Dispatcher};
use crate::docx::{Converted, DocxError, DocxOptions, Omission};
use crate::domain::AuditAction;
use crate::domain::{EmailAddress, Issue, Slug, Timestamp, TokenKey};
use crate::render::{
    MAX_HTML_BYTES, MAX_SOURCE_BYTES, Personal, RenderContext, RenderError, SourceError,
    SourceNote, SourceParts, parse_issue_as, render,
};
use crate::store::{
    Actor, AuditEntry, DeliveryProblem, DraftMode, DraftSaved, Enqueued, SendCounts, Store,
    StoreError, StoredIssue,
};

/// The recipient shown in previews and test renders.
pub const PREVIEW_EMAIL: &str = "forhandsvisning@example.org";

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The slug names no issue.
    #[error("issue {0} does not exist")]
    NotFound(String),
    #[error("{label} is {size} KiB: an issue file is at most {} KiB", MAX_SOURCE_BYTES / 1024)]
    SourceTooLarge { label: String, size: usize },
    #[error("{label} is not UTF-8 text (byte {valid_up_to}): save it as UTF-8")]
    NotUtf8 { label: String, valid_up_to: usize },
    /// Where in the source, and what is wrong there.
    #[error(transparent)]
    Source(SourceError),
    #[error(
        "the HTML mail would be {} KB, over Gmail's {} KB clipping limit: shorten the issue",
        .size / 1024,
        MAX_HTML_BYTES / 1024
    )]
    TooLarge { size: usize },
    #[error(transparent)]
    Render(RenderError),
    /// A new issue's slug is a publication's (they share the archive's paths).
    #[error("{0} is the slug of a publication: give the issue another")]
    SlugIsPublication(String),
    /// The front matter names a publication that does not exist; nothing is stored.
    #[error(
        "{label}: front matter: there is no publication {publication:?}: `nyhetsbrev publications list` shows them"
    )]
    UnknownPublication { label: String, publication: String },
    /// A new issue was given the slug of one that exists.
    #[error("issue {0} exists already: choose another slug")]
    Exists(String),
    /// Sending starts only when staff type the number of recipients it will go to.
    #[error(
        "the send goes to {expected} contacts, not {typed}: check the number and confirm again"
    )]
    WrongCount { expected: i64, typed: String },
    /// With `send_approval`, a send starts only from a plan that another account approved.
    #[error(
        "send_approval is on: ask for the send in the web admin, where another staff account approves it"
    )]
    NeedsApproval,
    /// The issue is sending or sent: only a draft is changed, replaced or planned.
    #[error(
        "issue {slug} is {status}: a sent issue cannot be changed; give the new version another slug"
    )]
    NotDraft { slug: String, status: String },
    /// A send planned for a time that has passed: refused, never sent at once instead.
    #[error("the planned time {0} has passed: give a time ahead, or send now")]
    SendTimePassed(Timestamp),
    /// The issue has a planned send: cancel the plan to change or send it otherwise.
    #[error("issue {0} is planned to be sent: cancel the plan first")]
    Planned(String),
    #[error("issue {0} has no planned send")]
    NoPlan(String),
    #[error("a send must be approved by another staff member than the one who asked for it")]
    OwnApproval,
    /// The approving account was made or changed by the one who asked for the send, or
    /// changed by someone else lately: its approval does not count.
    #[error("this approval does not count: {0}")]
    ApprovalRefused(ApprovalBar),
    /// Pause and resume apply only to an issue that is sending.
    #[error("issue {0} is not sending: there is nothing to pause or resume")]
    NotSending(String),
    /// Sending needs `token_key`; the text says how to make one.
    #[error("{0}")]
    NoTokenKey(String),
    /// The Word document cannot be read; nothing is stored.
    #[error("{label}: {error}")]
    Docx { label: String, error: DocxError },
    /// The Word document was read, but the issue it makes has problems (a missing
    /// period, an empty section): the Markdown it became, to mend and save again.
    #[error("{error}")]
    ConvertedWithProblems {
        converted: Box<Converted>,
        error: SourceError,
    },
    #[error(transparent)]
    Send(DispatchError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IssueNotFound(slug) => IssueError::NotFound(slug),
            StoreError::IssueExists(slug) => IssueError::Exists(slug),
            StoreError::IssuePlanned(slug) => IssueError::Planned(slug),
            StoreError::IssueNotDraft { slug, status } => IssueError::NotDraft { slug, status },
            StoreError::NoPlan(slug) => IssueError::NoPlan(slug),
            StoreError::OwnApproval => IssueError::OwnApproval,
            StoreError::SlugIsPublication(slug) => IssueError::SlugIsPublication(slug),
            StoreError::PublicationNotFound(publication) => IssueError::UnknownPublication {
                label: "issue".to_owned(),
                publication,
            },
            other => IssueError::Store(other),
        }
    }
}

impl From<SourceError> for IssueError {
    fn from(e: SourceError) -> Self {
        IssueError::Source(e)
    }
}

impl From<RenderError> for IssueError {
    fn from(e: RenderError) -> Self {
        IssueError::Render(e)
    }
}

/// A draft that was imported.
#[derive(Debug, Clone)]
pub struct DraftImported {
    pub saved: DraftSaved,
    pub issue: Issue,
    /// What the source holds that was carried over differently (with its line).
    pub notes: Vec<SourceNote>,
    /// Size of the HTML mail, in bytes.
    pub html_bytes: usize,
}

impl DraftImported {
    pub fn items(&self) -> usize {
        self.issue.sections.iter().map(|s| s.items.len()).sum()
    }
}

/// A draft made from a Word document, and what the document holds that the issue
/// does not carry.
#[derive(Debug, Clone)]
pub struct DocxImported {
    pub draft: DraftImported,
    pub report: Vec<Omission>,
}

/// The audit action whose detail keeps a Word import's report with the draft.
pub const DOCX_REPORT_ACTION: AuditAction = AuditAction::IssueImportDocx;

/// The mail's two parts for a sample recipient, and the web version.
#[derive(Debug, Clone)]
pub struct Preview {
    pub stored: StoredIssue,
    /// The model the parts were rendered from.
    pub issue: Issue,
    pub html: String,
    pub text: String,
    pub web: String,
}

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

/// How long after someone else made an account, set its password or reset its second
/// factor its approvals do not count: a colleague has a day to notice the owner mail.
pub const APPROVAL_QUARANTINE_MS: i64 = 24 * 3600 * 1000;

/// Why an account's approval of a send does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalBar {
    #[error("the account was made by the one who asked for the send")]
    CreatedByRequester,
    #[error("the account's password was set by the one who asked for the send")]
    PasswordByRequester,
    #[error("the account's second factor was reset by the one who asked for the send")]
    SecondFactorResetByRequester,
    #[error("someone else made or changed the account in the last 24 hours")]
    ChangedRecently,
    #[error("the account was made or changed by an account the one who asked made or changed")]
    MadeThroughRequester,
    #[error("the approving account made or changed the account of the one who asked")]
    ApproverVouchedForRequester,
    #[error("someone else made or changed the asking account in the last 24 hours")]
    RequesterChangedRecently,
}

impl ApprovalBar {
    /// The reason as staff read it on the page.
    pub fn norwegian(self) -> &'static str {
        match self {
            ApprovalBar::CreatedByRequester => {
                "Kontoen din ble laget av den som ba om utsendingen, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::PasswordByRequester => {
                "Passordet ditt ble satt av den som ba om utsendingen, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::SecondFactorResetByRequester => {
                "Tofaktoren din ble nullstilt av den som ba om utsendingen, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::ChangedRecently => {
                "Kontoen din ble laget, fikk nytt passord eller fikk tofaktor nullstilt av en annen det siste døgnet, så godkjenningen din teller ikke ennå. En annen kollega må godkjenne, eller prøv igjen når det har gått 24 timer."
            }
            ApprovalBar::MadeThroughRequester => {
                "Kontoen din ble laget eller endret av en konto som den som ba om utsendingen selv laget eller endret, så godkjenningen din teller ikke. En annen kollega må godkjenne."
            }
            ApprovalBar::ApproverVouchedForRequester => {
                "Du laget eller endret kontoen til den som ba om utsendingen (eller en konto som gjorde det), så godkjenningen din teller ikke. En kollega hvis konto er laget av en tredje person, eller av driftsansvarlig, må godkjenne."
            }
            ApprovalBar::RequesterChangedRecently => {
                "Kontoen som ba om utsendingen ble laget eller endret av en annen det siste døgnet, så en godkjenning teller ikke ennå. Prøv igjen når det har gått 24 timer, eller be en kollega med en eldre konto om å be om utsendingen."
            }
        }
    }
}

/// The rule for a second approval, in one place: an approval by an account does not
/// count if the one who asked for the send (`requester`) ever made it, set its password
/// or reset its second factor, or if anyone else did any of these in the last 24 hours.
/// `changes` are those made to the approving account by others (the command line, the
/// operator's shell, counts only as a maker of accounts, never as the requester: its
/// changes need no quarantine).
pub fn approval_bar(
    changes: &[crate::store::AccountChange],
    requester: Option<&str>,
    now: Timestamp,
) -> Option<ApprovalBar> {
    use crate::store::AccountChangeKind;
    if let Some(requester) = requester {
        for change in changes {
            if change.by.as_deref() == Some(requester) {
                return Some(match change.kind {
                    AccountChangeKind::Created => ApprovalBar::CreatedByRequester,
                    AccountChangeKind::Password => ApprovalBar::PasswordByRequester,
                    AccountChangeKind::SecondFactorReset => {
                        ApprovalBar::SecondFactorResetByRequester
                    }
                });
            }
        }
    }
    changes
        .iter()
        .any(|c| c.by.is_some() && c.at.unix_ms() > now.unix_ms() - APPROVAL_QUARANTINE_MS)
        .then_some(ApprovalBar::ChangedRecently)
}

/// The issue operations; cheap to clone.
#[derive(Clone)]
pub struct Issues {
    store: Store,
    render: RenderContext,
    /// `None`: nothing can be queued (every message is signed with it).
    token_key: Result<TokenKey, String>,
    /// `send_approval`: a second account approves every send.
    send_approval: bool,
}

impl Issues {
    /// `token_key`: the key, or why there is none (shown when a send is refused).
    pub fn new(store: Store, render: RenderContext, token_key: Result<TokenKey, String>) -> Self {
        Self {
            store,
            render,
            token_key,
            send_approval: false,
        }
    }

    /// With `true`, every send waits for a second staff account's approval.
    pub fn with_send_approval(mut self, send_approval: bool) -> Self {
        self.send_approval = send_approval;
        self
    }

    pub fn send_approval(&self) -> bool {
        self.send_approval
    }

    /// Creates the draft, or replaces a draft with the same slug. The source is parsed
    /// and rendered before anything is saved: a draft that cannot be rendered, or whose
    /// HTML would be clipped by Gmail, is not stored. An issue that is sending or sent is
    /// never changed.
    pub async fn import_draft(
        &self,
        label: &str,
        source: &[u8],
        actor: &Actor,
    ) -> Result<DraftImported, IssueError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(IssueError::SourceTooLarge {
                label: label.to_owned(),
                size: source.len() / 1024,
            });
        }
        let source = std::str::from_utf8(source).map_err(|e| IssueError::NotUtf8 {
            label: label.to_owned(),
            valid_up_to: e.valid_up_to(),
        })?;
        self.save(label, source, DraftMode::CreateOrReplace, actor)
            .await
    }

    /// Creates or replaces a draft from a Word document (.docx): the document becomes
    /// the Markdown source staff could have written (stored as the draft's source, to
    /// edit like any other), and the report of what it holds that the issue does not
    /// carry is kept with this version of the draft ([`Issues::docx_report`]).
    pub async fn import_docx(
        &self,
        label: &str,
        bytes: Vec<u8>,
        options: DocxOptions,
        actor: &Actor,
    ) -> Result<DocxImported, IssueError> {
        // Reading a document is CPU work (tens of milliseconds for a long one).
        let converted = tokio::task::spawn_blocking(move || crate::docx::convert(&bytes, &options))
            .await
            .map_err(|e| IssueError::Docx {
                label: label.to_owned(),
                error: DocxError::Damaged(e.to_string()),
            })?
            .map_err(|error| IssueError::Docx {
                label: label.to_owned(),
                error,
            })?;
        let draft = match self
            .save(label, &converted.source, DraftMode::CreateOrReplace, actor)
            .await
        {
            Ok(draft) => draft,
            Err(IssueError::Source(error)) => {
                return Err(IssueError::ConvertedWithProblems {
                    converted: Box::new(converted),
                    error,
                });
            }
            Err(e) => return Err(e),
        };
        let detail = serde_json::to_string(&converted.report).expect("a report serialises");
        self.store
            .log_action(
                actor,
                DOCX_REPORT_ACTION,
                draft.issue.meta.slug.as_str(),
                Some(detail),
            )
            .await?;
        Ok(DocxImported {
            draft,
            report: converted.report,
        })
    }

    /// What the Word document the current version of a draft was imported from holds
    /// that the issue does not carry; empty when the draft was since saved otherwise.
    pub async fn docx_report(&self, issue: &StoredIssue) -> Result<Vec<Omission>, IssueError> {
        if issue.status != crate::store::IssueStatus::Draft {
            return Ok(Vec::new());
        }
        let entries = self
            .store
            .audit_entries(DOCX_REPORT_ACTION, issue.slug.as_str(), issue.updated_at)
            .await?;
        Ok(entries
            .first()
            .and_then(|e| e.detail.as_deref())
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default())
    }

    /// Saves a draft written in a form: the fields become the front matter (staff never
    /// type TOML). `mode` says whether this is a new issue or an edit of an existing
    /// draft. Every problem is reported at once, each with its line in the source; the
    /// front matter's lines ([`SourceParts::body_line_offset`]) come before the body's.
    pub async fn save_form(
        &self,
        parts: &SourceParts,
        mode: DraftMode,
        actor: &Actor,
    ) -> Result<DraftImported, IssueError> {
        let source = parts.to_source();
        if source.len() > MAX_SOURCE_BYTES {
            return Err(IssueError::SourceTooLarge {
                label: "skjema".into(),
                size: source.len() / 1024,
            });
        }
        self.save("skjema", &source, mode, actor).await
    }

    async fn save(
        &self,
        label: &str,
        source: &str,
        mode: DraftMode,
        actor: &Actor,
    ) -> Result<DraftImported, IssueError> {
        // The publication decides how the source reads (sections, or an announcement's
        // paragraphs and link), so it is found first. A front matter that cannot be read
        // is parsed as a newsletter, which reports its problems.
        let named = SourceParts::split(source)
            .map(|parts| parts.publication)
            .filter(|p| !p.trim().is_empty())
            .and_then(|p| crate::domain::PublicationSlug::parse(&p).ok())
            .unwrap_or_else(crate::domain::PublicationSlug::default_publication);
        let publication = self.store.publication(&named).await?.ok_or_else(|| {
            IssueError::UnknownPublication {
                label: label.to_owned(),
                publication: named.to_string(),
            }
        })?;
        let parsed = parse_issue_as(label, source, publication.kind)?;
        let rendered = render(&parsed.issue, &publication, &self.render)?;
        let html_bytes = rendered.html.literal_len();
        if html_bytes > MAX_HTML_BYTES {
            return Err(IssueError::TooLarge { size: html_bytes });
        }
        let saved = self
            .store
            .save_draft_as(&parsed.issue, source, actor, mode)
            .await?;
        Ok(DraftImported {
            saved,
            issue: parsed.issue,
            notes: parsed.notes,
            html_bytes,
        })
    }

    /// The publications an issue can belong to, for the form's choice.
    pub async fn publications(&self) -> Result<Vec<crate::domain::Publication>, IssueError> {
        Ok(self.store.publications().await?)
    }

    /// Every issue, newest first.
    pub async fn list(&self) -> Result<Vec<StoredIssue>, IssueError> {
        Ok(self.store.list_issues().await?)
    }

    /// The issue as stored, and its model.
    pub async fn get(&self, slug: &Slug) -> Result<(StoredIssue, Issue), IssueError> {
        let stored = self.store.existing_issue(slug).await?;
        let issue = stored.model()?;
        Ok((stored, issue))
    }

    /// The mail as a sample recipient would get it (its unsubscribe link leads
    /// nowhere), and the web version.
    pub async fn preview(&self, slug: &Slug) -> Result<Preview, IssueError> {
        let (stored, issue) = self.get(slug).await?;
        let publication = self.store.publication_by_id(stored.publication_id).await?;
        let rendered = render(&issue, &publication, &self.render)?;
        let unsubscribe = format!("{}/avmeld/FORHANDSVISNING", self.render.base_url);
        let preferences = format!("{}/innstillinger/FORHANDSVISNING", self.render.base_url);
        let personal = Personal {
            email: PREVIEW_EMAIL,
            unsubscribe_url: &unsubscribe,
            preferences_url: &preferences,
        };
        Ok(Preview {
            html: rendered.html.fill(&personal),
            text: rendered.text.fill(&personal),
            web: rendered.web,
            stored,
            issue,
        })
    }

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
            if issue.status == crate::store::IssueStatus::Draft {
                return Err(IssueError::NeedsApproval);
            }
        }
        Ok(self.store.enqueue_issue(slug, actor).await?)
    }

    /// The test copies sent of the issue's current version (since it was last saved),
    /// newest first: who sent them and to whom.
    pub async fn test_copies(&self, issue: &StoredIssue) -> Result<Vec<AuditEntry>, IssueError> {
        let since = if issue.status == crate::store::IssueStatus::Draft {
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

    /// Approves a planned send (never by the account that asked for it, nor by one that
    /// account made or changed: see [`approval_bar`]). A plan that is due starts at once.
    pub async fn approve_send(
        &self,
        slug: &Slug,
        actor: &Actor,
    ) -> Result<SendRequested, IssueError> {
        if let Err(why) = &self.token_key {
            return Err(IssueError::NoTokenKey(why.clone()));
        }
        let planned = self.store.existing_issue(slug).await?;
        if let (Some(plan), Some(approver)) = (
            planned.plan.as_ref(),
            crate::ops::staff::staff_name_of(actor.as_str()),
        ) && plan.requested_by != actor.as_str()
        {
            let changes = self.store.account_changes_by_others(approver).await?;
            let requester = crate::ops::staff::staff_name_of(&plan.requested_by);
            let bar = match approval_bar(&changes, requester, Timestamp::now()) {
                Some(bar) => Some(bar),
                None => match requester {
                    Some(requester) => self.lineage_bar(approver, requester).await?,
                    None => None,
                },
            };
            if let Some(bar) = bar {
                self.store
                    .log_action(
                        actor,
                        AuditAction::StaffApprovalRefused,
                        slug.as_str(),
                        Some(bar.norwegian().to_owned()),
                    )
                    .await?;
                return Err(IssueError::ApprovalRefused(bar));
            }
        }
        let issue = self.store.approve_send(slug, actor).await?;
        let Some(plan) = issue.plan.clone() else {
            return Err(IssueError::NoPlan(slug.to_string()));
        };
        if plan.at.unix_ms() <= Timestamp::now().unix_ms()
            && let Some(enqueued) = self.store.start_planned(&issue, plan.at, actor).await?
        {
            return Ok(SendRequested::Started(enqueued));
        }
        Ok(SendRequested::Planned {
            at: plan.at,
            needs_approval: false,
        })
    }

    /// The rest of the rule for a second approval, beyond the approving account's own
    /// history ([`approval_bar`]): one person with several accounts must not be two
    /// people. So an approval does not count when the requester is anywhere among
    /// those who made or changed the approving account, or those who made or changed
    /// theirs, and so on (kari makes b, b makes c: c cannot approve kari's send); when
    /// the approver is anywhere in that line behind the requesting account (kari makes
    /// b, b asks, kari approves); nor when the requesting account itself was made or
    /// changed by someone else in the last 24 hours.
    async fn lineage_bar(
        &self,
        approver: &str,
        requester: &str,
    ) -> Result<Option<ApprovalBar>, IssueError> {
        if self.vouchers(approver).await?.contains(requester) {
            return Ok(Some(ApprovalBar::MadeThroughRequester));
        }
        if self.vouchers(requester).await?.contains(approver) {
            return Ok(Some(ApprovalBar::ApproverVouchedForRequester));
        }
        let now = Timestamp::now().unix_ms();
        let requester_changes = self.store.account_changes_by_others(requester).await?;
        if requester_changes
            .iter()
            .any(|c| c.by.is_some() && c.at.unix_ms() > now - APPROVAL_QUARANTINE_MS)
        {
            return Ok(Some(ApprovalBar::RequesterChangedRecently));
        }
        Ok(None)
    }

    /// Every web account that made or changed `username`'s account, every account that
    /// made or changed theirs, and so on (the command line counts as nobody: it is the
    /// operator's shell).
    async fn vouchers(
        &self,
        username: &str,
    ) -> Result<std::collections::HashSet<String>, IssueError> {
        /// Far more accounts than a unit of a few people will ever have; a bound all
        /// the same, so a long history cannot make an approval slow.
        const MOST: usize = 500;
        let mut found = std::collections::HashSet::new();
        let mut to_visit = vec![username.to_owned()];
        while let Some(name) = to_visit.pop() {
            for change in self.store.account_changes_by_others(&name).await? {
                if let Some(by) = change.by
                    && by != username
                    && found.len() < MOST
                    && found.insert(by.clone())
                {
                    to_visit.push(by);
                }
            }
        }
        Ok(found)
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
        if issue.status == crate::store::IssueStatus::Sending {
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
                Some(format!(
                    "{deliveries} {}",
                    if deliveries == 1 {
                        "levering"
                    } else {
                        "leveringer"
                    }
                )),
            )
            .await?;
        let store = self.store.clone();
        Ok(futures_util::stream::unfold(Some(0_i64), move |after| {
            let store = store.clone();
            async move {
                let after = after?;
                match store.delivery_ledger_page(issue.id, after, PAGE).await {
                    Ok((rows, _)) if rows.is_empty() => None,
                    Ok((rows, last)) => Some((Ok(rows), last)),
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

    pub async fn counts(&self, issue_id: i64) -> Result<SendCounts, IssueError> {
        Ok(self.store.send_counts(issue_id).await?)
    }
}

#[cfg(test)]
mod approval_rule_tests {
    use super::{APPROVAL_QUARANTINE_MS, ApprovalBar, approval_bar};
    use crate::domain::Timestamp;
    use crate::store::{AccountChange, AccountChangeKind};

    fn change(kind: AccountChangeKind, by: Option<&str>, hours_ago: i64) -> AccountChange {
        AccountChange {
            kind,
            by: by.map(str::to_owned),
            at: Timestamp::from_unix_ms(NOW - hours_ago * 3600 * 1000),
        }
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn the_requester_never_vouches_for_an_account_they_made_or_changed() {
        let now = Timestamp::from_unix_ms(NOW);
        for (kind, bar) in [
            (AccountChangeKind::Created, ApprovalBar::CreatedByRequester),
            (
                AccountChangeKind::Password,
                ApprovalBar::PasswordByRequester,
            ),
            (
                AccountChangeKind::SecondFactorReset,
                ApprovalBar::SecondFactorResetByRequester,
            ),
        ] {
            // A year ago still counts.
            let changes = [change(kind, Some("kari"), 24 * 365)];
            assert_eq!(approval_bar(&changes, Some("kari"), now), Some(bar));
            // By a third person a year ago: fine.
            assert_eq!(approval_bar(&changes, Some("per"), now), None);
        }
    }

    #[test]
    fn a_change_by_someone_else_waits_a_day_and_the_shell_does_not() {
        let now = Timestamp::from_unix_ms(NOW);
        let recent = [change(AccountChangeKind::Password, Some("per"), 23)];
        assert_eq!(
            approval_bar(&recent, Some("kari"), now),
            Some(ApprovalBar::ChangedRecently)
        );
        let old = [change(AccountChangeKind::Created, Some("per"), 25)];
        assert_eq!(approval_bar(&old, Some("kari"), now), None);
        assert_eq!(APPROVAL_QUARANTINE_MS, 24 * 3600 * 1000);
        // The command line (the operator's shell) made it an hour ago: no wait.
        let shell = [change(AccountChangeKind::Created, None, 1)];
        assert_eq!(approval_bar(&shell, Some("kari"), now), None);
        // A requester who is not a web account (none known) is matched with nobody.
        assert_eq!(approval_bar(&old, None, now), None);
    }
}
