//! Issues: drafts imported from Markdown, and what became of them.

use std::fmt;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{self, Actor};
use super::{Result, Store, StoreError};
use crate::domain::AuditAction;
use crate::domain::{Issue, IssueId, PublicationId, Slug, Timestamp};

/// Where an issue is in its life. Only a draft may be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueStatus {
    Draft,
    Sending,
    Sent,
    Cancelled,
}

impl IssueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Draft => "draft",
            IssueStatus::Sending => "sending",
            IssueStatus::Sent => "sent",
            IssueStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "draft" => IssueStatus::Draft,
            "sending" => IssueStatus::Sending,
            "sent" => IssueStatus::Sent,
            "cancelled" => IssueStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("issue status {other:?}"))),
        })
    }
}

impl IssueStatus {
    /// Public (in the archive, readable by anyone) from the moment sending starts: the
    /// mail's "Vis i nettleser" link points there. Drafts and cancelled issues are not.
    /// The same list in SQL is `public_statuses!()`.
    pub fn is_public(self) -> bool {
        matches!(self, IssueStatus::Sending | IssueStatus::Sent)
    }
}

/// [`IssueStatus::is_public`] for SQL (checked against it in the test below).
macro_rules! public_statuses {
    () => {
        "('sending', 'sent')"
    };
}

impl fmt::Display for IssueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An issue as stored: its source, from which the model and the mails are rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIssue {
    pub id: IssueId,
    pub slug: Slug,
    pub subject: String,
    pub period: String,
    /// The publication it belongs to, and that publication's kind (how the source
    /// reads).
    pub publication_id: PublicationId,
    pub publication_kind: crate::domain::PublicationKind,
    pub status: IssueStatus,
    /// The Markdown file as imported.
    pub source: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// When sending began (the first queueing).
    pub send_started_at: Option<Timestamp>,
    /// Set while staff have paused the send.
    pub paused_at: Option<Timestamp>,
    /// A send planned for later or waiting for approval (the draft is locked meanwhile).
    pub plan: Option<SendPlan>,
}

/// A send that staff asked for and that has not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPlan {
    /// When it is to start (the time of the request, for "now" waiting for approval).
    pub at: Timestamp,
    /// The actor who asked (`web:kari`).
    pub requested_by: String,
    /// The actor who approved, when `send_approval` asks for one.
    pub approved_by: Option<String>,
    /// Set when a worker found it more than `schedule_grace_minutes` late.
    pub missed_at: Option<Timestamp>,
}

impl StoredIssue {
    /// The issue model, rebuilt from the stored source: the one way every reader
    /// (sending, test copies, previews, the archive) gets it.
    pub fn model(&self) -> std::result::Result<Issue, crate::render::SourceError> {
        crate::render::parse_issue_as(
            &format!("issue {}", self.slug),
            &self.source,
            self.publication_kind,
        )
        .map(|p| p.issue)
    }
}

/// What saving a draft may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftMode {
    /// Create it, or replace the draft with the same slug (`issue import`).
    CreateOrReplace,
    /// Create it; an issue with the slug is left alone (a new issue in the admin).
    CreateOnly,
    /// Replace the draft; a missing issue is not created (editing in the admin).
    ReplaceOnly,
}

/// Whether an import created a draft or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftSaved {
    Created,
    Updated,
}

/// The columns `issue_from_row` reads, as a literal so queries stay `&'static str`.
macro_rules! issue_columns {
    () => {
        "id, slug, subject, period, publication_id, \
         (SELECT kind FROM publications p WHERE p.id = issues.publication_id) AS publication_kind, status, source, created_at, updated_at, sent_at, send_started_at, paused_at, \
         send_at, send_requested_by, send_approved_by, send_missed_at"
    };
}

fn issue_from_row(row: &AnyRow) -> Result<StoredIssue> {
    let slug: String = row.try_get("slug")?;
    Ok(StoredIssue {
        id: row.try_get("id")?,
        slug: Slug::parse(&slug).map_err(StoreError::Corrupt)?,
        subject: row.try_get("subject")?,
        period: row.try_get("period")?,
        publication_id: row
            .try_get::<Option<PublicationId>, _>("publication_id")?
            .ok_or_else(|| StoreError::Corrupt(format!("issue {slug} has no publication")))?,
        publication_kind: crate::domain::PublicationKind::parse(
            &row.try_get::<Option<String>, _>("publication_kind")?
                .unwrap_or_default(),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        status: IssueStatus::parse(&row.try_get::<String, _>("status")?)?,
        source: row.try_get("source")?,
        created_at: Timestamp::from_unix_ms(row.try_get("created_at")?),
        updated_at: Timestamp::from_unix_ms(row.try_get("updated_at")?),
        sent_at: row
            .try_get::<Option<i64>, _>("sent_at")?
            .map(Timestamp::from_unix_ms),
        send_started_at: row
            .try_get::<Option<i64>, _>("send_started_at")?
            .map(Timestamp::from_unix_ms),
        paused_at: row
            .try_get::<Option<i64>, _>("paused_at")?
            .map(Timestamp::from_unix_ms),
        plan: match row.try_get::<Option<i64>, _>("send_at")? {
            None => None,
            Some(at) => Some(SendPlan {
                at: Timestamp::from_unix_ms(at),
                requested_by: row
                    .try_get::<Option<String>, _>("send_requested_by")?
                    .unwrap_or_default(),
                approved_by: row.try_get("send_approved_by")?,
                missed_at: row
                    .try_get::<Option<i64>, _>("send_missed_at")?
                    .map(Timestamp::from_unix_ms),
            }),
        },
    })
}

impl Store {
    /// Creates the draft `issue.meta.slug`, or replaces it while it is still a draft.
    /// An issue that is sending, sent or cancelled is never changed.
    pub async fn save_draft(
        &self,
        issue: &Issue,
        source: &str,
        actor: &Actor,
    ) -> Result<DraftSaved> {
        self.save_draft_as(issue, source, actor, DraftMode::CreateOrReplace)
            .await
    }

    /// [`Store::save_draft`], doing only what `mode` allows.
    pub async fn save_draft_as(
        &self,
        issue: &Issue,
        source: &str,
        actor: &Actor,
        mode: DraftMode,
    ) -> Result<DraftSaved> {
        let meta = &issue.meta;
        let now = Timestamp::now().unix_ms();
        let date = meta.date.map(|d| d.to_string());
        let (_turn, mut tx) = self.begin_write().await?;
        let publication_id: Option<PublicationId> =
            sqlx::query_scalar("SELECT id FROM publications WHERE slug = $1")
                .bind(meta.publication.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(publication_id) = publication_id else {
            tx.rollback().await?;
            return Err(StoreError::PublicationNotFound(
                meta.publication.to_string(),
            ));
        };
        let found = sqlx::query("SELECT status, send_at FROM issues WHERE slug = $1")
            .bind(meta.slug.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let status = match &found {
            Some(row) => {
                if row.try_get::<Option<i64>, _>("send_at")?.is_some() {
                    return Err(StoreError::IssuePlanned(meta.slug.to_string()));
                }
                Some(IssueStatus::parse(&row.try_get::<String, _>("status")?)?)
            }
            None => None,
        };
        let saved = match status {
            None if mode == DraftMode::ReplaceOnly => {
                return Err(StoreError::IssueNotFound(meta.slug.to_string()));
            }
            Some(_) if mode == DraftMode::CreateOnly => {
                return Err(StoreError::IssueExists(meta.slug.to_string()));
            }
            None => {
                let publication_slug: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM publications WHERE slug = $1")
                        .bind(meta.slug.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                if publication_slug.is_some() {
                    tx.rollback().await?;
                    return Err(StoreError::SlugIsPublication(meta.slug.to_string()));
                }
                sqlx::query(
                    "INSERT INTO issues (slug, subject, period, preheader, audience, issue_date, source, status, \
                     created_at, updated_at, publication_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $8, $9)",
                )
                .bind(meta.slug.as_str())
                .bind(&meta.subject)
                .bind(&meta.period)
                .bind(&meta.preheader)
                .bind(meta.audience.as_deref())
                .bind(date)
                .bind(source)
                .bind(now)
                .bind(publication_id)
                .execute(&mut *tx)
                .await?;
                DraftSaved::Created
            }
            Some(IssueStatus::Draft) => {
                let updated = sqlx::query(
                    "UPDATE issues SET subject = $1, period = $2, preheader = $3, audience = $4, issue_date = $5, \
                     source = $6, updated_at = $7, publication_id = $9 WHERE slug = $8 AND status = 'draft'",
                )
                .bind(&meta.subject)
                .bind(&meta.period)
                .bind(&meta.preheader)
                .bind(meta.audience.as_deref())
                .bind(date)
                .bind(source)
                .bind(now)
                .bind(meta.slug.as_str())
                .bind(publication_id)
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::ConcurrentChange(meta.slug.to_string()));
                }
                DraftSaved::Updated
            }
            Some(other) => {
                return Err(StoreError::IssueNotDraft {
                    slug: meta.slug.to_string(),
                    status: other.to_string(),
                });
            }
        };
        let action = if saved == DraftSaved::Created {
            AuditAction::IssueCreate
        } else {
            AuditAction::IssueUpdate
        };
        audit::record(&mut tx, actor, action, Some(meta.slug.as_str()), None).await?;
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn issue(&self, slug: &Slug) -> Result<Option<StoredIssue>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            issue_columns!(),
            " FROM issues WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(issue_from_row).transpose()
    }

    pub async fn issue_by_id(&self, id: IssueId) -> Result<StoredIssue> {
        let row = sqlx::query(concat!(
            "SELECT ",
            issue_columns!(),
            " FROM issues WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(issue_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::IssueNotFound(format!("#{id}")))
    }

    pub async fn existing_issue(&self, slug: &Slug) -> Result<StoredIssue> {
        self.issue(slug)
            .await?
            .ok_or_else(|| StoreError::IssueNotFound(slug.to_string()))
    }

    /// Public issues (see [`IssueStatus::is_public`]), the most recent first: the
    /// archive.
    pub async fn public_issues(&self) -> Result<Vec<StoredIssue>> {
        self.fetch_issues(concat!(
            "SELECT ",
            issue_columns!(),
            " FROM issues WHERE status IN ",
            public_statuses!(),
            " \
             ORDER BY COALESCE(sent_at, send_started_at) DESC, id DESC"
        ))
        .await
    }

    /// All issues, newest first.
    pub async fn list_issues(&self) -> Result<Vec<StoredIssue>> {
        self.fetch_issues(concat!(
            "SELECT ",
            issue_columns!(),
            " FROM issues ORDER BY created_at DESC, id DESC"
        ))
        .await
    }

    async fn fetch_issues(&self, sql: &'static str) -> Result<Vec<StoredIssue>> {
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(issue_from_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_list_of_public_statuses_is_is_public() {
        for status in [
            IssueStatus::Draft,
            IssueStatus::Sending,
            IssueStatus::Sent,
            IssueStatus::Cancelled,
        ] {
            assert_eq!(
                public_statuses!().contains(&format!("'{status}'")),
                status.is_public(),
                "{status}"
            );
        }
    }
}
