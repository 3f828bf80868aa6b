//! Subscribing from the web: the form, the confirmation mail, and the confirm page.
//!
//! The answer to a valid request is the same page whether or not the address is known,
//! so the form never tells who is on the list. A GET never changes anything: mail
//! scanners follow links, so confirming takes a POST from the page's button.

use askama::Template;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawForm, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::AppError;
use super::path::ConfirmTokenPath;
use crate::domain::{ContactName, EmailAddress, EmailError, Organisation, TextError};
use crate::store::ConfirmOutcome;

#[derive(Template, Default)]
#[template(path = "pages/subscribe.html")]
struct SubscribePage {
    email: String,
    name: String,
    organisation: String,
    /// The publications, as checkboxes.
    choices: Vec<Choice>,
    has_errors: bool,
    email_error: Option<&'static str>,
    name_error: Option<&'static str>,
    organisation_error: Option<&'static str>,
    publications_error: Option<&'static str>,
}

/// One publication as a checkbox on a public form.
pub(super) struct Choice {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub ticked: bool,
}

impl Choice {
    pub fn of(publication: &crate::domain::Publication, ticked: bool) -> Self {
        Choice {
            slug: publication.slug.to_string(),
            name: publication.name.as_str().to_owned(),
            description: publication.description.as_str().to_owned(),
            ticked,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/message.html")]
pub(super) struct MessagePage {
    pub title: &'static str,
    pub paragraphs: Vec<String>,
    pub link: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "pages/confirm.html")]
struct ConfirmPage {
    token: String,
}

#[derive(Debug, Default)]
pub struct SubscribeForm {
    email: String,
    name: String,
    organisation: String,
    /// The honeypot: hidden from people, filled in by naive bots.
    nettside: String,
    /// The slugs of the ticked publications.
    ticked: Vec<String>,
    /// Set by the form that has the checkboxes; a form without it (a page from before
    /// there was a choice) asks for everything, as it said.
    has_choice: bool,
}

impl SubscribeForm {
    /// Read by hand: the checkboxes repeat one name, which a struct cannot hold.
    fn parse(body: &[u8]) -> Self {
        let mut form = SubscribeForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            let value = value.into_owned();
            match &*key {
                "email" => form.email = value,
                "name" => form.name = value,
                "organisation" => form.organisation = value,
                "nettside" => form.nettside = value,
                "publikasjon" => form.ticked.push(value),
                "valg" => form.has_choice = true,
                _ => {}
            }
        }
        form
    }
}

fn email_message(error: &EmailError) -> &'static str {
    match error {
        EmailError::Empty => "Skriv inn e-postadressen din.",
        EmailError::TooLong => "E-postadressen er for lang.",
        EmailError::ControlCharacter | EmailError::Whitespace => {
            "E-postadressen kan ikke inneholde mellomrom eller linjeskift."
        }
        EmailError::NoAt | EmailError::NoLocalPart | EmailError::NoDomain => {
            "Skriv en hel e-postadresse, for eksempel navn@example.no."
        }
        EmailError::DomainWithoutDot => {
            "Domenet etter @ ser ufullstendig ut, for eksempel example.no."
        }
        EmailError::NonAsciiLocalPart => {
            "Delen før @ kan bare inneholde a–z, tall og . _ - +, ikke æ, ø eller å."
        }
        EmailError::AddressLiteral => {
            "Skriv e-postadressen med domenenavn etter @, for eksempel navn@example.no, ikke en IP-adresse."
        }
        EmailError::Invalid => "E-postadressen er ikke gyldig.",
    }
}

fn text_message(error: &TextError) -> &'static str {
    match error {
        TextError::TooLong { .. } => "Teksten er for lang (høyst 200 tegn).",
        TextError::ControlCharacter { .. } => {
            "Teksten kan ikke inneholde linjeskift eller kontrolltegn."
        }
        TextError::DirectionControl { .. } => {
            "Teksten har et usynlig tegn som snur skriveretningen: skriv den inn på nytt uten det."
        }
    }
}

fn html(page: impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(page.render()?))
}

/// GET /subscribe: every publication ticked (what the list always meant).
pub async fn form(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let choices = state
        .subscriptions
        .publications()
        .await?
        .iter()
        .map(|p| Choice::of(p, true))
        .collect();
    html(SubscribePage {
        choices,
        ..SubscribePage::default()
    })
}

fn check_your_inbox() -> MessagePage {
    MessagePage {
        title: "Sjekk e-posten din",
        paragraphs: vec![
            "Takk! Hvis adressen kan legges til, får du straks en e-post med en lenke. Åpne lenken og trykk «Bekreft» for å bli lagt til på KOMs kontaktliste.".into(),
            "Finner du ikke e-posten, se i søppelpost-mappen. Du kan be om en ny om ti minutter.".into(),
        ],
        link: None,
    }
}

/// POST /subscribe
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let form = SubscribeForm::parse(&body);
    // Per client (an IPv6 client by its /64; behind a proxy named in trusted_proxies,
    // the address it forwarded). Checked before anything is looked up or written.
    let client = super::client::client_key(peer, &headers, &state.trusted_proxies);
    if let Err(not_until) = state.subscribe_limiter.check_key(&client) {
        let now = governor::clock::Clock::now(&governor::clock::DefaultClock::default());
        return too_many_attempts(not_until.wait_time_from(now));
    }
    if state.subscribe_limiter.len() > 100_000 {
        // Forget addresses whose allowance is full again, so the table stays small.
        state.subscribe_limiter.retain_recent();
    }
    if !form.nettside.is_empty() {
        // A bot: answer as if all went well, do nothing.
        return Ok(html(check_your_inbox())?.into_response());
    }
    let email = EmailAddress::parse(&form.email);
    let name = ContactName::parse(&form.name);
    let organisation = Organisation::parse(&form.organisation);
    let offered = state.subscriptions.publications().await?;
    let publications = if form.has_choice || !form.ticked.is_empty() {
        crate::ops::ticked_choice(&offered, &form.ticked)
    } else {
        Ok(crate::domain::PublicationChoice::All)
    };
    let (Ok(email), Ok(name), Ok(organisation), Ok(publications)) =
        (&email, &name, &organisation, &publications)
    else {
        let page = SubscribePage {
            email: form.email.trim().to_owned(),
            name: form.name.trim().to_owned(),
            organisation: form.organisation.trim().to_owned(),
            choices: offered
                .iter()
                .map(|p| Choice::of(p, form.ticked.iter().any(|t| t == p.slug.as_str())))
                .collect(),
            has_errors: true,
            email_error: email.as_ref().err().map(email_message),
            name_error: name.as_ref().err().map(text_message),
            organisation_error: organisation.as_ref().err().map(text_message),
            publications_error: publications.as_ref().err().map(publications_message),
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(page)?).into_response());
    };
    // Only the request is queued here, one insert whatever the address: the notice
    // sender decides what it leads to, so every request is answered in the same time.
    state
        .subscriptions
        .request(email, name.as_ref(), organisation.as_ref(), publications)
        .await?;
    Ok(html(check_your_inbox())?.into_response())
}

fn publications_message(error: &crate::ops::PreferencesError) -> &'static str {
    match error {
        crate::ops::PreferencesError::NoneChosen => "Kryss av for minst én av publikasjonene.",
        _ => "Velg blant publikasjonene i listen.",
    }
}

/// 429 with the seconds to wait, in words and in `Retry-After`.
fn too_many_attempts(wait: std::time::Duration) -> Result<Response, AppError> {
    let page = MessagePage {
        title: "For mange forsøk",
        paragraphs: vec![
            "Vi har fått mange påmeldinger fra din adresse på kort tid. Vent litt og prøv igjen."
                .into(),
        ],
        link: Some(("/subscribe", "Tilbake til skjemaet")),
    };
    let retry_after = [(
        axum::http::header::RETRY_AFTER,
        (wait.as_secs() + 1).to_string(),
    )];
    Ok((StatusCode::TOO_MANY_REQUESTS, retry_after, html(page)?).into_response())
}

fn invalid_link() -> MessagePage {
    MessagePage {
        title: "Lenken virker ikke",
        paragraphs: vec!["Lenken er ugyldig. Kanskje den ble delt over to linjer i e-posten? Du kan melde deg på på nytt.".into()],
        link: Some(("/subscribe", "Meld deg på")),
    }
}

/// The page for a confirmation link that is not one of ours, with `status`.
pub(super) fn invalid_link_page(status: StatusCode) -> Response {
    match html(invalid_link()) {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

/// GET /bekreft/{token}: a page with one button. Changes nothing.
pub async fn confirm_page(
    ConfirmTokenPath(secret): ConfirmTokenPath,
) -> Result<Response, AppError> {
    Ok(html(ConfirmPage {
        token: secret.as_str().to_owned(),
    })?
    .into_response())
}

/// POST /bekreft/{token}
pub async fn confirm(
    State(state): State<AppState>,
    ConfirmTokenPath(secret): ConfirmTokenPath,
) -> Result<Response, AppError> {
    let (status, page) = match state.subscriptions.confirm(&secret).await? {
        ConfirmOutcome::Confirmed(email) => (
            StatusCode::OK,
            MessagePage {
                title: "Du står nå på KOMs kontaktliste",
                paragraphs: vec![format!(
                    "Takk! {email} står nå på KOMs kontaktliste og får det du valgte. Nederst i hver e-post er det lenker for å endre hva du får, eller melde deg av."
                )],
                link: Some(("/arkiv", "Les tidligere nyhetsbrev")),
            },
        ),
        ConfirmOutcome::AlreadyUsed => (
            StatusCode::OK,
            MessagePage {
                title: "Allerede bekreftet",
                paragraphs: vec![
                    "Denne lenken er allerede brukt, og påmeldingen er bekreftet.".into(),
                ],
                link: Some(("/arkiv", "Les tidligere nyhetsbrev")),
            },
        ),
        ConfirmOutcome::Expired => (
            StatusCode::GONE,
            MessagePage {
                title: "Lenken er utløpt",
                paragraphs: vec![
                    "Lenken var for gammel. Meld deg på igjen, så sender vi en ny.".into(),
                ],
                link: Some(("/subscribe", "Meld deg på igjen")),
            },
        ),
        ConfirmOutcome::Unknown => (StatusCode::NOT_FOUND, invalid_link()),
    };
    Ok((status, html(page)?).into_response())
}
