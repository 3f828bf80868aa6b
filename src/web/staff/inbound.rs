//! Mail kept for staff: one message as text (never its HTML rendered, attachments
//! named and never opened).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::guard::StaffUser;
use super::page::{Chrome, failure, grouped, oslo_time, problem_page, render, shown};
use crate::ops::InboundOpsError;
use crate::web::AppState;

fn message_not_found() -> Response {
    problem_page(
        StatusCode::NOT_FOUND,
        "Fant ikke e-posten",
        "Det finnes ingen lagret e-post med dette nummeret. Kanskje er den slettet sammen med avsenderen.",
    )
}

#[derive(Template)]
#[template(path = "admin/inbound_message.html")]
struct MessagePage {
    chrome: Chrome,
    id: i64,
    received: String,
    kind: &'static str,
    result: String,
    contact_id: Option<i64>,
    from: String,
    to: String,
    date: String,
    subject: String,
    message_id: String,
    text: String,
    cut: bool,
    unreadable: bool,
    attachments: Vec<(String, String)>,
}

/// GET /admin/inbound/{id}
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    Path(raw): Path<String>,
) -> Response {
    let Some(id) = raw.parse::<i64>().ok().filter(|id| *id > 0) else {
        return message_not_found();
    };
    let (entry, message) = match state.admin.inbound.readable(id).await {
        Ok(found) => found,
        Err(InboundOpsError::NotFound(_)) => return message_not_found(),
        Err(e) => return failure(&e),
    };
    render(MessagePage {
        chrome: Chrome::new(&user, None),
        id,
        received: oslo_time(entry.received_at),
        kind: entry.kind.norwegian(),
        result: shown(&entry.result),
        contact_id: entry.contact_id,
        from: shown(&message.from),
        to: shown(&message.to),
        date: shown(&message.date),
        subject: shown(&message.subject),
        message_id: shown(&message.message_id),
        text: shown(&message.text),
        cut: message.cut,
        unreadable: message.unreadable,
        attachments: message
            .attachments
            .iter()
            .map(|(name, size)| (shown(name), grouped(*size as i64)))
            .collect(),
    })
}
