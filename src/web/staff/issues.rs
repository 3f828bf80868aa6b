//! Writing an issue: the list, the form (fields for the front matter, Markdown for the
//! body), uploading an issue file, and the preview.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::dashboard::{IssueRow, NoticeQuery};
use super::error::{PageError, not_draft};
use super::guard::{StaffForm, StaffUpload, StaffUser};
use super::page::{Chrome, failure, grouped, not_found, problem_page, render};
use super::path::IssueSlugPath;
use crate::domain::Slug;
use crate::ops::{IssueError, IssueLine};
use crate::render::{MAX_HTML_BYTES, SourceError, SourceNote, SourceParts, parse_issue_as};
use crate::store::{DraftMode, IssueStatus};
use crate::web::AppState;

/// What a redirect's `melding` says, in words (never text from the request itself).
pub fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "opprettet" => "Utkastet er opprettet.",
        "lagret" => "Utkastet er lagret.",
        "lastet-opp" => "Filen er lest og lagret som utkast.",
        "word" => {
            "Word-dokumentet er lest og lagret som utkast. Teksten under er utgaven slik den ble lest: les den gjennom, og rett den her om noe ble feil."
        }
        "test" => "Testkopien er sendt. Sjekk innboksen.",
        "startet" => "Utsendingen er startet.",
        "pause" => "Utsendingen er satt på pause. Ingen nye e-poster går ut før du fortsetter.",
        "fortsetter" => "Utsendingen fortsetter.",
        "ny-runde" => "De som ikke fikk utgaven på grunn av en midlertidig feil, står i kø igjen.",
        "ingen-ny-runde" => "Ingen mottakere hadde en midlertidig feil å sende på nytt til.",
        "planlagt" => "Utsendingen er planlagt. Den starter av seg selv til oppgitt tid.",
        "venter-godkjenning" => "Utsendingen venter nå på godkjenning fra en annen i staben.",
        "godkjent" => "Utsendingen er godkjent og starter til oppgitt tid.",
        "plan-avbrutt" => "Planen er avbrutt. Utkastet kan endres igjen.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "admin/issues.html")]
struct IssuesPage {
    chrome: Chrome,
    issues: Vec<IssueRow>,
}

/// GET /admin/issues
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let issues = match state.admin.issues.list().await {
        Ok(issues) => issues,
        Err(e) => return failure(&e),
    };
    let rows = issues
        .into_iter()
        .map(|issue| {
            IssueRow::new(&IssueLine {
                issue,
                counts: Default::default(),
            })
        })
        .collect();
    render(IssuesPage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        issues: rows,
    })
}

/// Problems placed where staff will look: next to a field, at a line of the body, or
/// above the form.
#[derive(Default)]
struct Placed {
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

    /// `body_offset`: the lines before the body in the source the problems are about.
    fn from_source(error: &SourceError, body_offset: usize) -> Self {
        let mut placed = Placed::default();
        for problem in &error.problems {
            let text = problem.kind.norwegian();
            let slot = match problem.kind.field() {
                Some("slug") => &mut placed.slug,
                Some("publication") => &mut placed.publication,
                Some("link") => &mut placed.link,
                Some("link_text") => &mut placed.link_text,
                Some("subject") => &mut placed.subject,
                Some("period") => &mut placed.period,
                Some("preheader") => &mut placed.preheader,
                Some("audience") => &mut placed.audience,
                Some("date") => &mut placed.date,
                _ if problem.line > body_offset => {
                    placed.body.push((problem.line - body_offset, text));
                    continue;
                }
                _ => {
                    placed.general.push(text);
                    continue;
                }
            };
            // One message per field is enough: the first.
            slot.get_or_insert(text);
        }
        placed
    }

    fn general(message: String) -> Self {
        Placed {
            general: vec![message],
            ..Default::default()
        }
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

/// The publications for the form, or the failure page.
async fn publication_options(state: &AppState) -> Result<Vec<PublicationOption>, Response> {
    match state.admin.issues.publications().await {
        Ok(list) => Ok(list
            .into_iter()
            .map(|p| PublicationOption {
                announcement: p.kind == crate::domain::PublicationKind::Announcement,
                slug: p.slug.to_string(),
                name: p.name.as_str().to_owned(),
            })
            .collect()),
        Err(e) => Err(failure(&e)),
    }
}

fn notes_of(notes: &[SourceNote], body_offset: usize) -> Vec<(usize, &'static str)> {
    notes
        .iter()
        .map(|n| (n.line.saturating_sub(body_offset), n.kind.norwegian()))
        .collect()
}

/// GET /admin/issues/new
pub async fn new_form(State(state): State<AppState>, user: StaffUser) -> Response {
    let publications = match publication_options(&state).await {
        Ok(list) => list,
        Err(response) => return response,
    };
    render(IssueFormPage {
        publications,
        chrome: Chrome::new(&user, None),
        slug: None,
        status: "Nytt utkast",
        locked: false,
        fields: SourceParts::default(),
        problems: Placed::default(),
        notes: Vec::new(),
        word_report: Vec::new(),
    })
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
/// typed.
async fn save_parts(
    state: &AppState,
    user: &StaffUser,
    parts: SourceParts,
    mode: DraftMode,
) -> Response {
    let result = state
        .admin
        .issues
        .save_form(&parts, mode, &user.actor())
        .await;
    let offset = parts.body_line_offset();
    let problems = match result {
        Ok(saved) => {
            let code = if mode == DraftMode::CreateOnly {
                "opprettet"
            } else {
                "lagret"
            };
            return Redirect::to(&format!(
                "/admin/issues/{}?melding={code}",
                saved.issue.meta.slug
            ))
            .into_response();
        }
        Err(IssueError::Source(error)) => Placed::from_source(&error, offset),
        Err(IssueError::SlugIsPublication(slug)) => Placed {
            slug: Some(format!(
                "«{slug}» er kortnavnet til en publikasjon. Velg et annet kortnavn for utgaven."
            )),
            ..Default::default()
        },
        Err(IssueError::Exists(slug)) => Placed {
            slug: Some(format!(
                "Det finnes allerede en utgave med kortnavnet «{slug}». Velg et annet."
            )),
            ..Default::default()
        },
        Err(IssueError::SourceTooLarge { .. }) => Placed::general(
            "Teksten er for lang: en utgave kan være høyst 1 MiB.".into(),
        ),
        Err(IssueError::TooLarge { size }) => Placed::general(format!(
            "E-posten ville blitt {} KB, over Gmails grense på {} KB (da kuttes den). Gjør utgaven kortere.",
            size / 1024,
            MAX_HTML_BYTES / 1024
        )),
        Err(IssueError::NotDraft { .. }) => Placed::general(not_draft().message),
        Err(IssueError::Planned(_)) => Placed::general(
            "Utsendingen av utgaven er planlagt, så den kan ikke endres nå. Avbryt planen på sendesiden først.".into(),
        ),
        Err(IssueError::UnknownPublication { publication, .. }) => Placed {
            publication: Some(format!(
                "Publikasjonen «{publication}» finnes ikke. Velg en av publikasjonene i listen."
            )),
            ..Default::default()
        },
        Err(IssueError::NotFound(_)) => return not_found(),
        Err(e) => return failure(&e),
    };
    let slug = (mode != DraftMode::CreateOnly).then(|| parts.slug.clone());
    let publications = match publication_options(state).await {
        Ok(list) => list,
        Err(response) => return response,
    };
    let mut response = render(IssueFormPage {
        publications,
        chrome: Chrome::new(user, None),
        status: if slug.is_some() {
            "Utkast"
        } else {
            "Nytt utkast"
        },
        slug,
        locked: false,
        fields: parts,
        problems,
        notes: Vec::new(),
        word_report: Vec::new(),
    });
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

/// POST /admin/issues/new
pub async fn create(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<IssueFields>,
) -> Response {
    save_parts(&state, &user, form.into_parts(), DraftMode::CreateOnly).await
}

/// POST /admin/issues/{slug}: the slug is the URL's, whatever the form says.
pub async fn save(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, form }: StaffForm<IssueFields>,
) -> Response {
    let mut parts = form.into_parts();
    parts.slug = slug.to_string();
    save_parts(&state, &user, parts, DraftMode::ReplaceOnly).await
}

/// The largest issue upload: a Word document with its pictures.
pub const MAX_ISSUE_UPLOAD_BYTES: usize = crate::docx::MAX_DOCX_BYTES + 64 * 1024;

/// POST /admin/issues/upload: an issue file, Markdown with its front matter or a Word
/// document.
pub async fn upload(
    State(state): State<AppState>,
    upload: StaffUpload<MAX_ISSUE_UPLOAD_BYTES>,
) -> Response {
    if crate::docx::is_word_document(&upload.file_name, &upload.bytes) {
        return upload_word(&state, upload).await;
    }
    let user = upload.user;
    let result = state
        .admin
        .issues
        .import_draft(&upload.file_name, &upload.bytes, &user.actor())
        .await;
    let problems = match result {
        Ok(saved) => {
            return Redirect::to(&format!(
                "/admin/issues/{}?melding=lastet-opp",
                saved.issue.meta.slug
            ))
            .into_response();
        }
        Err(IssueError::Source(error)) => error,
        Err(IssueError::NotUtf8 { .. }) => {
            return problem_page(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "Filen kunne ikke leses",
                "Filen er ikke tekst i UTF-8. Lagre den som ren tekst (UTF-8) og last den opp igjen, eller skriv utgaven i skjemaet.",
            );
        }
        Err(IssueError::SourceTooLarge { .. }) => {
            return problem_page(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "Filen er for stor",
                "En utgave kan være høyst 1 MiB. Ingenting ble lagret.",
            );
        }
        Err(e) => return upload_refused(&e),
    };
    // The file had problems: show its text in the form, so staff can mend it here.
    let text = String::from_utf8_lossy(&upload.bytes);
    form_to_mend(&state, &user, &text, &problems, Vec::new()).await
}

/// A Word document: read into a draft (the edit page then shows what was not carried
/// over), or refused in words with nothing stored.
async fn upload_word(state: &AppState, upload: StaffUpload<MAX_ISSUE_UPLOAD_BYTES>) -> Response {
    let accept_changes = upload
        .fields
        .iter()
        .any(|(name, value)| name == "godta-endringer" && value == "ja");
    let options = crate::docx::DocxOptions {
        accept_changes,
        file_name: upload.file_name.clone(),
        ..Default::default()
    };
    let user = upload.user;
    let result = state
        .admin
        .issues
        .import_docx(&upload.file_name, upload.bytes, options, &user.actor())
        .await;
    match result {
        Ok(imported) => Redirect::to(&format!(
            "/admin/issues/{}?melding=word",
            imported.draft.issue.meta.slug
        ))
        .into_response(),
        Err(IssueError::Docx { error, .. }) => problem_page(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Word-dokumentet kunne ikke leses",
            &format!("{} Ingenting ble lagret.", error.norwegian()),
        ),
        Err(IssueError::ConvertedWithProblems { converted, error }) => {
            let report = converted.report.iter().map(|o| o.norwegian()).collect();
            form_to_mend(state, &user, &converted.source, &error, report).await
        }
        Err(e) => upload_refused(&e),
    }
}

/// Why an uploaded issue was not stored, for what both kinds of file share.
fn upload_refused(error: &IssueError) -> Response {
    match error {
        IssueError::NotDraft { .. } => PageError::Refused(vec![not_draft()]).into_response(),
        IssueError::Planned(_) => problem_page(
            axum::http::StatusCode::CONFLICT,
            "Utgaven kan ikke endres",
            "Utsendingen av en utgave med samme kortnavn er planlagt. Avbryt planen på sendesiden først, eller gi filen et nytt kortnavn.",
        ),
        IssueError::TooLarge { size } => problem_page(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Utgaven er for lang",
            &format!(
                "E-posten ville blitt {} KB, over Gmails grense på {} KB. Gjør utgaven kortere. Ingenting ble lagret.",
                size / 1024,
                MAX_HTML_BYTES / 1024
            ),
        ),
        e => failure(e),
    }
}

/// The form with a file's text in it and every problem placed, nothing stored.
async fn form_to_mend(
    state: &AppState,
    user: &StaffUser,
    text: &str,
    problems: &SourceError,
    word_report: Vec<String>,
) -> Response {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (fields, offset) = match SourceParts::split(text) {
        Some(parts) => {
            let offset = text[..text.len() - parts.body.len()].matches('\n').count();
            (parts, offset)
        }
        None => (
            SourceParts {
                body: text.to_owned(),
                ..Default::default()
            },
            0,
        ),
    };
    let publications = match publication_options(state).await {
        Ok(list) => list,
        Err(response) => return response,
    };
    let mut response = render(IssueFormPage {
        publications,
        chrome: Chrome::new(user, None),
        slug: None,
        status: "Nytt utkast",
        locked: false,
        fields,
        problems: Placed::from_source(problems, offset),
        notes: Vec::new(),
        word_report,
    });
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}

/// GET /admin/issues/{slug}: the form with the stored draft, or the issue read-only
/// once sending has started.
pub async fn edit_form(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let (stored, _) = match state.admin.issues.get(&slug).await {
        Ok(found) => found,
        Err(IssueError::NotFound(_)) => return not_found(),
        Err(e) => return failure(&e),
    };
    let fields = SourceParts::split(&stored.source).unwrap_or_default();
    let offset = stored.source.len().saturating_sub(fields.body.len());
    let offset = stored.source[..offset].matches('\n').count();
    let notes = parse_issue_as("utkast", &stored.source, stored.publication_kind)
        .map(|parsed| notes_of(&parsed.notes, offset))
        .unwrap_or_default();
    let word_report = match state.admin.issues.docx_report(&stored).await {
        Ok(report) => report.iter().map(|o| o.norwegian()).collect(),
        Err(e) => return failure(&e),
    };
    let publications = match publication_options(&state).await {
        Ok(list) => list,
        Err(response) => return response,
    };
    render(IssueFormPage {
        publications,
        chrome: Chrome::new(&user, notice(&query.melding)),
        slug: Some(slug.to_string()),
        status: super::dashboard::status_word(stored.status, stored.paused_at.is_some()),
        locked: stored.status != IssueStatus::Draft || stored.plan.is_some(),
        fields,
        problems: Placed::default(),
        notes,
        word_report,
    })
}

#[derive(Template)]
#[template(path = "admin/preview.html")]
struct PreviewPage {
    chrome: Chrome,
    slug: String,
    from_name: String,
    subject: String,
    preheader: String,
    html_kb: String,
    limit_kb: usize,
    over_limit: bool,
    text: String,
    draft: bool,
}

/// GET /admin/issues/{slug}/preview
pub async fn preview(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Response {
    let preview = match state.admin.issues.preview(&slug).await {
        Ok(preview) => preview,
        Err(IssueError::NotFound(_)) => return not_found(),
        Err(e) => return failure(&e),
    };
    let issue = preview.issue.clone();
    let bytes = preview.html.len();
    render(PreviewPage {
        chrome: Chrome::new(&user, None),
        slug: slug.to_string(),
        from_name: state
            .admin
            .from_line
            .split(" <")
            .next()
            .unwrap_or_default()
            .to_owned(),
        subject: issue.meta.subject,
        preheader: issue.meta.preheader,
        html_kb: format!("{:.1}", bytes as f64 / 1024.0).replace('.', ","),
        limit_kb: MAX_HTML_BYTES / 1024,
        over_limit: bytes > MAX_HTML_BYTES,
        text: preview.text,
        draft: preview.stored.status == IssueStatus::Draft,
    })
}

/// A page shown only inside the preview's sandboxed frame: no script can run in it,
/// and only our own pages may frame it.
fn framed(body: String, style_src: &'static str) -> Response {
    let csp = format!(
        "default-src 'none'; style-src {style_src}; img-src 'self' https: data:; \
         frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
    );
    let mut response = Html(body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}

/// GET /admin/issues/{slug}/preview/mail: the HTML mail as a recipient gets it. Its
/// styles are inline (as mail needs), which only this frame allows.
pub async fn preview_mail(
    State(state): State<AppState>,
    _user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Response {
    preview_part(&state, &slug, |p| (p.html, "'unsafe-inline'")).await
}

/// GET /admin/issues/{slug}/preview/web: the web version, as the archive will show it.
pub async fn preview_web(
    State(state): State<AppState>,
    _user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Response {
    preview_part(&state, &slug, |p| (p.web, "'self'")).await
}

/// One part of the preview in its frame: `part` picks the page and its style source.
async fn preview_part(
    state: &AppState,
    slug: &Slug,
    part: impl FnOnce(crate::ops::Preview) -> (String, &'static str),
) -> Response {
    match state.admin.issues.preview(slug).await {
        Ok(preview) => {
            let (body, style_src) = part(preview);
            framed(body, style_src)
        }
        Err(IssueError::NotFound(_)) => not_found(),
        Err(e) => failure(&e),
    }
}

/// `12 345 kontakter` and the like.
pub fn contacts_text(n: i64) -> String {
    if n == 1 {
        "1 kontakt".into()
    } else {
        format!("{} kontakter", grouped(n))
    }
}
