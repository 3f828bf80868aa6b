//! Uploading an issue file: Markdown with its front matter, or a Word document. A file
//! whose text has problems is shown in the form to mend there; any other refusal is a
//! page of its own, with nothing stored.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::{Placed, unsaved_form};
use crate::ops::IssueError;
use crate::render::SourceParts;
use crate::web::AppState;
use crate::web::staff::error::{PageError, Refusal};
use crate::web::staff::guard::{StaffUpload, StaffUser};

/// The largest issue upload: a Word document with its pictures.
pub const MAX_ISSUE_UPLOAD_BYTES: usize = crate::docx::MAX_DOCX_BYTES + 64 * 1024;

/// POST /admin/issues/upload: an issue file, Markdown with its front matter or a Word
/// document.
pub async fn upload(
    State(state): State<AppState>,
    upload: StaffUpload<MAX_ISSUE_UPLOAD_BYTES>,
) -> Result<Response, PageError> {
    if crate::docx::is_word_document(&upload.file_name, &upload.bytes) {
        return upload_word(&state, upload).await;
    }
    let user = upload.user;
    let result = state
        .admin
        .issues
        .import_draft(&upload.file_name, &upload.bytes, &user.actor())
        .await;
    let refused = match result {
        Ok(saved) => {
            let slug = saved.issue.meta.slug;
            return Ok(
                Redirect::to(&format!("/admin/issues/{slug}?melding=lastet-opp")).into_response(),
            );
        }
        Err(e @ IssueError::Source(_)) => PageError::from(e).for_form()?,
        Err(e) => return Err(e.into()),
    };
    // The file had problems: show its text in the form, so staff can mend it here.
    let text = String::from_utf8_lossy(&upload.bytes);
    form_to_mend(&state, &user, &text, refused, Vec::new()).await
}

/// A Word document: read into a draft (the edit page then shows what was not carried
/// over), or refused in words with nothing stored.
async fn upload_word(
    state: &AppState,
    upload: StaffUpload<MAX_ISSUE_UPLOAD_BYTES>,
) -> Result<Response, PageError> {
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
        Ok(imported) => {
            let slug = imported.draft.issue.meta.slug;
            Ok(Redirect::to(&format!("/admin/issues/{slug}?melding=word")).into_response())
        }
        Err(IssueError::ConvertedWithProblems { converted, error }) => {
            let report = converted.report.iter().map(|o| o.norwegian()).collect();
            let refused = PageError::from(IssueError::Source(error)).for_form()?;
            form_to_mend(state, &user, &converted.source, refused, report).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The form with a file's text in it and every refusal placed, nothing stored.
async fn form_to_mend(
    state: &AppState,
    user: &StaffUser,
    text: &str,
    refused: Vec<Refusal>,
    word_report: Vec<String>,
) -> Result<Response, PageError> {
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
    let problems = Placed::from_refusals(refused, offset);
    unsaved_form(state, user, None, fields, problems, word_report).await
}
