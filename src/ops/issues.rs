//! Issues, from draft to sent: import or replace a draft, read it, preview it, send a
//! test copy, queue it, cancel it, and tell how the send is going.

use crate::dispatch::{DispatchError, Dispatcher};
use crate::domain::{EmailAddress, Issue, Slug, TokenKey};
use crate::render::{
    MAX_HTML_BYTES, MAX_SOURCE_BYTES, Personal, RenderContext, RenderError, SourceError,
    SourceNote, parse_issue, render,
};
use crate::store::{
    Actor, DeliveryProblem, DraftSaved, Enqueued, SendCounts, Store, StoreError, StoredIssue,
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
    /// Sending needs `token_key`; the text says how to make one.
    #[error("{0}")]
    NoTokenKey(String),
    #[error(transparent)]
    Send(DispatchError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IssueNotFound(slug) => IssueError::NotFound(slug),
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

/// The mail's two parts for a sample recipient, and the web version.
#[derive(Debug, Clone)]
pub struct Preview {
    pub stored: StoredIssue,
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

/// The issue operations; cheap to clone.
#[derive(Clone)]
pub struct Issues {
    store: Store,
    render: RenderContext,
    /// `None`: nothing can be queued (every message is signed with it).
    token_key: Result<TokenKey, String>,
}

impl Issues {
    /// `token_key`: the key, or why there is none (shown when a send is refused).
    pub fn new(store: Store, render: RenderContext, token_key: Result<TokenKey, String>) -> Self {
        Self {
            store,
            render,
            token_key,
        }
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
        let parsed = parse_issue(label, source)?;
        let rendered = render(&parsed.issue, &self.render)?;
        let html_bytes = rendered.html.literal_len();
        if html_bytes > MAX_HTML_BYTES {
            return Err(IssueError::TooLarge { size: html_bytes });
        }
        let saved = self.store.save_draft(&parsed.issue, source, actor).await?;
        Ok(DraftImported {
            saved,
            issue: parsed.issue,
            notes: parsed.notes,
            html_bytes,
        })
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
        let rendered = render(&issue, &self.render)?;
        let unsubscribe = format!("{}/avmeld/FORHANDSVISNING", self.render.base_url);
        let personal = Personal {
            email: PREVIEW_EMAIL,
            unsubscribe_url: &unsubscribe,
        };
        Ok(Preview {
            html: rendered.html.fill(&personal),
            text: rendered.text.fill(&personal),
            web: rendered.web,
            stored,
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
                "issue.test_send",
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
        Ok(self.store.enqueue_issue(slug, actor).await?)
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

    pub async fn counts(&self, issue_id: i64) -> Result<SendCounts, IssueError> {
        Ok(self.store.send_counts(issue_id).await?)
    }
}
