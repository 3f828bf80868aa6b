//! Leaving the list: the personal link in every mail, and RFC 8058 one-click.
//!
//! GET shows a page with one button and changes nothing (link scanners follow GETs).
//! POST unsubscribes. A POST with the body `List-Unsubscribe=One-Click` comes from a
//! mail client's unsubscribe button: it is answered without a page, cookie, CSRF token
//! or redirect, as RFC 8058 asks.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::AppError;
use super::subscribe::MessagePage;
use crate::store::UnsubscribeOutcome;

#[derive(Template)]
#[template(path = "pages/unsubscribe.html")]
struct UnsubscribePage {
    token: String,
}

fn invalid_link() -> MessagePage {
    MessagePage {
        title: "Lenken virker ikke",
        paragraphs: vec![
            "Vi kjenner ikke igjen denne avmeldingslenken. Skriv til oss, så melder vi deg av."
                .into(),
        ],
        link: Some(("/arkiv", "Til arkivet")),
    }
}

fn page(status: StatusCode, page: impl Template) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// GET /avmeld/{token}
pub async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match state.subscriptions.leave_token(&token) {
        Some(_) => page(StatusCode::OK, UnsubscribePage { token }),
        None => page(StatusCode::NOT_FOUND, invalid_link()),
    }
}

/// POST /avmeld/{token}: the page's button, or a mail client's one-click request.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: String,
) -> Result<Response, AppError> {
    let one_click = body
        .split('&')
        .any(|pair| pair.trim() == "List-Unsubscribe=One-Click");
    let Some(token) = state.subscriptions.leave_token(&token) else {
        return if one_click {
            Ok(StatusCode::NOT_FOUND.into_response())
        } else {
            page(StatusCode::NOT_FOUND, invalid_link())
        };
    };
    let outcome = state.subscriptions.unsubscribe(&token).await?;
    if one_click {
        return Ok(match outcome {
            UnsubscribeOutcome::Unknown => StatusCode::NOT_FOUND.into_response(),
            _ => (StatusCode::OK, "Du er meldt av.").into_response(),
        });
    }
    let email = match outcome {
        UnsubscribeOutcome::Unsubscribed(email) | UnsubscribeOutcome::AlreadyOut(email) => email,
        UnsubscribeOutcome::Unknown => return page(StatusCode::NOT_FOUND, invalid_link()),
    };
    page(
        StatusCode::OK,
        MessagePage {
            title: "Du er meldt av",
            paragraphs: vec![
                format!("{email} står ikke lenger på KOMs kontaktliste og får ingen flere e-poster fra oss."),
                "Meldte du deg av ved en feil? Du kan melde deg på igjen; du får da en e-post du må bekrefte.".into(),
            ],
            link: Some(("/subscribe", "Meld deg på igjen")),
        },
    )
}
