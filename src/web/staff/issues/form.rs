//! The issue form: a new draft, a stored one (read-only once sending has started), and
//! saving it with every refusal at its field, at its line of the body, or above the form.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::notice;
use crate::render::{SourceNote, SourceParts, parse_issue_as};
use crate::store::{DraftMode, IssueStatus};
use crate::web::AppState;
use crate::web::staff::dashboard::NoticeQuery;
use crate::web::staff::error::{PageError, Refusal};
use crate::web::staff::guard::{StaffForm, StaffUser};
use crate::web::staff::page::Chrome;
use crate::web::staff::path::IssueSlugPath;

/// Problems placed where staff will look: next to a field, at a line of the body, or
/// above the form.
#[derive(Default)]
pub(super) struct Placed {
    slug: Option<String>,
    publication: Option<String>,
    link: Option<String>,
    link_text: Option<String>,
    subject: Option<String>,
    period: Option<String>,
    preheader: Option<String>,
    audience: Option<String>,
    date: Option<String>,
    /// (line of the body, what is wrong there)
    body: Vec<(usize, String)>,
    general: Vec<String>,
}

impl Placed {
    fn any(&self) -> bool {
        self.slug.is_some()
            || self.publication.is_some()
            || self.link.is_some()
            || self.link_text.is_some()
            || self.subject.is_some()
            || self.period.is_some()
            || self.preheader.is_some()
            || self.audience.is_some()
            || self.date.is_some()
            || !self.body.is_empty()
            || !self.general.is_empty()
    }

    fn count(&self) -> usize {
        [
            &self.slug,
            &self.publication,
            &self.link,
            &self.link_text,
            &self.subject,
            &self.period,
            &self.preheader,
            &self.audience,
            &self.date,
        ]
        .iter()
        .filter(|f| f.is_some())
        .count()
            + self.body.len()
            + self.general.len()
    }

    /// Every problem for the summary above the form: where it is (the field's id), and
    /// what is wrong, in the form's order.
    fn summary(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (id, label, problem) in [
            ("slug", "Kortnavn", &self.slug),
            ("publication", "Publikasjon", &self.publication),
            ("subject", "Emne", &self.subject),
            ("period", "Periode", &self.period),
            ("preheader", "Ingress", &self.preheader),
            ("audience", "Målgruppe", &self.audience),
            ("date", "Dato", &self.date),
            ("link", "Lenke", &self.link),
            ("link_text", "Lenketekst", &self.link_text),
        ] {
            if let Some(problem) = problem {
                out.push((id, format!("{label}: {problem}")));
            }
        }
        for (line, problem) in &self.body {
            out.push(("body", format!("Teksten, linje {line}: {problem}")));
        }
        out
    }

    /// Each refusal at its field, at its line of the body (`body_offset`: the lines
    /// before the body in the source it is about), or above the form.
    pub(super) fn from_refusals(refusals: Vec<Refusal>, body_offset: usize) -> Self {
        let mut placed = Placed::default();
        for refusal in refusals {
            let slot = match refusal.field {
                Some("slug") => &mut placed.slug,
                Some("publication") => &mut placed.publication,
                Some("link") => &mut placed.link,
                Some("link_text") => &mut placed.link_text,
                Some("subject") => &mut placed.subject,
                Some("period") => &mut placed.period,
                Some("preheader") => &mut placed.preheader,
                Some("audience") => &mut placed.audience,
                Some("date") => &mut placed.date,
                _ => match refusal.line {
                    Some(line) if line > body_offset => {
                        placed.body.push((line - body_offset, refusal.message));
                        continue;
                    }
                    _ => {
                        placed.general.push(refusal.message);
                        continue;
                    }
                },
            };
            // One message per field is enough: the first.
            slot.get_or_insert(refusal.message);
        }
        placed
    }
}

#[derive(Template)]
#[template(path = "admin/issue_form.html")]
struct IssueFormPage {
    chrome: Chrome,
    /// `None`: a new issue.
    slug: Option<String>,
    status: &'static str,
    locked: bool,
    fields: SourceParts,
    problems: Placed,
    /// What was carried over differently (raw HTML shown as text), by body line.
    notes: Vec<(usize, &'static str)>,
    /// What the Word document this version came from holds that the issue does not.
    word_report: Vec<String>,
    /// The publications the issue can belong to.
    publications: Vec<PublicationOption>,
}

/// One choice of the form's publication select.
struct PublicationOption {
    slug: String,
    name: String,
    announcement: bool,
}

impl IssueFormPage {
    /// Whether `slug` is the publication the form's fields name (empty is the
    /// newsletter).
    fn is_chosen(&self, slug: &str) -> bool {
        let chosen = self.fields.publication.trim();
        if chosen.is_empty() {
            slug == crate::domain::DEFAULT_PUBLICATION
        } else {
            slug == chosen
        }
    }
}

/// The publications for the form.
async fn publication_options(state: &AppState) -> Result<Vec<PublicationOption>, PageError> {
    Ok(state
        .admin
        .issues
        .publications()
        .await?
        .into_iter()
        .map(|p| PublicationOption {
            announcement: p.kind == crate::domain::PublicationKind::Announcement,
            slug: p.slug.to_string(),
            name: p.name.as_str().to_owned(),
        })
        .collect())
}

fn notes_of(notes: &[SourceNote], body_offset: usize) -> Vec<(usize, &'static str)> {
    notes
        .iter()
        .map(|n| (n.line.saturating_sub(body_offset), n.kind.norwegian()))
        .collect()
}

/// The form of a draft not stored as it is shown: new, or typed (or uploaded) and
/// refused, with every problem placed (then the page answers 422). `slug`: the stored
/// draft's, when it is one.
pub(super) async fn unsaved_form(
    state: &AppState,
    user: &StaffUser,
    slug: Option<String>,
    fields: SourceParts,
    problems: Placed,
    word_report: Vec<String>,
) -> Result<Response, PageError> {
    let page = IssueFormPage {
        publications: publication_options(state).await?,
        chrome: Chrome::new(user, None),
        status: if slug.is_some() {
            "Utkast"
        } else {
            "Nytt utkast"
        },
        slug,
        locked: false,
        fields,
        notes: Vec::new(),
        word_report,
        problems,
    };
    let status = if page.problems.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// GET /admin/issues/new
pub async fn new_form(
    State(state): State<AppState>,
    user: StaffUser,
) -> Result<Response, PageError> {
    let (fields, problems) = (SourceParts::default(), Placed::default());
    unsaved_form(&state, &user, None, fields, problems, Vec::new()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct IssueFields {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    preheader: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    publication: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    link_text: String,
    #[serde(default)]
    body: String,
}

impl IssueFields {
    fn into_parts(self) -> SourceParts {
        // Browsers send text areas with CRLF line ends; the source keeps LF.
        SourceParts {
            slug: self.slug.trim().to_owned(),
            subject: self.subject,
            period: self.period,
            preheader: self.preheader,
            audience: self.audience,
            date: self.date,
            publication: self.publication,
            link: self.link,
            link_text: self.link_text,
            body: self.body.replace("\r\n", "\n"),
        }
    }
}

/// Saves the form's draft, or shows the form again with every problem and what was
/// Saves the form's draft, or shows the form again with every refusal and what was
/// typed.
async fn save_parts(
    state: &AppState,
    user: &StaffUser,
    parts: SourceParts,
    mode: DraftMode,
) -> Result<Response, PageError> {
    let result = state
        .admin
        .issues
        .save_form(&parts, mode, &user.actor())
        .await;
    let refused = match result {
        Ok(saved) => {
            let code = if mode == DraftMode::CreateOnly {
                "opprettet"
            } else {
                "lagret"
            };
            let slug = saved.issue.meta.slug;
            return Ok(
                Redirect::to(&format!("/admin/issues/{slug}?melding={code}")).into_response(),
            );
        }
        Err(e) => PageError::from(e).for_form()?,
    };
    let problems = Placed::from_refusals(refused, parts.body_line_offset());
    let slug = (mode != DraftMode::CreateOnly).then(|| parts.slug.clone());
    unsaved_form(state, user, slug, parts, problems, Vec::new()).await
}

/// POST /admin/issues/new
pub async fn create(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<IssueFields>,
) -> Result<Response, PageError> {
    save_parts(&state, &user, form.into_parts(), DraftMode::CreateOnly).await
}

/// POST /admin/issues/{slug}: the slug is the URL's, whatever the form says.
pub async fn save(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, form }: StaffForm<IssueFields>,
) -> Result<Response, PageError> {
    let mut parts = form.into_parts();
    parts.slug = slug.to_string();
    save_parts(&state, &user, parts, DraftMode::ReplaceOnly).await
}

/// GET /admin/issues/{slug}: the form with the stored draft, or the issue read-only
/// once sending has started.
pub async fn edit_form(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let (stored, _) = state.admin.issues.get(&slug).await?;
    let fields = SourceParts::split(&stored.source).unwrap_or_default();
    let offset = stored.source.len().saturating_sub(fields.body.len());
    let offset = stored.source[..offset].matches('\n').count();
    let notes = parse_issue_as("utkast", &stored.source, stored.publication_kind)
        .map(|parsed| notes_of(&parsed.notes, offset))
        .unwrap_or_default();
    let word_report = state.admin.issues.docx_report(&stored).await?;
    let page = IssueFormPage {
        publications: publication_options(&state).await?,
        chrome: Chrome::new(&user, notice(&query.melding)),
        slug: Some(slug.to_string()),
        status: crate::web::staff::dashboard::status_word(
            stored.status,
            stored.paused_at.is_some(),
        ),
        locked: stored.status != IssueStatus::Draft || stored.plan.is_some(),
        fields,
        problems: Placed::default(),
        notes,
        word_report: word_report.iter().map(|o| o.norwegian()).collect(),
    };
    Ok(Html(page.render()?).into_response())
}
