//! The second factor: the code page after the password, and setting up an
//! authenticator app (QR code, the secret to type, ten recovery codes shown once).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{SecondStep, SecondStepForm};
use super::page::{Chrome, count, failure, render};
use crate::ops::{SecondFactorDue, SecondFactorError};
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "admin/code.html")]
struct CodePage {
    chrome: Chrome,
    error: Option<&'static str>,
}

/// GET /admin/login/kode
pub async fn code_form(SecondStep(user): SecondStep) -> Response {
    if user.session.due != SecondFactorDue::Code {
        return Redirect::to("/admin").into_response();
    }
    render(CodePage {
        chrome: Chrome::new(&user, None),
        error: None,
    })
}

/// POST /admin/login/kode
pub async fn check_code(
    State(state): State<AppState>,
    SecondStepForm { user, form }: SecondStepForm<CodeForm>,
) -> Response {
    if user.session.due != SecondFactorDue::Code {
        return Redirect::to("/admin").into_response();
    }
    let (status, error) = match state
        .staff
        .check_second_factor(&user.session.username, &form.code)
        .await
    {
        Ok(()) => {
            if let Err(e) = state.sessions.passed_second_factor(&user.session).await {
                return failure(&e);
            }
            tracing::info!(user = %user.session.username, "staff signed in with a second factor");
            return Redirect::to("/admin").into_response();
        }
        Err(SecondFactorError::WrongCode) => (
            StatusCode::UNAUTHORIZED,
            "Koden stemmer ikke, er for gammel eller er brukt før. Skriv koden appen viser nå.",
        ),
        Err(SecondFactorError::TooManyTries) => (
            StatusCode::TOO_MANY_REQUESTS,
            "For mange feil koder. Vent 15 minutter og prøv igjen.",
        ),
        Err(SecondFactorError::NotEnrolled) => return Redirect::to("/admin").into_response(),
        Err(SecondFactorError::NoKey) => return no_key_page(),
        Err(SecondFactorError::Store(e)) => return failure(&e),
    };
    let mut response = render(CodePage {
        chrome: Chrome::new(&user, None),
        error: Some(error),
    });
    *response.status_mut() = status;
    response
}

#[derive(Template)]
#[template(path = "admin/totp.html")]
struct EnrolPage {
    chrome: Chrome,
    /// Enrolment is what this sign-in is waiting for.
    required: bool,
    enabled: bool,
    /// «8 ubrukte gjenopprettingskoder»
    codes_left: String,
    secret: String,
    qr_svg: String,
    error: Option<&'static str>,
    /// The recovery codes, right after enrolment (shown this once).
    recovery: Vec<String>,
}

/// The secret in groups of four, as apps show it and people type it.
fn grouped_secret(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

async fn enrol_page(
    state: &AppState,
    user: &super::guard::StaffUser,
    error: Option<&'static str>,
) -> Response {
    let name = &user.session.username;
    let (enabled, codes_left) = match state.staff.second_factor(name).await {
        Ok(found) => found,
        Err(e) => return failure(&e),
    };
    let (secret, qr_svg) = if enabled {
        (String::new(), String::new())
    } else {
        match state.staff.totp_enrolment(name).await {
            Ok(enrolment) => (grouped_secret(&enrolment.secret), enrolment.qr_svg),
            Err(SecondFactorError::NoKey) => return no_key_page(),
            Err(e) => return failure(&e),
        }
    };
    let mut response = render(EnrolPage {
        chrome: Chrome::new(user, None),
        required: user.session.due == SecondFactorDue::Enrolment,
        enabled,
        codes_left: recovery_codes_text(codes_left),
        secret,
        qr_svg,
        error,
        recovery: Vec::new(),
    });
    if error.is_some() && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// GET /admin/totp
pub async fn enrol_form(State(state): State<AppState>, SecondStep(user): SecondStep) -> Response {
    if user.session.due == SecondFactorDue::Code {
        return Redirect::to("/admin/login/kode").into_response();
    }
    enrol_page(&state, &user, None).await
}

/// POST /admin/totp: the first code from the app puts the second factor in force.
pub async fn enrol(
    State(state): State<AppState>,
    SecondStepForm { user, form }: SecondStepForm<CodeForm>,
) -> Response {
    if user.session.due == SecondFactorDue::Code {
        return Redirect::to("/admin/login/kode").into_response();
    }
    match state
        .staff
        .confirm_totp(&user.session.username, &form.code, &user.actor())
        .await
    {
        Ok(recovery) => {
            if user.session.due == SecondFactorDue::Enrolment
                && let Err(e) = state.sessions.passed_second_factor(&user.session).await
            {
                return failure(&e);
            }
            let mut chrome = Chrome::new(&user, None);
            chrome.notice = Some("Tofaktor er slått på. Fra nå av trenger du koden fra appen når du logger inn.");
            render(EnrolPage {
                chrome,
                required: false,
                enabled: true,
                codes_left: recovery_codes_text(recovery.len() as i64),
                secret: String::new(),
                qr_svg: String::new(),
                error: None,
                recovery,
            })
        }
        Err(SecondFactorError::WrongCode | SecondFactorError::NotEnrolled) => {
            enrol_page(
                &state,
                &user,
                Some("Koden stemmer ikke. Sjekk at klokken på telefonen går riktig, og skriv koden appen viser nå."),
            )
            .await
        }
        Err(SecondFactorError::TooManyTries) => enrol_page(
            &state,
            &user,
            Some("For mange feil koder. Vent 15 minutter og prøv igjen."),
        )
        .await,
        Err(SecondFactorError::NoKey) => no_key_page(),
        Err(SecondFactorError::Store(e)) => failure(&e),
    }
}

/// The second factor's secret is sealed with `token_key`, and the service has no key
/// that opens it: an operator's matter, said so.
fn no_key_page() -> Response {
    super::page::problem_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Tofaktor kan ikke brukes akkurat nå",
        "Tjenesten mangler den hemmelige nøkkelen (token_key) som tofaktor-hemmelighetene er \
         låst med i databasen. Be den som drifter tjenesten om å sette den (eller den forrige \
         nøkkelen som token_key_previous), og prøv igjen.",
    )
}

fn recovery_codes_text(n: i64) -> String {
    count(
        n,
        "ubrukt gjenopprettingskode",
        "ubrukte gjenopprettingskoder",
    )
}
