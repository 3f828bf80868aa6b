//! Public pages: the archive of sent issues and the shared stylesheet.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse};

use super::AppState;
use super::error::AppError;
use crate::domain::Slug;
use crate::store::{IssueStatus, StoredIssue};

#[derive(Template)]
#[template(path = "pages/archive.html")]
struct ArchivePage {
    issues: Vec<StoredIssue>,
}

/// GET /arkiv: sent issues, newest first. Drafts are never listed.
pub async fn archive(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let issues = state.store.sent_issues().await?;
    Ok(Html(ArchivePage { issues }.render()?))
}

/// GET /arkiv/{slug}: the web version of a sent issue.
pub async fn archived_issue(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Html<Bytes>, AppError> {
    let slug = Slug::parse(&slug).map_err(|_| AppError::NotFound)?;
    if let Some(page) = state.archive_cache.read().expect("cache lock").get(&slug) {
        return Ok(Html(page.clone()));
    }
    let stored = state.store.issue(&slug).await?.ok_or(AppError::NotFound)?;
    // Public from the moment sending starts: the mail's "Vis i nettleser" link points here.
    if !matches!(stored.status, IssueStatus::Sending | IssueStatus::Sent) {
        // Drafts (and issues still being sent) are not public.
        return Err(AppError::NotFound);
    }
    let issue = stored.model()?;
    let page = Bytes::from(crate::render::render_web(&issue, &state.render)?);
    // A sent issue never changes, so its page is rendered once per process. One that is
    // still sending can be cancelled, which must take it down at once: not cached.
    if stored.status == IssueStatus::Sent {
        state
            .archive_cache
            .write()
            .expect("cache lock")
            .insert(slug, page.clone());
    }
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
