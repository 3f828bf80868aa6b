//! The add and edit form: its fields as typed, their problems in bokmål, and the page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::error::{PageError, Refusal};
use super::super::guard::StaffUser;
use super::super::page::{Chrome, render};
use super::status_label;
use crate::domain::ContactId;
use crate::domain::{
    ConsentSource, ContactName, ContactStatus, EmailAddress, Organisation, TextError, Timestamp,
};
use crate::web::AppState;
use crate::web::subscribe::Choice;

/// The fields of the add and edit forms, as typed. Read from the form's pairs, since
/// the publication checkboxes repeat one name.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "Vec<(String, String)>")]
pub struct ContactForm {
    pub email: String,
    pub name: String,
    pub organisation: String,
    pub source: String,
    pub asked_on: String,
    pub note: String,
    pub status: String,
    /// The publications ticked (the add form).
    pub publications: Vec<String>,
    /// Set by a form that shows the publications.
    pub choosing: bool,
}

impl From<Vec<(String, String)>> for ContactForm {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let mut form = ContactForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "email" => form.email = value,
                "name" => form.name = value,
                "organisation" => form.organisation = value,
                "source" => form.source = value,
                "asked_on" => form.asked_on = value,
                "note" => form.note = value,
                "status" => form.status = value,
                "publikasjon" => form.publications.push(value),
                "valg" => form.choosing = true,
                _ => {}
            }
        }
        form
    }
}

/// What was wrong with a contact form, field by field, in bokmål.
#[derive(Debug, Default)]
pub struct FormProblems {
    pub email: Option<String>,
    pub publications: Option<String>,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub source: Option<String>,
    pub asked_on: Option<String>,
    pub note: Option<String>,
    pub status: Option<String>,
    pub general: Option<String>,
}

impl FormProblems {
    pub fn any(&self) -> bool {
        self.email.is_some()
            || self.publications.is_some()
            || self.name.is_some()
            || self.organisation.is_some()
            || self.source.is_some()
            || self.asked_on.is_some()
            || self.note.is_some()
            || self.status.is_some()
            || self.general.is_some()
    }

    /// (field id, message) for the summary at the top.
    pub fn summary(&self) -> Vec<(&'static str, &str)> {
        [
            ("email", &self.email),
            ("name", &self.name),
            ("organisation", &self.organisation),
            ("source-hint", &self.source),
            ("asked_on", &self.asked_on),
            ("note", &self.note),
            ("status", &self.status),
        ]
        .into_iter()
        .filter_map(|(id, m)| m.as_deref().map(|m| (id, m)))
        .collect()
    }

    /// Each refusal at its field, or above the form when it names none.
    pub fn place(&mut self, refusals: Vec<Refusal>) {
        for refusal in refusals {
            let slot = match refusal.field {
                Some("email") => &mut self.email,
                Some("source") => &mut self.source,
                Some("asked_on") => &mut self.asked_on,
                Some("note") => &mut self.note,
                Some("status") => &mut self.status,
                _ => &mut self.general,
            };
            slot.get_or_insert(refusal.message);
        }
    }
}

pub fn text_problem(e: &TextError) -> String {
    match e {
        TextError::TooLong { max, .. } => format!("Teksten er for lang: høyst {max} tegn."),
        TextError::ControlCharacter { .. } => {
            "Teksten kan ikke ha linjeskift eller usynlige kontrolltegn.".to_owned()
        }
        TextError::DirectionControl { .. } => {
            "Teksten har et usynlig tegn som snur skriveretningen og kan få den til å se ut som noe annet: fjern det (skriv teksten inn på nytt).".to_owned()
        }
    }
}

/// The address as typed, or its problem at the field.
pub fn email_of(form: &ContactForm, problems: &mut FormProblems) -> Option<EmailAddress> {
    EmailAddress::parse(&form.email)
        .map_err(|_| {
            problems.email =
                Some("Skriv en gyldig e-postadresse, for eksempel navn@example.no.".to_owned())
        })
        .ok()
}

/// The optional text fields of a form, or their problems.
pub fn name_and_organisation(
    fields: &ContactForm,
    problems: &mut FormProblems,
) -> (Option<ContactName>, Option<Organisation>) {
    let name = ContactName::parse(&fields.name).unwrap_or_else(|e| {
        problems.name = Some(text_problem(&e));
        None
    });
    let organisation = Organisation::parse(&fields.organisation).unwrap_or_else(|e| {
        problems.organisation = Some(text_problem(&e));
        None
    });
    (name, organisation)
}

#[derive(Template)]
#[template(path = "admin/contact_form.html")]
struct ContactFormPage {
    chrome: Chrome,
    /// `None` for a new contact.
    id: Option<ContactId>,
    fields: ContactForm,
    problems: FormProblems,
    sources: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    today: String,
    /// The stored name or organisation held direction overrides, left out of the form.
    cleaned: bool,
    /// The publications as checkboxes (the add form only).
    choices: Vec<Choice>,
}

/// The sources a staff member records ([`ConsentSource::RECORDED_BY_STAFF`]), as the
/// form's choices.
fn consent_sources() -> Vec<(&'static str, &'static str)> {
    ConsentSource::RECORDED_BY_STAFF
        .iter()
        .map(|source| {
            let words = match source {
                ConsentSource::EmailRequest => "Personen ba om det på e-post",
                ConsentSource::Staff => "Personen ba om det på annen måte (telefon, møte)",
                other => other.norwegian(),
            };
            (source.as_str(), words)
        })
        .collect()
}

fn statuses() -> Vec<(&'static str, &'static str)> {
    ContactStatus::ALL
        .iter()
        .map(|s| (s.as_str(), status_label(*s)))
        .collect()
}

pub fn today() -> String {
    let now = Timestamp::now().to_rfc3339();
    now.get(..10).unwrap_or_default().to_owned()
}

/// The form, with its problems (422) or without (200).
pub fn form_page(
    user: &StaffUser,
    id: Option<ContactId>,
    mut fields: ContactForm,
    problems: FormProblems,
    choices: Vec<Choice>,
) -> Response {
    // A field holds the stored text, to be saved again: direction overrides, which would
    // make it read other than it is, are left out of it (and so out of what is saved).
    let strip = |text: &mut String| {
        let clean: String = text
            .chars()
            .filter(|c| !crate::domain::is_direction_override(*c))
            .collect();
        let changed = clean != *text;
        *text = clean;
        changed
    };
    let cleaned =
        strip(&mut fields.name) | strip(&mut fields.organisation) | strip(&mut fields.note);
    let status = if problems.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(ContactFormPage {
        chrome: Chrome::new(user, None),
        id,
        fields,
        problems,
        sources: consent_sources(),
        statuses: statuses(),
        today: today(),
        cleaned,
        choices,
    });
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    response
}

/// The publications as the add form's checkboxes: all ticked for a new form, else as
/// they were sent.
pub async fn publication_choices(
    state: &AppState,
    form: &ContactForm,
) -> Result<Vec<Choice>, PageError> {
    let offered = state.admin.issues.publications().await?;
    Ok(offered
        .iter()
        .map(|p| {
            let ticked = !form.choosing || form.publications.iter().any(|t| t == p.slug.as_str());
            Choice::of(p, ticked)
        })
        .collect())
}
