//! Signing in and out.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::error::PageError;
use super::guard::{Empty, SESSION_COOKIE, StaffForm, safe_next, same_origin, session_cookie};
use super::page::{failure, render};
use crate::ops::{LoginError, SecondFactorDue};
use crate::web::AppState;

#[derive(Template, Default)]
#[template(path = "admin/login.html")]
struct LoginPage {
    username: String,
    next: String,
    error: Option<&'static str>,
    signed_out: bool,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    neste: String,
    #[serde(default)]
    ut: Option<String>,
}

/// GET /admin/login
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    // Someone signed in already goes straight on.
    if let Some(cookie) = session_cookie(&headers)
        && let Ok(Some(_)) = state.sessions.check(cookie).await
    {
        return Redirect::to(safe_next(&query.neste).unwrap_or("/admin")).into_response();
    }
    // A new installation has nobody to sign in: its first account is made first.
    match state.staff.needs_first_account().await {
        Ok(true) => return Redirect::to(super::first_account::PATH).into_response(),
        Ok(false) => {}
        Err(e) => return super::page::failure(&e),
    }
    render(LoginPage {
        next: safe_next(&query.neste).unwrap_or_default().to_owned(),
        signed_out: query.ut.is_some(),
        ..Default::default()
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    neste: String,
}

/// POST /admin/login
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    // Signing someone in from another site's form is refused like any other change.
    if !same_origin(&headers, &state.admin.origin) {
        return Err(PageError::refused(
            StatusCode::FORBIDDEN,
            "Innloggingen ble stoppet",
            "Skjemaet kom ikke fra innloggingssiden til denne tjenesten. Åpne innloggingssiden og prøv igjen.",
        ));
    }
    let client = crate::web::client::client_key(peer, &headers, &state.trusted_proxies);
    let username = match state
        .staff
        .log_in(&client.to_string(), form.username.trim(), &form.password)
        .await
    {
        Ok(username) => username,
        Err(LoginError::Unavailable(e)) => return Err(PageError::failed(e)),
        Err(refused) => return Ok(login_again(&form, &refused)),
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
    tracing::info!(user = %username, ?due, "staff password accepted");
    let next = match due {
        SecondFactorDue::Nothing => safe_next(&form.neste).unwrap_or("/admin"),
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

/// The sign-in form again, with what was typed (not the password) and why it failed.
fn login_again(form: &LoginForm, refused: &LoginError) -> Response {
    let (status, error) = match refused {
        LoginError::TooManyFailures | LoginError::AccountThrottled => (
            StatusCode::TOO_MANY_REQUESTS,
            "For mange mislykkede forsøk. Vent 15 minutter og prøv igjen.",
        ),
        LoginError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Mange logger inn akkurat nå. Prøv igjen om et øyeblikk.",
        ),
        LoginError::Refused | LoginError::Unavailable(_) => (
            StatusCode::UNAUTHORIZED,
            "Feil brukernavn eller passord. Prøv igjen.",
        ),
    };
    let mut response = render(LoginPage {
        username: form.username.chars().take(64).collect(),
        next: safe_next(&form.neste).unwrap_or_default().to_owned(),
        error: Some(error),
        signed_out: false,
    });
    *response.status_mut() = status;
    response
}

/// Sets (or, with `Max-Age=0` in `extra`, clears) the session cookie on `response`.
pub(super) fn with_session_cookie(
    mut response: Response,
    state: &AppState,
    value: &str,
    extra: &str,
) -> Response {
    let secure = if state.admin.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{SESSION_COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict{extra}{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// POST /admin/logout
pub async fn log_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    if let Some(cookie) = session_cookie(&headers)
        && let Err(e) = state.sessions.end(cookie).await
    {
        return failure(&e);
    }
    tracing::info!(user = %user.session.username, "staff signed out");
    with_session_cookie(
        Redirect::to("/admin/login?ut=1").into_response(),
        &state,
        "",
        "; Max-Age=0",
    )
}
