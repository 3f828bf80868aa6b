//! The one error type of the staff pages: an operation's refusal, a missing contact or
//! issue, or a failure, each worded once in bokmål. Handlers return
//! `Result<Response, PageError>` and use `?`; a form that shows refusals at its fields
//! takes them with [`PageError::for_form`], and whatever is not a form's goes on as a
//! page of its own. Failures go to the log with their cause; the page says what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::{failure, problem_page};
use crate::ops::{ContactError, ContactField, ContactRefusal, IssueError};
use crate::store::StoreError;

/// A refusal in words: the page's status and title when it stands alone, and the form
/// field (its `id`) it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

#[derive(Debug)]
pub enum PageError {
    /// What was asked breaks a rule: every refusal at once (never empty).
    Refused(Vec<Refusal>),
    /// Nothing has this number or name.
    NotFound {
        title: &'static str,
        message: &'static str,
    },
    /// Not the staff member's to fix (the database, say): the cause is logged.
    Failed(String),
}

impl PageError {
    pub fn contact_not_found() -> Self {
        PageError::NotFound {
            title: "Fant ikke kontakten",
            message: "Det finnes ingen kontakt med dette nummeret. Kanskje er den slettet, eller lenken er feil. Søk etter personen i kontaktlisten.",
        }
    }

    pub fn issue_not_found() -> Self {
        PageError::NotFound {
            title: "Fant ikke utgaven",
            message: "Det finnes ingen utgave med dette kortnavnet. Gå til listen over utgaver.",
        }
    }

    /// A refusal that stands alone, about no field.
    pub fn refused(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        PageError::Refused(vec![Refusal {
            status,
            title,
            message: message.into(),
            field: None,
        }])
    }

    pub fn failed(cause: impl std::fmt::Display) -> Self {
        PageError::Failed(cause.to_string())
    }

    /// The refusals, for a form to show at their fields; anything else stays an error
    /// for a page of its own.
    pub fn for_form(self) -> Result<Vec<Refusal>, PageError> {
        match self {
            PageError::Refused(refusals) => Ok(refusals),
            other => Err(other),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Refused(refusals) => {
                let Some(first) = refusals.first() else {
                    return failure(&"a refusal without words");
                };
                let message = refusals
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                problem_page(first.status, first.title, &message)
            }
            PageError::NotFound { title, message } => {
                problem_page(StatusCode::NOT_FOUND, title, message)
            }
            PageError::Failed(cause) => failure(&cause),
        }
    }
}

/// The form field (its `id`) of a contact's field.
fn contact_field_id(field: ContactField) -> &'static str {
    match field {
        ContactField::Email => "email",
        ContactField::ConsentSource => "source",
        ContactField::ConsentDate => "asked_on",
        ContactField::ConsentNote => "note",
    }
}

/// A contact refusal in bokmål: status, title, words.
fn contact_words(refusal: &ContactRefusal) -> (StatusCode, &'static str, String) {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match refusal {
        ContactRefusal::Consent(problem) => (
            unprocessable,
            "Samtykket kan ikke lagres slik",
            problem.norwegian().to_owned(),
        ),
        ContactRefusal::AlreadyOnList(_) => (
            StatusCode::CONFLICT,
            "Adressen står allerede på listen",
            "Denne adressen står allerede på listen. Søk etter den i kontaktlisten.".to_owned(),
        ),
        ContactRefusal::NewConsentRequired(_) => (
            unprocessable,
            "Nytt samtykke trengs",
            "Personen har meldt seg av eller adressen er avvist. For å bekrefte kontakten igjen må du skrive når og hvordan personen ba om det på nytt.".to_owned(),
        ),
        ContactRefusal::ChangedMeanwhile(_) => (
            StatusCode::CONFLICT,
            "Kontakten ble endret samtidig",
            "Kontakten ble endret av noen andre (eller meldte seg av) mens du skrev. Ingenting er lagret. Se over kontakten og prøv igjen.".to_owned(),
        ),
        ContactRefusal::NotBounced(_) => (
            StatusCode::CONFLICT,
            "Kontakten er ikke avvist",
            "Bare en kontakt med status avvist kan settes tilbake slik. Ingenting er endret."
                .to_owned(),
        ),
    }
}

impl From<ContactError> for PageError {
    fn from(e: ContactError) -> Self {
        match e {
            ContactError::Refused(refusals) => PageError::Refused(
                refusals
                    .iter()
                    .map(|refusal| {
                        let (status, title, message) = contact_words(refusal);
                        Refusal {
                            status,
                            title,
                            message,
                            field: refusal.field().map(contact_field_id),
                        }
                    })
                    .collect(),
            ),
            ContactError::Store(StoreError::ContactNotFound(_)) => PageError::contact_not_found(),
            ContactError::NothingToChange => PageError::refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Ingenting å endre",
                "Du endret ingenting. Ingenting er lagret.",
            ),
            other => PageError::failed(other),
        }
    }
}

/// An issue that is sending or sent is changed, replaced or planned nowhere: the one
/// wording of the saved form, the upload and the send page.
pub fn not_draft() -> Refusal {
    Refusal {
        status: StatusCode::CONFLICT,
        title: "Utgaven kan ikke endres",
        message: "Utgaven med dette kortnavnet sendes eller er sendt allerede, så den kan ikke endres eller planlegges på nytt. Lag en ny utgave med et annet kortnavn.".to_owned(),
        field: None,
    }
}

/// A send planned for a time that has passed.
pub fn send_time_passed() -> Refusal {
    Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Tidspunktet har vært",
        message: "Tidspunktet har allerede vært. Velg et tidspunkt fram i tid, eller send nå."
            .to_owned(),
        field: Some("tidspunkt"),
    }
}

impl From<IssueError> for PageError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::NotDraft { .. } => PageError::Refused(vec![not_draft()]),
            IssueError::SendTimePassed(_) => PageError::Refused(vec![send_time_passed()]),
            IssueError::NotFound(_) => PageError::issue_not_found(),
            other => PageError::failed(other),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::failed(e)
    }
}

impl From<serde_json::Error> for PageError {
    fn from(e: serde_json::Error) -> Self {
        PageError::failed(e)
    }
}
