//! Staff accounts: the list (add, disable, enable, set a new password), and each
//! person's own page (change their password, see and end their sessions).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{Empty, StaffForm, StaffUser};
use super::page::{Chrome, failure, oslo_time, problem_page, render, shown};
use crate::ops::StaffError;
use crate::web::AppState;

fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "lagt-til" => "Kontoen er opprettet. Gi personen brukernavn og passord på en trygg måte.",
        "passord" => {
            "Passordet er endret. Personen er logget ut overalt og må logge inn med det nye."
        }
        "deaktivert" => "Kontoen er deaktivert og logget ut overalt.",
        "aktivert" => "Kontoen kan logge inn igjen.",
        "avsluttet" => "Økten er avsluttet.",
        _ => return None,
    })
}

/// An account operation's refusal, in words.
fn refusal(e: &StaffError) -> Option<&'static str> {
    Some(match e {
        StaffError::BadUsername => {
            "Brukernavnet kan ha 1–64 bokstaver, sifre og tegnene . - _ @ (for eksempel kari eller kari@kom.no)."
        }
        StaffError::ShortPassword => {
            "Passordet må ha minst 12 tegn. En setning av fire–fem ord er lett å huske og vanskelig å gjette."
        }
        StaffError::Exists(_) => "Det finnes allerede en konto med dette brukernavnet.",
        StaffError::NoSuchAccount(_) => "Det finnes ingen konto med dette brukernavnet.",
        StaffError::OwnAccount => {
            "Du kan ikke deaktivere din egen konto. Be en annen i staben om å gjøre det."
        }
        StaffError::WrongPassword => "Det nåværende passordet er feil. Ingenting er endret.",
        StaffError::Mismatch => "Det nye passordet ble ikke skrevet likt to ganger.",
        StaffError::Hash(_) | StaffError::Store(_) => return None,
    })
}

fn refused(e: StaffError) -> Response {
    match refusal(&e) {
        Some(message) => problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Det gikk ikke",
            &format!("{message} Gå tilbake og prøv igjen."),
        ),
        None => failure(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    melding: String,
}

struct AccountRow {
    username: String,
    created: String,
    disabled: String,
    sessions: i64,
    me: bool,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    chrome: Chrome,
    rows: Vec<AccountRow>,
}

/// GET /admin/staff
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let accounts = match state.staff.accounts().await {
        Ok(accounts) => accounts,
        Err(e) => return failure(&e),
    };
    render(StaffPage {
        rows: accounts
            .iter()
            .map(|a| AccountRow {
                username: shown(&a.username),
                created: oslo_time(a.created_at),
                disabled: a.disabled_at.map(oslo_time).unwrap_or_default(),
                sessions: a.sessions,
                me: a.username == user.session.username,
            })
            .collect(),
        chrome: Chrome::new(&user, notice(&query.melding)),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAccount {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// POST /admin/staff
pub async fn add(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<NewAccount>,
) -> Response {
    match state
        .staff
        .add(&form.username, &form.password, &user.actor())
        .await
    {
        Ok(()) => Redirect::to("/admin/staff?melding=lagt-til").into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// POST /admin/staff/{name}/password
pub async fn set_password(
    State(state): State<AppState>,
    Path(name): Path<String>,
    StaffForm { user, form }: StaffForm<PasswordForm>,
) -> Response {
    match state
        .staff
        .set_password(&name, &form.password, &user.actor())
        .await
    {
        Ok(()) if name == user.session.username => {
            Redirect::to("/admin/login?ut=1").into_response()
        }
        Ok(()) => Redirect::to("/admin/staff?melding=passord").into_response(),
        Err(e) => refused(e),
    }
}

/// POST /admin/staff/{name}/disable
pub async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state
        .staff
        .disable(&name, &user.session.username, &user.actor())
        .await
    {
        Ok(_) => Redirect::to("/admin/staff?melding=deaktivert").into_response(),
        Err(e) => refused(e),
    }
}

/// POST /admin/staff/{name}/enable
pub async fn enable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state.staff.enable(&name, &user.actor()).await {
        Ok(_) => Redirect::to("/admin/staff?melding=aktivert").into_response(),
        Err(e) => refused(e),
    }
}

struct SessionRow {
    id_hash: String,
    started: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    chrome: Chrome,
    sessions: Vec<SessionRow>,
    problem: Option<&'static str>,
}

async fn account_page(
    state: &AppState,
    user: &StaffUser,
    notice_code: &str,
    problem: Option<&'static str>,
) -> Response {
    let sessions = match state.staff.sessions(&user.session.username).await {
        Ok(sessions) => sessions,
        Err(e) => return failure(&e),
    };
    let mut response = render(AccountPage {
        chrome: Chrome::new(user, notice(notice_code)),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                current: s.id_hash == user.session.id_hash,
                started: oslo_time(s.created_at),
                last_seen: oslo_time(s.last_seen_at),
                id_hash: s.id_hash,
            })
            .collect(),
        problem,
    });
    if problem.is_some() && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// GET /admin/account: one's own password and sessions.
pub async fn own(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    account_page(&state, &user, &query.melding, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct OwnPasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeated: String,
}

/// POST /admin/account/password
pub async fn change_own_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    StaffForm { user, form }: StaffForm<OwnPasswordForm>,
) -> Response {
    let client = crate::web::client::client_key(peer, &headers, &state.trusted_proxies);
    match state
        .staff
        .change_own_password(
            &client.to_string(),
            &user.session.username,
            &form.current,
            &form.new,
            &form.repeated,
        )
        .await
    {
        // Every session ended, this one too: sign in with the new password.
        Ok(()) => Redirect::to("/admin/login?ut=1").into_response(),
        Err(e) => match refusal(&e) {
            Some(message) => account_page(&state, &user, "", Some(message)).await,
            None => failure(&e),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EndSessionForm {
    #[serde(default)]
    session: String,
}

/// POST /admin/account/sessions/end
pub async fn end_session(
    State(state): State<AppState>,
    StaffForm { user, form }: StaffForm<EndSessionForm>,
) -> Response {
    match state
        .staff
        .end_session(&user.session.username, &form.session)
        .await
    {
        Ok(_) if form.session == user.session.id_hash => {
            Redirect::to("/admin/login?ut=1").into_response()
        }
        Ok(_) => Redirect::to("/admin/account?melding=avsluttet").into_response(),
        Err(e) => failure(&e),
    }
}
