//! Why an issue operation was refused or failed: typed, so each front end words it once
//! (the command line in English through `Display`, the staff pages in bokmål).

use super::ApprovalBar;
use crate::dispatch::DispatchError;
use crate::docx::{Converted, DocxError};
use crate::domain::Timestamp;
use crate::render::{MAX_HTML_BYTES, MAX_SOURCE_BYTES, RenderError, SourceError};
use crate::store::StoreError;

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

/// The field of an issue's form or of the send page a refusal concerns: a form shows the
/// refusal there. `None` from [`IssueError::field`]: it is about the whole issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueField {
    Slug,
    Publication,
    /// The number of recipients typed to confirm a send.
    RecipientCount,
    /// The time a send is planned for.
    SendTime,
    /// Where a test copy goes.
    TestAddress,
    /// The approval of a planned send.
    Approval,
}

impl IssueError {
    /// The field the refusal concerns (see [`IssueField`]).
    pub fn field(&self) -> Option<IssueField> {
        match self {
            IssueError::Exists(_) | IssueError::SlugIsPublication(_) => Some(IssueField::Slug),
            IssueError::UnknownPublication { .. } => Some(IssueField::Publication),
            IssueError::WrongCount { .. } => Some(IssueField::RecipientCount),
            IssueError::SendTimePassed(_) => Some(IssueField::SendTime),
            // Only a test copy is sent by an operation itself.
            IssueError::Send(_) => Some(IssueField::TestAddress),
            IssueError::ApprovalRefused(_) => Some(IssueField::Approval),
            _ => None,
        }
    }
}
