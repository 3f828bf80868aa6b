//! «Opprett den første kontoen»: while no staff account exists, the web admin asks for
//! the set-up code `serve` printed, and makes the first account, an administrator,
//! signed in at once. Like the login page (no session yet, so no CSRF token), the form
//! is taken only from the service's own origin; the code is the rest of the proof.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::PageError;
use super::guard::same_origin;
use super::login::with_session_cookie;
use super::page::{failure, render};
use crate::ops::{FirstAccountError, FirstAccountForm, SecondFactorDue};
use crate::web::AppState;

/// Where the set-up page is.
pub const PATH: &str = "/admin/oppstart";

#[derive(Template, Default)]
#[template(path = "admin/first_account.html")]
struct FirstAccountPage {
    code: String,
    username: String,
    email: String,
    error: Option<&'static str>,
}

/// GET /admin/oppstart: the form while no account exists; the login page after.
pub async fn form(State(state): State<AppState>) -> Response {
    match state.staff.needs_first_account().await {
        Ok(true) => render(FirstAccountPage::default()),
        Ok(false) => Redirect::to("/admin/login").into_response(),
        Err(e) => failure(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeated: String,
}

/// POST /admin/oppstart
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, PageError> {
    if !same_origin(&headers, &state.admin.origin) {
        return Err(PageError::refused(
            StatusCode::FORBIDDEN,
            "Skjemaet ble ikke tatt imot",
            "Skjemaet kom ikke fra denne tjenesten. Åpne siden for den første kontoen og prøv igjen.",
        ));
    }
    let client = crate::web::client::client_key(peer, &headers, &state.trusted_proxies);
    let made = state
        .staff
        .create_first_account(
            &client.to_string(),
            FirstAccountForm {
                code: &form.code,
                username: &form.username,
                email: &form.email,
                password: &form.password,
                repeated: &form.repeated,
            },
        )
        .await;
    let username = match made {
        Ok(username) => username,
        Err(FirstAccountError::AccountExists) => {
            return Ok(Redirect::to("/admin/login").into_response());
        }
        Err(FirstAccountError::Account(crate::ops::StaffError::Store(e))) => {
            return Err(PageError::failed(e));
        }
        Err(refused) => return Ok(form_again(&form, &refused)),
    };
    let due = state
        .staff
        .due_after_password(&username, state.admin.require_totp)
        .await
        .map_err(PageError::failed)?;
    let session = state
        .sessions
        .start_with(&username, due)
        .await
        .map_err(PageError::failed)?;
    let next = match due {
        SecondFactorDue::Nothing => "/admin",
        SecondFactorDue::Code => "/admin/login/kode",
        SecondFactorDue::Enrolment => "/admin/totp",
    };
    Ok(with_session_cookie(
        Redirect::to(next).into_response(),
        &state,
        session.secret.as_str(),
        "",
    ))
}

/// The form again, with what was typed (not the passwords) and why it was refused.
fn form_again(form: &SetupForm, refused: &FirstAccountError) -> Response {
    let (status, error) = match refused {
        FirstAccountError::WrongCode => (
            StatusCode::UNAUTHORIZED,
            "Engangskoden stemmer ikke. Skriv koden slik den står der tjenesten ble startet, og prøv igjen.",
        ),
        FirstAccountError::TooManyTries => (
            StatusCode::TOO_MANY_REQUESTS,
            "For mange feil forsøk. Vent 15 minutter og prøv igjen.",
        ),
        FirstAccountError::NoEmail => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Skriv e-postadressen din: tjenesten sier fra der hvis noen andre endrer kontoen.",
        ),
        FirstAccountError::Account(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            super::accounts::refusal(e).unwrap_or("Kontoen kunne ikke opprettes. Prøv igjen."),
        ),
        FirstAccountError::AccountExists => (
            StatusCode::CONFLICT,
            "Det finnes allerede en konto. Logg inn.",
        ),
    };
    let keep = |text: &str| text.chars().take(254).collect::<String>();
    let mut response = render(FirstAccountPage {
        code: keep(&form.code),
        username: keep(&form.username),
        email: keep(&form.email),
        error: Some(error),
    });
    *response.status_mut() = status;
    response
}
