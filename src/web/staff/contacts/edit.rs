//! Changing a contact: address, name, organisation, status (with new consent to confirm
//! someone who left), and putting a bounced address back.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::error::PageError;
use super::super::guard::{StaffForm, StaffUser};
use super::super::path::ContactIdPath;
use super::form::{
    ContactForm, FormProblems, email_of, form_page, name_and_organisation, text_problem,
};
use crate::domain::{
    Consent, ConsentNote, ConsentSource, Contact, ContactChanges, ContactStatus, Timestamp,
};
use crate::web::AppState;

/// GET /admin/contacts/{id}/edit
pub async fn edit_form(
    State(state): State<AppState>,
    user: StaffUser,
    ContactIdPath(id): ContactIdPath,
) -> Result<Response, PageError> {
    let contact = state.admin.contacts.by_id(id).await?;
    let fields = ContactForm {
        email: contact.email.to_string(),
        name: contact
            .name
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        organisation: contact
            .organisation
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default(),
        status: contact.status.as_str().to_owned(),
        ..Default::default()
    };
    Ok(form_page(
        &user,
        Some(id),
        fields,
        FormProblems::default(),
        Vec::new(),
    ))
}

/// POST /admin/contacts/{id}/edit: the changes parsed, then the operation's rules
/// (confirming someone who left needs new consent, among them); each problem at its
/// field.
pub async fn save(
    State(state): State<AppState>,
    ContactIdPath(id): ContactIdPath,
    StaffForm { user, form }: StaffForm<ContactForm>,
) -> Result<Response, PageError> {
    let current = state.admin.contacts.by_id(id).await?;
    let mut problems = FormProblems::default();
    if let Some(changes) = changes_of(&current, &form, &mut problems) {
        if changes.is_empty() {
            return Ok(Redirect::to(&format!("/admin/contacts/{id}")).into_response());
        }
        match state
            .admin
            .contacts
            .edit(&current.email, &changes, &user.actor())
            .await
        {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/admin/contacts/{id}?melding=endret")).into_response(),
                );
            }
            Err(e) => problems.place(PageError::from(e).for_form()?),
        }
    }
    Ok(form_page(&user, Some(id), form, problems, Vec::new()))
}

/// What the form changes of `current`, or `None` with each field's problem in
/// `problems`. A note is new consent when the status becomes confirmed.
fn changes_of(
    current: &Contact,
    form: &ContactForm,
    problems: &mut FormProblems,
) -> Option<ContactChanges> {
    let email = email_of(form, problems);
    let (name, organisation) = name_and_organisation(form, problems);
    let status = form.status.parse::<ContactStatus>().ok();
    if status.is_none() {
        problems.status = Some("Velg en status.".into());
    }
    let note = ConsentNote::parse(&form.note).unwrap_or_else(|e| {
        problems.note = Some(text_problem(&e));
        None
    });
    let (Some(email), Some(status), false) = (email, status, problems.any()) else {
        return None;
    };
    let mut changes = ContactChanges::default();
    if email != current.email {
        changes.email = Some(email);
    }
    if name != current.name {
        changes.name = Some(name);
    }
    if organisation != current.organisation {
        changes.organisation = Some(organisation);
    }
    if status != current.status {
        changes.status = Some(status);
        if let Some(note) = note.filter(|_| status == ContactStatus::Confirmed) {
            changes.consent = Some(Consent {
                source: ConsentSource::Staff,
                at: Timestamp::now(),
                note: Some(note),
            });
        }
    }
    Some(changes)
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    note: String,
}

/// POST /admin/contacts/{id}/reset-bounce
pub async fn reset_bounce(
    State(state): State<AppState>,
    ContactIdPath(id): ContactIdPath,
    StaffForm { user, form }: StaffForm<NoteForm>,
) -> Result<Response, PageError> {
    let note = why_it_works_again(&form.note)?;
    state
        .admin
        .contacts
        .reset_bounced(id, &note, &user.actor())
        .await?;
    Ok(Redirect::to(&format!("/admin/contacts/{id}?melding=tilbake")).into_response())
}

/// The note that says why a bounced address works again: required.
fn why_it_works_again(text: &str) -> Result<ConsentNote, PageError> {
    match ConsentNote::parse(text) {
        Ok(Some(note)) => Ok(note),
        Ok(None) => Err(PageError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Skriv hvorfor adressen virker igjen",
            "Skriv en kort merknad, for eksempel «personen ringte 03.12.2026, postkassen er full igjen». Gå tilbake og prøv igjen; ingenting er endret.",
        )),
        Err(e) => Err(PageError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Merknaden kan ikke brukes",
            format!(
                "{} Gå tilbake og prøv igjen; ingenting er endret.",
                text_problem(&e)
            ),
        )),
    }
}
