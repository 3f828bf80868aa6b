//! Erasing a person at their request; their copy of their data is `innsyn.rs`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::error::PageError;
use super::super::guard::{StaffForm, StaffUser};
use super::super::page::{Chrome, count, render, shown};
use super::super::path::ContactIdPath;
use crate::domain::ContactId;
use crate::ops::ContactError;
use crate::store::StoreError;
use crate::web::AppState;

#[derive(Template)]
#[template(path = "admin/contact_remove.html")]
struct RemovePage {
    chrome: Chrome,
    id: ContactId,
    email: String,
    /// «3 utsendinger»
    deliveries: String,
    /// «1 e-post»
    inbound: String,
}

/// GET /admin/contacts/{id}/remove: what erasing will remove, and the button.
pub async fn remove_form(
    State(state): State<AppState>,
    user: StaffUser,
    ContactIdPath(id): ContactIdPath,
) -> Result<Response, PageError> {
    let record = state.admin.contacts.record(id).await?;
    Ok(render(RemovePage {
        chrome: Chrome::new(&user, None),
        id,
        email: shown(record.contact.email.as_str()),
        deliveries: count(record.deliveries.len() as i64, "utsending", "utsendinger"),
        inbound: count(record.inbound.len() as i64, "e-post", "e-poster"),
    }))
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// POST /admin/contacts/{id}/remove
pub async fn remove(
    State(state): State<AppState>,
    ContactIdPath(id): ContactIdPath,
    StaffForm { user, form }: StaffForm<RemoveForm>,
) -> Result<Response, PageError> {
    if form.confirm != "ja" {
        return Err(PageError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Slettingen er ikke bekreftet",
            "Kryss av for at du vil slette kontakten for godt, og prøv igjen. Ingenting er slettet.",
        ));
    }
    match state.admin.contacts.erase(id, &user.actor()).await {
        Ok(_) => Ok(Redirect::to("/admin/contacts?melding=slettet").into_response()),
        // Erased already (a second click): the page says that nothing more was.
        Err(ContactError::Store(StoreError::ContactNotFound(_))) => Err(PageError::NotFound {
            title: "Kontakten finnes ikke",
            message: "Kontakten er allerede slettet, eller nummeret er feil. Ingenting mer er slettet.",
        }),
        Err(e) => Err(e.into()),
    }
}
