//! The one error type of the staff pages: an operation's refusal, a missing contact or
//! issue, or a failure, each worded once in bokmål. Handlers return
//! `Result<Response, PageError>` and use `?`; a form that shows refusals at its fields
//! takes them with [`PageError::for_form`], and whatever is not a form's goes on as a
//! page of its own. Failures go to the log with their cause; the page says what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::page::{failure, problem_page};
use super::path::Missing;
use crate::ops::{ContactError, ContactField, ContactRefusal, IssueError, IssueField};
use crate::render::{MAX_HTML_BYTES, SourceError};
use crate::store::StoreError;

/// A refusal in words: the page's status and title when it stands alone, and the form
/// field (its `id`) it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    /// The line of a source text it concerns (a form's text shows it there).
    pub line: Option<usize>,
}

impl Refusal {
    /// A refusal about no field.
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            title,
            message: message.into(),
            field: None,
            line: None,
        }
    }
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
    pub fn missing(what: Missing) -> Self {
        let (title, message) = what.words();
        PageError::NotFound { title, message }
    }

    pub fn contact_not_found() -> Self {
        PageError::missing(Missing::Contact)
    }

    pub fn issue_not_found() -> Self {
        PageError::missing(Missing::Issue)
    }

    /// A refusal that stands alone, about no field.
    pub fn refused(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        PageError::Refused(vec![Refusal::new(status, title, message)])
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
                            field: refusal.field().map(contact_field_id),
                            ..Refusal::new(status, title, message)
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

/// The form field (its `id`) of an issue's or a send's field.
fn issue_field_id(field: IssueField) -> &'static str {
    match field {
        IssueField::Slug => "slug",
        IssueField::Publication => "publication",
        IssueField::RecipientCount => "antall",
        IssueField::SendTime => "tidspunkt",
        IssueField::TestAddress => "to",
        IssueField::Approval => "approval",
    }
}

/// `12 345 kontakter` and the like.
pub fn contacts_text(n: i64) -> String {
    super::page::count(n, "kontakt", "kontakter")
}

/// An issue that is sending or sent is changed, replaced or planned nowhere: the one
/// wording of the saved form, the upload and the send page.
pub fn not_draft() -> Refusal {
    Refusal::new(
        StatusCode::CONFLICT,
        "Utgaven kan ikke endres",
        "Utgaven med dette kortnavnet sendes eller er sendt allerede, så den kan ikke endres eller planlegges på nytt. Lag en ny utgave med et annet kortnavn.",
    )
}

/// Nothing is sent without `token_key`: the one wording of the dashboard, the send
/// page, a test copy and sending failures again.
pub const NO_TOKEN_KEY: &str = "Ingenting kan sendes: nøkkelen som signerer lenkene i \
    e-postene (token_key) mangler i innstillingene. Be den som drifter tjenesten om å sette \
    den.";

pub fn no_token_key() -> Refusal {
    Refusal::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Ingenting kan sendes",
        NO_TOKEN_KEY,
    )
}

/// A source's problems, each at its field or its line (the form places them; a page of
/// its own lists them).
fn source_refusals(error: &SourceError) -> PageError {
    PageError::Refused(
        error
            .problems
            .iter()
            .map(|problem| Refusal {
                field: problem.kind.field(),
                line: Some(problem.line),
                ..Refusal::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Utgaven har feil",
                    problem.kind.norwegian(),
                )
            })
            .collect(),
    )
}

/// An issue refusal in bokmål: status, title, words; `None` for what is no refusal.
fn issue_words(error: &IssueError) -> Option<Refusal> {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    Some(match error {
        IssueError::NotDraft { .. } => not_draft(),
        IssueError::NoTokenKey(_) => no_token_key(),
        IssueError::SendTimePassed(_) => Refusal::new(
            unprocessable,
            "Tidspunktet har vært",
            "Tidspunktet har allerede vært. Velg et tidspunkt fram i tid, eller send nå.",
        ),
        IssueError::Planned(_) => Refusal::new(
            StatusCode::CONFLICT,
            "Utsendingen er planlagt",
            "Utsendingen av denne utgaven er planlagt, så den kan ikke endres eller planlegges på nytt nå. Avbryt planen på sendesiden først.",
        ),
        IssueError::SourceTooLarge { .. } => Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Utgaven er for lang",
            "Teksten er for lang: en utgave kan være høyst 1 MiB. Ingenting ble lagret.",
        ),
        IssueError::NotUtf8 { .. } => Refusal::new(
            unprocessable,
            "Filen kunne ikke leses",
            "Filen er ikke tekst i UTF-8. Lagre den som ren tekst (UTF-8) og last den opp igjen, eller skriv utgaven i skjemaet.",
        ),
        IssueError::TooLarge { size } => Refusal::new(
            unprocessable,
            "Utgaven er for lang",
            format!(
                "E-posten ville blitt {} KB, over Gmails grense på {} KB (da kuttes den). Gjør utgaven kortere. Ingenting ble lagret.",
                size / 1024,
                MAX_HTML_BYTES / 1024
            ),
        ),
        IssueError::SlugIsPublication(slug) => Refusal::new(
            StatusCode::CONFLICT,
            "Kortnavnet er tatt",
            format!(
                "«{slug}» er kortnavnet til en publikasjon. Velg et annet kortnavn for utgaven."
            ),
        ),
        IssueError::Exists(slug) => Refusal::new(
            StatusCode::CONFLICT,
            "Kortnavnet er tatt",
            format!("Det finnes allerede en utgave med kortnavnet «{slug}». Velg et annet."),
        ),
        IssueError::UnknownPublication { publication, .. } => Refusal::new(
            unprocessable,
            "Publikasjonen finnes ikke",
            format!(
                "Publikasjonen «{publication}» finnes ikke. Velg en av publikasjonene i listen."
            ),
        ),
        IssueError::Docx { error, .. } => Refusal::new(
            unprocessable,
            "Word-dokumentet kunne ikke leses",
            format!("{} Ingenting ble lagret.", error.norwegian()),
        ),
        IssueError::WrongCount { expected: 0, .. } => Refusal::new(
            unprocessable,
            "Ingen å sende til",
            "Ingen bekreftede kontakter mangler denne utgaven, så det er ingen å sende til.",
        ),
        IssueError::WrongCount { expected, .. } => Refusal::new(
            unprocessable,
            "Tallet stemmer ikke",
            format!(
                "Tallet stemmer ikke. Utgaven går til {}: skriv {expected} for å sende.",
                contacts_text(*expected)
            ),
        ),
        IssueError::NeedsApproval => Refusal::new(
            StatusCode::CONFLICT,
            "Utsendingen må godkjennes",
            "En annen i staben må godkjenne utsendingen. Be om den på sendesiden.",
        ),
        IssueError::OwnApproval => Refusal::new(
            StatusCode::FORBIDDEN,
            "Du kan ikke godkjenne din egen utsending",
            "En annen i staben må godkjenne utsendingen. Ingenting ble endret.",
        ),
        IssueError::ApprovalRefused(bar) => Refusal::new(
            StatusCode::FORBIDDEN,
            "Godkjenningen teller ikke",
            bar.norwegian(),
        ),
        IssueError::NoPlan(_) => Refusal::new(
            StatusCode::CONFLICT,
            "Ingen utsending å godkjenne",
            "Utsendingen er allerede godkjent, avbrutt eller startet. Ingenting ble endret.",
        ),
        IssueError::NotSending(_) => Refusal::new(
            StatusCode::CONFLICT,
            "Utgaven sendes ikke",
            "Bare en utsending som pågår, kan settes på pause eller fortsette.",
        ),
        IssueError::Send(e) => {
            tracing::warn!(error = %e, "test copy not sent");
            Refusal::new(
                unprocessable,
                "Testkopien ble ikke sendt",
                format!(
                    "Testkopien ble ikke sendt: e-postserveren tok ikke imot den. Prøv igjen om litt. (Feilmelding: {e})"
                ),
            )
        }
        IssueError::NotFound(_)
        | IssueError::Source(_)
        | IssueError::ConvertedWithProblems { .. }
        | IssueError::Render(_)
        | IssueError::Store(_) => return None,
    })
}

impl From<IssueError> for PageError {
    fn from(e: IssueError) -> Self {
        if let Some(refusal) = issue_words(&e) {
            let field = e.field().map(issue_field_id);
            return PageError::Refused(vec![Refusal { field, ..refusal }]);
        }
        match e {
            IssueError::NotFound(_) => PageError::issue_not_found(),
            IssueError::Source(error) | IssueError::ConvertedWithProblems { error, .. } => {
                source_refusals(&error)
            }
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

impl From<crate::ops::staff_settings::StaffSettingsError> for PageError {
    fn from(e: crate::ops::staff_settings::StaffSettingsError) -> Self {
        PageError::failed(e)
    }
}
