//! Drafts: import or replace one (Markdown or a Word document), save the web form's
//! fields, read, list and preview.

use super::{IssueError, Issues, PREVIEW_EMAIL};
use crate::docx::{DocxError, DocxOptions, Omission};
use crate::domain::{AuditAction, Issue, Slug};
use crate::render::{
    MAX_HTML_BYTES, MAX_SOURCE_BYTES, Personal, SourceNote, SourceParts, parse_issue_as, render,
};
use crate::store::{Actor, DraftMode, DraftSaved, StoredIssue};

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

impl Issues {
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
        let context = self.render.with_staff(&self.store.staff_settings().await?);
        let rendered = render(&parsed.issue, &publication, &context)?;
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
        let context = self.render.with_staff(&self.store.staff_settings().await?);
        let rendered = render(&issue, &publication, &context)?;
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
}
