//! What the person has a right to see: their data as a document they read (printed to
//! PDF by staff) and as a JSON file for machines, made from one operation each.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::error::PageError;
use super::super::guard::StaffForm;
use super::super::page::shown;
use super::super::path::ContactIdPath;
use crate::domain::ContactId;
use crate::ops::PersonalDocument;
use crate::web::AppState;

#[derive(Debug, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: String,
}

/// The document: a page of its own, without the admin's menu, so that it prints as
/// the person should read it.
#[derive(Template)]
#[template(path = "innsyn/document.html")]
struct DocumentPage<'a> {
    id: ContactId,
    d: &'a PersonalDocument,
}

/// POST /admin/contacts/{id}/innsyn: the person's copy of their data, as the readable
/// document (`format=html`) or the JSON file. A POST, since it is written to the audit
/// log.
pub async fn personal_data(
    State(state): State<AppState>,
    ContactIdPath(id): ContactIdPath,
    StaffForm { user, form }: StaffForm<ExportForm>,
) -> Result<Response, PageError> {
    let contacts = &state.admin.contacts;
    let controller = &state
        .admin
        .staff_settings
        .controller(&state.admin.controller)
        .await?;
    let (body, content_type, disposition) = if form.format == "html" {
        let document = contacts
            .personal_document(id, controller, &user.actor())
            .await?;
        (
            DocumentPage {
                id,
                d: &shown_document(document),
            }
            .render()?
            .into_bytes(),
            "text/html; charset=utf-8",
            format!("inline; filename=\"innsyn-{id}.html\""),
        )
    } else {
        let data = contacts
            .personal_data(id, controller, &user.actor())
            .await?;
        (
            serde_json::to_vec_pretty(&data)?,
            "application/json",
            format!("attachment; filename=\"innsyn-{id}.json\""),
        )
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Text from outside (the address, names, subjects, the person's mail, staff's notes)
/// as the page shows it: see [`shown`].
fn shown_document(mut d: PersonalDocument) -> PersonalDocument {
    fn show(text: &mut String) {
        *text = shown(text);
    }
    show(&mut d.address);
    d.name.iter_mut().for_each(show);
    d.organisation.iter_mut().for_each(show);
    d.consent.note.iter_mut().for_each(show);
    d.consent.source.iter_mut().for_each(show);
    d.publications.iter_mut().for_each(|p| show(&mut p.name));
    d.deliveries.iter_mut().for_each(|e| show(&mut e.subject));
    for mail in &mut d.mails {
        mail.subject.iter_mut().for_each(show);
        mail.text.iter_mut().for_each(show);
    }
    d
}

/// GET /static/innsyn.css: the document's look on screen and on paper.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../../../static/innsyn.css"),
    )
}
