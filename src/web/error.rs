//! The one error type of the HTTP layer. Its response shows the visitor a page in
//! Norwegian saying what they can do; the internal cause goes to the log only, never to
//! the client.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Archive(#[from] crate::ops::ArchiveError),
    #[error(transparent)]
    Template(#[from] askama::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error("could not send mail: {0}")]
    Send(crate::mail::SendError),
}

impl From<crate::mail::ConfirmationError> for AppError {
    fn from(e: crate::mail::ConfirmationError) -> Self {
        match e {
            crate::mail::ConfirmationError::Build(e) => AppError::Mail(e),
            crate::mail::ConfirmationError::Send(e) => AppError::Send(e),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Fant ikke siden",
                "Siden du ba om finnes ikke. Kanskje lenken er gammel?",
            ),
            AppError::Send(_) => {
                tracing::error!(error = %self, "request failed: mail not sent");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Vi fikk ikke sendt e-posten",
                    "Vi klarte ikke å sende e-posten akkurat nå. Prøv igjen om en stund.",
                )
            }
            _ => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Noe gikk galt",
                    "Vi klarte ikke å vise siden akkurat nå. Prøv igjen om litt.",
                )
            }
        };
        let body = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| title.to_owned());
        (status, Html(body)).into_response()
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// The framework's own refusals (a body over the limit, a body that is not a form) are
/// English plain text: the visitor gets the Norwegian page instead, and the admin API
/// JSON.
pub async fn rejection_in_words(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/admin/api/");
    let response = next.run(request).await;
    let status = response.status();
    let plain_text = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    let (title, message, english) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "For mye på én gang",
            "Det du sendte, var større enn siden tar imot. Gå tilbake og prøv igjen med mindre tekst.",
            "the request body is larger than this endpoint accepts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "Siden tar ikke imot dette",
            "Siden tar bare imot skjemaer sendt fra nettleseren. Gå tilbake og send skjemaet derfra.",
            "this endpoint takes a form (application/x-www-form-urlencoded) or the raw message it documents",
        ),
        _ => return response,
    };
    if !plain_text {
        return response;
    }
    if api {
        return (status, axum::Json(serde_json::json!({ "error": english }))).into_response();
    }
    let body = ErrorPage { title, message }
        .render()
        .unwrap_or_else(|_| title.to_owned());
    (status, Html(body)).into_response()
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(crate::mail::SendError => AppError::Send);
