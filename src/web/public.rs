//! Public pages: the archive of issues that went out, and the shared stylesheet.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};

use super::AppState;
use super::error::AppError;
use crate::domain::Slug;
use crate::store::StoredIssue;

#[derive(Template)]
#[template(path = "pages/archive.html")]
struct ArchivePage {
    issues: Vec<StoredIssue>,
}

/// GET /arkiv: public issues, newest first. Drafts are never listed.
pub async fn archive(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let issues = state.archive.issues().await?;
    Ok(Html(ArchivePage { issues }.render()?))
}

#[derive(Template)]
#[template(path = "pages/feed.xml")]
struct Feed {
    base: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

struct FeedEntry {
    slug: String,
    subject: String,
    period: String,
    updated: String,
}

/// GET /arkiv/feed.xml: the public issues as an Atom feed (RFC 4287), newest first.
pub async fn feed(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let issues = state.archive.issues().await?;
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
        updated,
        entries,
    }
    .render()?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    ))
}

/// GET /arkiv/{slug}: the web version of a public issue.
pub async fn archived_issue(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Html<Bytes>, AppError> {
    let slug = Slug::parse(&slug).map_err(|_| AppError::NotFound)?;
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
