//! Adding a contact: someone who asked to be on the list, with the consent they gave.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::super::error::PageError;
use super::super::guard::{StaffForm, StaffUser};
use super::form::{
    ContactForm, FormProblems, email_of, form_page, name_and_organisation, publication_choices,
    text_problem, today,
};
use crate::domain::{
    Consent, ConsentNote, ConsentSource, ContactStatus, NewContact, PublicationChoice, Timestamp,
};
use crate::ops::{Added, PreferencesError, ticked_choice};
use crate::web::AppState;

/// GET /admin/contacts/new
pub async fn new_form(
    State(state): State<AppState>,
    user: StaffUser,
) -> Result<Response, PageError> {
    let fields = ContactForm {
        source: ConsentSource::EmailRequest.as_str().into(),
        asked_on: today(),
        ..Default::default()
    };
    let choices = publication_choices(&state, &fields).await?;
    Ok(form_page(
        &user,
        None,
        fields,
        FormProblems::default(),
        choices,
    ))
}

/// POST /admin/contacts/new: the form parsed, then the operation's rules (the
/// consent's date, note and source among them); every problem at its field.
pub async fn create(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<ContactForm>,
) -> Result<Response, PageError> {
    let mut problems = FormProblems::default();
    if let Some(new) = new_contact_of(&state, &form, &mut problems).await? {
        match state.admin.contacts.add(&new, &user.actor()).await {
            Ok(added) => return Ok(added_page(&added)),
            Err(e) => problems.place(PageError::from(e).for_form()?),
        }
    }
    let choices = publication_choices(&state, &form).await?;
    Ok(form_page(&user, None, form, problems, choices))
}

fn added_page(added: &Added) -> Response {
    let notice = if added.erased_on.is_some() {
        "lagt-til-etter-sletting"
    } else {
        "lagt-til"
    };
    Redirect::to(&format!(
        "/admin/contacts/{}?melding={notice}",
        added.contact.id
    ))
    .into_response()
}

/// The contact the form describes, or `None` with each field's problem in `problems`.
async fn new_contact_of(
    state: &AppState,
    form: &ContactForm,
    problems: &mut FormProblems,
) -> Result<Option<NewContact>, PageError> {
    let email = email_of(form, problems);
    let (name, organisation) = name_and_organisation(form, problems);
    let source = form
        .source
        .parse::<ConsentSource>()
        .map_err(|_| problems.source = Some("Velg hvordan personen ba om det.".into()))
        .ok();
    let at = Timestamp::parse_date(&form.asked_on)
        .map_err(|_| {
            problems.asked_on =
                Some("Skriv datoen personen ba om å stå på listen, for eksempel 12.03.2025.".into())
        })
        .ok();
    let note = ConsentNote::parse(&form.note).unwrap_or_else(|e| {
        problems.note = Some(text_problem(&e));
        None
    });
    let publications = chosen_publications(state, form, problems).await?;
    let (Some(email), Some(source), Some(at), Some(publications), false) =
        (email, source, at, publications, problems.any())
    else {
        return Ok(None);
    };
    Ok(Some(NewContact {
        email,
        name,
        organisation,
        status: ContactStatus::Confirmed,
        consent: Consent { source, at, note },
        publications,
    }))
}

/// The publications ticked, or all when the form offered none.
async fn chosen_publications(
    state: &AppState,
    form: &ContactForm,
    problems: &mut FormProblems,
) -> Result<Option<PublicationChoice>, PageError> {
    if !form.choosing {
        return Ok(Some(PublicationChoice::All));
    }
    let offered = state.admin.issues.publications().await?;
    Ok(ticked_choice(&offered, &form.publications)
        .map_err(|e| {
            problems.publications = Some(match e {
                PreferencesError::NoneChosen => {
                    "Kryss av for minst én publikasjon personen skal få.".to_owned()
                }
                _ => "Velg blant publikasjonene i listen.".to_owned(),
            })
        })
        .ok())
}
