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
