//! Leaving and choosing: the personal links in every mail, and RFC 8058 one-click.
//!
//! GET shows a page and changes nothing (link scanners follow GETs). On `/avmeld` a
//! POST leaves the publication the mail came from ("bare dette") or everything ("alt").
//! A POST with the body `List-Unsubscribe=One-Click` comes from a mail client's
//! unsubscribe button: it leaves the mail's own publication (RFC 8058: the list the
//! message belongs to), answered without a page, cookie, CSRF token or redirect.
//! `/innstillinger` is the page for choosing publications, reached with the same token.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::AppError;
use super::path::LeaveLinkPath;
use super::subscribe::MessagePage;
use crate::ops::{
    ComeBack, LeaveDone, LeaveScope, LeaveToken, PreferencesError, PreferencesView, masked_address,
};
use crate::store::PublicationsChosen;

#[derive(Template)]
#[template(path = "pages/unsubscribe.html")]
struct UnsubscribePage {
    token: String,
    /// The name of the publication the mail came from, when the link says.
    publication: Option<String>,
}

use super::subscribe::Choice;

#[derive(Template)]
#[template(path = "pages/preferences.html")]
struct PreferencesPage {
    token: String,
    /// The address masked (`k***@politiet.no`).
    email: String,
    /// Confirmed: the choices; otherwise the offer of a confirmation link.
    on_list: bool,
    choices: Vec<Choice>,
    saved: Option<String>,
    problem: Option<&'static str>,
}

impl PreferencesPage {
    fn new(token: String, view: PreferencesView) -> Self {
        PreferencesPage {
            token,
            email: view.masked_email,
            on_list: view.on_list,
            choices: view
                .publications
                .into_iter()
                .map(|(p, ticked)| Choice::of(&p, ticked))
                .collect(),
            saved: None,
            problem: None,
        }
    }
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

/// The page for a leave or preferences link that is not one of ours, with `status`.
pub(super) fn invalid_link_page(status: StatusCode) -> Response {
    page(status, invalid_link()).unwrap_or_else(IntoResponse::into_response)
}

fn page(status: StatusCode, page: impl Template) -> Result<Response, AppError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// GET /avmeld/{token}
pub async fn confirm_page(
    State(state): State<AppState>,
    LeaveLinkPath(token): LeaveLinkPath,
) -> Result<Response, AppError> {
    let Some(leave) = state.subscriptions.leave_token(&token) else {
        return page(StatusCode::NOT_FOUND, invalid_link());
    };
    let publication = state
        .subscriptions
        .publication_of(&leave)
        .await?
        .map(|p| p.name.as_str().to_owned());
    page(StatusCode::OK, UnsubscribePage { token, publication })
}

/// A page of words and one link, for the outcomes of leaving and choosing.
#[derive(Template)]
#[template(path = "pages/message.html")]
struct OutcomePage {
    title: &'static str,
    paragraphs: Vec<String>,
    link: Option<(String, &'static str)>,
}

/// POST /avmeld/{token}: the page's buttons, or a mail client's one-click request.
pub async fn unsubscribe(
    State(state): State<AppState>,
    LeaveLinkPath(token_text): LeaveLinkPath,
    body: String,
) -> Result<Response, AppError> {
    let one_click = body
        .split('&')
        .any(|pair| pair.trim() == "List-Unsubscribe=One-Click");
    let Some(token) = state.subscriptions.leave_token(&token_text) else {
        return if one_click {
            Ok(StatusCode::NOT_FOUND.into_response())
        } else {
            page(StatusCode::NOT_FOUND, invalid_link())
        };
    };
    // The page's "bare dette" and a mail client's one-click leave the mail's own
    // publication; "alt", and a form from before there was a choice, leave everything.
    let this_only = one_click
        || url::form_urlencoded::parse(body.as_bytes()).any(|(k, v)| k == "hva" && v == "dette");
    let scope = if this_only {
        LeaveScope::ThisPublication
    } else {
        LeaveScope::Everything
    };
    let done = state.subscriptions.leave(&token, scope).await?;
    if one_click {
        return Ok(match done {
            LeaveDone::Unknown => StatusCode::NOT_FOUND.into_response(),
            _ => (StatusCode::OK, "Du er meldt av.").into_response(),
        });
    }
    let choose_again = Some((format!("/innstillinger/{token_text}"), "Velg hva du får"));
    // The address masked, as on the preferences page: the link may be in a forwarded mail.
    let first = match done {
        LeaveDone::Unknown => return page(StatusCode::NOT_FOUND, invalid_link()),
        LeaveDone::LeftPublication { email, publication } => {
            format!(
                "{} får ikke lenger {}. Det andre du har valgt, får du fortsatt.",
                masked_address(&email),
                publication.name.as_str()
            )
        }
        LeaveDone::LeftEverything { email } => format!(
            "{} står ikke lenger på KOMs kontaktliste og får ingen flere e-poster fra oss.",
            masked_address(&email)
        ),
        LeaveDone::AlreadyOut { email } => {
            format!(
                "{} var meldt av dette fra før. Ingenting er endret.",
                masked_address(&email)
            )
        }
    };
    page(
        StatusCode::OK,
        OutcomePage {
            title: "Du er meldt av",
            paragraphs: vec![
                first,
                "Meldte du deg av ved en feil, eller vil du velge noe annet? Det kan du gjøre på siden under.".into(),
            ],
            link: choose_again,
        },
    )
}

/// The page for a link that names nobody any more (erased, or a key retired).
fn link_gone() -> MessagePage {
    MessagePage {
        title: "Lenken virker ikke lenger",
        paragraphs: vec![
            "Vi finner ikke deg på KOMs kontaktliste med denne lenken. Ingenting er endret.".into(),
            "Vil du ha e-post fra KOM, kan du melde deg på igjen.".into(),
        ],
        link: Some(("/subscribe", "Meld deg på")),
    }
}

/// GET /innstillinger/{token}: the publications, the person's ticked.
pub async fn preferences_page(
    State(state): State<AppState>,
    LeaveLinkPath(token_text): LeaveLinkPath,
) -> Result<Response, AppError> {
    let Some(token) = state.subscriptions.leave_token(&token_text) else {
        return page(StatusCode::NOT_FOUND, invalid_link());
    };
    match state.subscriptions.preferences(&token).await? {
        Some(view) => page(StatusCode::OK, PreferencesPage::new(token_text, view)),
        None => page(StatusCode::NOT_FOUND, link_gone()),
    }
}

/// POST /innstillinger/{token}: save what is ticked, or leave everything.
pub async fn save_preferences(
    State(state): State<AppState>,
    LeaveLinkPath(token_text): LeaveLinkPath,
    body: String,
) -> Result<Response, AppError> {
    let Some(token) = state.subscriptions.leave_token(&token_text) else {
        return page(StatusCode::NOT_FOUND, invalid_link());
    };
    match PreferencesForm::parse(&body) {
        PreferencesForm::ComeBack => come_back(&state, &token, token_text).await,
        PreferencesForm::LeaveEverything => leave_everything(&state, &token, token_text).await,
        PreferencesForm::Choose(ticked) => choose(&state, &token, token_text, &ticked).await,
    }
}

/// What the preferences form asks for: its buttons win over its ticks.
enum PreferencesForm {
    ComeBack,
    LeaveEverything,
    Choose(Vec<String>),
}

impl PreferencesForm {
    fn parse(body: &str) -> Self {
        let mut ticked = Vec::new();
        let mut leave_all = false;
        for (key, value) in url::form_urlencoded::parse(body.as_bytes()) {
            match &*key {
                "publikasjon" => ticked.push(value.into_owned()),
                "handling" if value == "meld-paa-igjen" => return PreferencesForm::ComeBack,
                "handling" if value == "meld-av-alt" => leave_all = true,
                _ => {}
            }
        }
        if leave_all {
            PreferencesForm::LeaveEverything
        } else {
            PreferencesForm::Choose(ticked)
        }
    }
}

async fn come_back(
    state: &AppState,
    token: &LeaveToken,
    token_text: String,
) -> Result<Response, AppError> {
    match state.subscriptions.come_back(token).await? {
        ComeBack::Unknown => page(StatusCode::NOT_FOUND, link_gone()),
        ComeBack::Requested { masked_email } => page(
            StatusCode::OK,
            OutcomePage {
                title: "Sjekk e-posten din",
                paragraphs: vec![
                    format!("Vi sender en e-post med en lenke til {masked_email}. Du kommer på KOMs kontaktliste igjen når du trykker på lenken i den e-posten."),
                    "Får du ingen e-post i løpet av noen minutter, kan du se i søppelpostmappen, eller melde deg på igjen fra siden for påmelding.".into(),
                ],
                link: Some(("/subscribe".to_owned(), "Til påmeldingen")),
            },
        ),
        // On the list already: the page shows the choices.
        ComeBack::OnList => match state.subscriptions.preferences(token).await? {
            Some(view) => page(StatusCode::OK, PreferencesPage::new(token_text, view)),
            None => page(StatusCode::NOT_FOUND, link_gone()),
        },
    }
}

async fn leave_everything(
    state: &AppState,
    token: &LeaveToken,
    token_text: String,
) -> Result<Response, AppError> {
    match state
        .subscriptions
        .leave(token, LeaveScope::Everything)
        .await?
    {
        LeaveDone::Unknown => page(StatusCode::NOT_FOUND, link_gone()),
        _ => page(
            StatusCode::OK,
            OutcomePage {
                title: "Du er meldt av",
                paragraphs: vec![
                    "Du står ikke lenger på KOMs kontaktliste og får ingen flere e-poster fra oss."
                        .into(),
                    "Meldte du deg av ved en feil? Du kan velge på nytt på siden under.".into(),
                ],
                link: Some((format!("/innstillinger/{token_text}"), "Velg hva du får")),
            },
        ),
    }
}

/// Saves the ticked publications and shows the page again, with what happened.
async fn choose(
    state: &AppState,
    token: &LeaveToken,
    token_text: String,
    ticked: &[String],
) -> Result<Response, AppError> {
    let (saved, problem) = match state.subscriptions.save_preferences(token, ticked).await {
        Ok(PublicationsChosen::Saved { joined, left, .. }) => {
            let unchanged = joined.is_empty() && left.is_empty();
            (Some(saved_words(unchanged)), None)
        }
        Ok(PublicationsChosen::Unknown) | Err(PreferencesError::InvalidLink) => {
            return page(StatusCode::NOT_FOUND, link_gone());
        }
        Ok(PublicationsChosen::NotOnList) | Err(PreferencesError::NotOnList) => {
            (None, Some(NOT_ON_LIST))
        }
        Err(PreferencesError::NoneChosen) => (None, Some(NONE_CHOSEN)),
        Err(PreferencesError::NotOffered(_)) => (None, Some(NOT_OFFERED)),
        Err(PreferencesError::Store(e)) => return Err(e.into()),
    };
    let Some(view) = state.subscriptions.preferences(token).await? else {
        return page(StatusCode::NOT_FOUND, link_gone());
    };
    let status = match (problem.is_some(), view.on_list) {
        (false, _) => StatusCode::OK,
        (true, true) => StatusCode::UNPROCESSABLE_ENTITY,
        (true, false) => StatusCode::CONFLICT,
    };
    let mut shown = PreferencesPage::new(token_text, view);
    shown.saved = saved;
    shown.problem = problem;
    page(status, shown)
}

fn saved_words(unchanged: bool) -> String {
    if unchanged {
        "Ingen endringer: du får det samme som før.".to_owned()
    } else {
        "Fra nå av får du det som er krysset av under.".to_owned()
    }
}

// Not on the list: nothing changed; the page offers the way back.
const NOT_ON_LIST: &str = "Ingenting er endret: adressen står ikke på kontaktlisten nå. Vil du ha e-post fra oss igjen, kan du be om en lenke under.";

const NONE_CHOSEN: &str = "Du har ikke krysset av for noe. Kryss av for minst én, eller trykk «Meld meg av alt» hvis du ikke vil ha noe mer fra oss.";

const NOT_OFFERED: &str = "Skjemaet hadde et valg som ikke finnes (kanskje en gammel side). Ingenting er endret: velg på nytt og lagre.";
