//! Public pages: the archive of issues that went out, and the shared stylesheet.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use super::AppState;
use super::error::AppError;
use super::path::ArchiveSlugPath;
use crate::domain::Publication;
use crate::store::StoredIssue;

/// One publication's part of the archive.
struct Shelf {
    slug: String,
    name: String,
    description: String,
    issues: Vec<StoredIssue>,
}

impl Shelf {
    fn new(publication: Publication, issues: Vec<StoredIssue>) -> Self {
        Shelf {
            slug: publication.slug.to_string(),
            name: publication.name.as_str().to_owned(),
            description: publication.description.as_str().to_owned(),
            issues,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/archive.html")]
struct ArchivePage {
    shelves: Vec<Shelf>,
}

#[derive(Template)]
#[template(path = "pages/publication_archive.html")]
struct PublicationPage {
    shelf: Shelf,
}

/// GET /arkiv: every publication with its public issues, newest first. Drafts are
/// never listed.
pub async fn archive(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let shelves = state
        .archive
        .by_publication()
        .await?
        .into_iter()
        .map(|(p, issues)| Shelf::new(p, issues))
        .collect();
    Ok(Html(ArchivePage { shelves }.render()?))
}

#[derive(Template)]
#[template(path = "pages/feed.xml")]
struct Feed {
    base: String,
    /// The archive page the feed follows: `/arkiv` or `/arkiv/{publication}`.
    page: String,
    title: String,
    subtitle: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

struct FeedEntry {
    slug: String,
    subject: String,
    period: String,
    updated: String,
}

/// GET /arkiv/feed.xml: every public issue as an Atom feed (RFC 4287), newest first.
pub async fn feed(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let issues = state.archive.issues().await?;
    atom(
        &state,
        "/arkiv".to_owned(),
        "KOMs kontaktliste".to_owned(),
        "Det Koordineringsenheten mot menneskehandel (KOM) sender til kontaktlisten: nyhetsbrev, oversikt over rettsavgjørelser og tilstandsrapport.".to_owned(),
        &issues,
    )
}

/// GET /arkiv/{publication}/feed.xml: one publication's public issues.
pub async fn publication_feed(
    State(state): State<AppState>,
    ArchiveSlugPath(slug): ArchiveSlugPath,
) -> Result<impl IntoResponse, AppError> {
    let (publication, issues) = state
        .archive
        .publication(slug.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    atom(
        &state,
        format!("/arkiv/{}", publication.slug),
        publication.name.as_str().to_owned(),
        publication.description.as_str().to_owned(),
        &issues,
    )
}

fn atom(
    state: &AppState,
    page: String,
    title: String,
    subtitle: String,
    issues: &[StoredIssue],
) -> Result<impl IntoResponse + use<>, AppError> {
    let entries: Vec<FeedEntry> = issues
        .iter()
        .map(|issue| FeedEntry {
            slug: issue.slug.to_string(),
            subject: issue.subject.clone(),
            period: issue.period.clone(),
            updated: issue
                .sent_at
                .or(issue.send_started_at)
                .unwrap_or(issue.updated_at)
                .to_rfc3339(),
        })
        .collect();
    let updated = entries
        .iter()
        .map(|e| e.updated.clone())
        .max()
        .unwrap_or_else(|| crate::domain::Timestamp::from_unix_ms(0).to_rfc3339());
    let body = Feed {
        base: state.archive.base_url().to_owned(),
        page,
        title,
        subtitle,
        updated,
        entries,
    }
    .render()?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    ))
}

/// GET /arkiv/{slug}: a publication's page of issues, or the web version of a public
/// issue (publication and issue slugs never coincide).
pub async fn archived_issue(
    State(state): State<AppState>,
    ArchiveSlugPath(slug): ArchiveSlugPath,
) -> Result<Html<Bytes>, AppError> {
    if let Some((publication, issues)) = state.archive.publication(slug.as_str()).await? {
        let page = PublicationPage {
            shelf: Shelf::new(publication, issues),
        }
        .render()?;
        return Ok(Html(Bytes::from(page)));
    }
    let page = state.archive.page(&slug).await?.ok_or(AppError::NotFound)?;
    Ok(Html(page))
}

/// GET /static/stil.css
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/stil.css"),
    )
}
