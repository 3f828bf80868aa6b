//! Staff accounts: the list (add, disable, enable, set a new password), and each
//! person's own page (change their password, see and end their sessions).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::guard::{StaffForm, StaffUser};
use super::page::{Chrome, failure, oslo_time, problem_page, render, shown};
use super::path::AccountNamePath;
use crate::ops::{NewAccount, OwnerTold, Reauth, StaffError};
use crate::web::AppState;

fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "lagt-til" => "Kontoen er opprettet. Gi personen brukernavn og passord på en trygg måte.",
        "passord" => {
            "Passordet er endret. Personen er logget ut overalt og må logge inn med det nye."
        }
        "passord-varslet" => {
            "Passordet er endret. Personen er logget ut overalt, og har fått en e-post om endringen."
        }
        "passord-uten-adresse" => {
            "Passordet er endret, og personen er logget ut overalt. Vi kunne ikke si fra til personen på e-post: kontoen har ingen e-postadresse. Si fra selv."
        }
        "passord-varsel-feilet" => {
            "Passordet er endret, og personen er logget ut overalt. E-posten som skulle si fra til personen, kunne ikke sendes. Si fra selv."
        }
        "tofaktor-varslet" => {
            "Tofaktor er nullstilt. Personen er logget ut overalt, må sette opp tofaktor på nytt ved neste innlogging, og har fått en e-post om endringen."
        }
        "tofaktor-uten-adresse" => {
            "Tofaktor er nullstilt. Personen er logget ut overalt og må sette opp tofaktor på nytt ved neste innlogging. Vi kunne ikke si fra til personen på e-post: kontoen har ingen e-postadresse. Si fra selv."
        }
        "tofaktor-varsel-feilet" => {
            "Tofaktor er nullstilt. Personen er logget ut overalt og må sette opp tofaktor på nytt ved neste innlogging. E-posten som skulle si fra til personen, kunne ikke sendes. Si fra selv."
        }
        "deaktivert" => "Kontoen er deaktivert og logget ut overalt.",
        "aktivert" => "Kontoen kan logge inn igjen.",
        "avsluttet" => "Økten er avsluttet.",
        _ => return None,
    })
}

/// An account operation's refusal, in words.
pub(super) fn refusal(e: &StaffError) -> Option<&'static str> {
    Some(match e {
        StaffError::BadUsername => {
            "Brukernavnet kan ha 1–64 bokstaver, sifre og tegnene . - _ @ (for eksempel kari eller kari@kom.no)."
        }
        StaffError::ReservedUsername(_) => {
            "Dette brukernavnet kan ikke brukes: loggen bruker det om det mottakerne gjør på de offentlige sidene. Velg et annet."
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
        StaffError::NotAdmin => {
            "Bare en administrator kan legge til, deaktivere og endre andres kontoer. Ingenting er endret."
        }
        StaffError::ReauthPassword => "Passordet ditt stemmer ikke. Ingenting er endret.",
        StaffError::ReauthCode => {
            "Koden fra appen mangler, stemmer ikke eller er brukt allerede. Skriv koden appen viser nå. Ingenting er endret."
        }
        StaffError::ReauthThrottled => {
            "For mange feil forsøk. Vent 15 minutter og prøv igjen. Ingenting er endret."
        }
        StaffError::BadEmail => "E-postadressen er ikke gyldig (for eksempel kari@kom.no).",
        StaffError::SecondFactorUnavailable(_) => {
            "Koden din kan ikke sjekkes: den hemmelige nøkkelen som tofaktor er låst med (token_key), mangler i innstillingene. Be den som drifter tjenesten om å sette den. Ingenting er endret."
        }
        StaffError::Hash(_) | StaffError::Store(_) => return None,
    })
}

fn not_admin() -> Response {
    problem_page(
        StatusCode::FORBIDDEN,
        "Bare for administratorer",
        "Bare en administrator kan legge til, deaktivere, aktivere og endre andres kontoer. Ingenting er endret.",
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    melding: String,
}

/// A form's refusal, at the field it is about.
#[derive(Debug, Default, Clone)]
struct FormErrors {
    username: Option<&'static str>,
    email: Option<&'static str>,
    password: Option<&'static str>,
    my_password: Option<&'static str>,
    my_code: Option<&'static str>,
    /// About the form as a whole.
    general: Option<&'static str>,
}

impl FormErrors {
    fn of(e: &StaffError) -> Option<Self> {
        let message = refusal(e)?;
        let mut errors = FormErrors::default();
        match e {
            StaffError::BadUsername | StaffError::ReservedUsername(_) | StaffError::Exists(_) => {
                errors.username = Some(message)
            }
            StaffError::BadEmail => errors.email = Some(message),
            StaffError::ShortPassword => errors.password = Some(message),
            StaffError::ReauthPassword | StaffError::ReauthThrottled => {
                errors.my_password = Some(message)
            }
            StaffError::ReauthCode | StaffError::SecondFactorUnavailable(_) => {
                errors.my_code = Some(message)
            }
            _ => errors.general = Some(message),
        }
        Some(errors)
    }

    fn any(&self) -> bool {
        self.username.is_some()
            || self.email.is_some()
            || self.password.is_some()
            || self.my_password.is_some()
            || self.my_code.is_some()
            || self.general.is_some()
    }
}

/// Which form on the accounts page was sent: `add`, or an action on one account.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Add,
    Password(String),
    Toggle(String),
    Reset(String),
}

struct AccountRow {
    username: String,
    created: String,
    disabled: String,
    sessions: i64,
    me: bool,
    is_admin: bool,
    second_factor: bool,
    email: String,
    password_errors: FormErrors,
    toggle_errors: FormErrors,
    reset_errors: FormErrors,
    /// Its actions are shown unfolded (one of them was refused).
    open: bool,
    /// The forms' element ids.
    pw_id: String,
    reset_id: String,
    toggle_id: String,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    chrome: Chrome,
    rows: Vec<AccountRow>,
    /// The signed-in account manages accounts: the forms are shown.
    admin: bool,
    /// The signed-in account has a second factor: its code is asked for too.
    code_needed: bool,
    add_errors: FormErrors,
    /// A refusal about an account not on the page.
    problem: Option<&'static str>,
}

async fn staff_page(
    state: &AppState,
    user: &StaffUser,
    notice_code: &str,
    refused: Option<(Sent, FormErrors)>,
) -> Response {
    let me = &user.session.username;
    let accounts = match state.staff.accounts().await {
        Ok(accounts) => accounts,
        Err(e) => return failure(&e),
    };
    let admin = accounts
        .iter()
        .any(|a| &a.username == me && a.is_admin && a.disabled_at.is_none());
    let code_needed = accounts
        .iter()
        .any(|a| &a.username == me && a.second_factor);
    let errors_for = |sent: Sent| match &refused {
        Some((s, errors)) if *s == sent => errors.clone(),
        _ => FormErrors::default(),
    };
    let rows: Vec<AccountRow> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let password_errors = errors_for(Sent::Password(a.username.clone()));
            let toggle_errors = errors_for(Sent::Toggle(a.username.clone()));
            let reset_errors = errors_for(Sent::Reset(a.username.clone()));
            AccountRow {
                // Only rows with forms show a refusal (not one's own, nor without the role).
                open: admin
                    && &a.username != me
                    && (password_errors.any() || toggle_errors.any() || reset_errors.any()),
                username: shown(&a.username),
                created: oslo_time(a.created_at),
                disabled: a.disabled_at.map(oslo_time).unwrap_or_default(),
                sessions: a.sessions,
                me: &a.username == me,
                is_admin: a.is_admin,
                second_factor: a.second_factor,
                email: a.email.as_deref().map(shown).unwrap_or_default(),
                password_errors,
                toggle_errors,
                reset_errors,
                pw_id: format!("pw-{}", i + 1),
                reset_id: format!("reset-{}", i + 1),
                toggle_id: format!("toggle-{}", i + 1),
            }
        })
        .collect();
    let shown_somewhere = rows.iter().any(|r| r.open);
    let add_errors = errors_for(Sent::Add);
    let problem = match &refused {
        Some((Sent::Add, _)) | None => None,
        Some((_, errors)) if !shown_somewhere => errors
            .general
            .or(errors.password)
            .or(errors.my_password)
            .or(errors.my_code),
        Some(_) => None,
    };
    let failed = refused.is_some();
    let mut response = render(StaffPage {
        rows,
        admin,
        code_needed,
        add_errors,
        problem,
        chrome: Chrome::new(user, notice(notice_code)),
    });
    if failed && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// A refused account change: the page again with the refusal at its field, or the
/// administrators-only page.
async fn refused_on_page(
    state: &AppState,
    user: &StaffUser,
    sent: Sent,
    e: StaffError,
) -> Response {
    if matches!(e, StaffError::NotAdmin) {
        return not_admin();
    }
    match FormErrors::of(&e) {
        Some(errors) => {
            let mut response = staff_page(state, user, "", Some((sent, errors))).await;
            if matches!(e, StaffError::ReauthThrottled) {
                *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            }
            response
        }
        None => failure(&e),
    }
}

/// GET /admin/staff
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    staff_page(&state, &user, &query.melding, None).await
}

/// What every account change carries: the acting person's own password, and their
/// code when they have a second factor.
#[derive(Debug, Default, Deserialize)]
pub struct ReauthFields {
    #[serde(default)]
    my_password: String,
    #[serde(default)]
    my_code: String,
}

fn client_of(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    crate::web::client::client_key(peer, headers, &state.trusted_proxies).to_string()
}

fn reauth<'a>(client: &'a str, user: &'a StaffUser, fields: &'a ReauthFields) -> Reauth<'a> {
    Reauth {
        client,
        username: &user.session.username,
        password: &fields.my_password,
        code: &fields.my_code,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    email: String,
    /// Present: the new account is an administrator.
    #[serde(default)]
    admin: Option<String>,
    #[serde(flatten)]
    reauth: ReauthFields,
}

/// POST /admin/staff
pub async fn add(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    StaffForm { user, form }: StaffForm<NewAccountForm>,
) -> Response {
    let client = client_of(&state, peer, &headers);
    let new = NewAccount {
        username: &form.username,
        password: &form.password,
        email: &form.email,
        admin: form.admin.is_some(),
    };
    match state
        .staff
        .admin_add(&reauth(&client, &user, &form.reauth), &new)
        .await
    {
        Ok(()) => Redirect::to("/admin/staff?melding=lagt-til").into_response(),
        Err(e) => refused_on_page(&state, &user, Sent::Add, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    reauth: ReauthFields,
}

/// Where to go after someone else's account was changed: the notice says whether its
/// owner was told.
fn told(change: &str, told: Option<OwnerTold>) -> Response {
    let outcome = match told {
        None => return Redirect::to("/admin/login?ut=1").into_response(),
        Some(OwnerTold::Mailed(_)) => "varslet",
        Some(OwnerTold::NoAddress) => "uten-adresse",
        Some(OwnerTold::Failed(_)) => "varsel-feilet",
    };
    Redirect::to(&format!("/admin/staff?melding={change}-{outcome}")).into_response()
}

/// POST /admin/staff/{name}/password
pub async fn set_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AccountNamePath(name): AccountNamePath,
    StaffForm { user, form }: StaffForm<PasswordForm>,
) -> Response {
    let client = client_of(&state, peer, &headers);
    match state
        .staff
        .admin_set_password(&reauth(&client, &user, &form.reauth), &name, &form.password)
        .await
    {
        Ok(owner) => told("passord", owner),
        Err(e) => refused_on_page(&state, &user, Sent::Password(name), e).await,
    }
}

/// POST /admin/staff/{name}/disable
pub async fn disable(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AccountNamePath(name): AccountNamePath,
    StaffForm { user, form }: StaffForm<ReauthFields>,
) -> Response {
    let client = client_of(&state, peer, &headers);
    match state
        .staff
        .admin_disable(&reauth(&client, &user, &form), &name)
        .await
    {
        Ok(_) => Redirect::to("/admin/staff?melding=deaktivert").into_response(),
        Err(e) => refused_on_page(&state, &user, Sent::Toggle(name), e).await,
    }
}

/// POST /admin/staff/{name}/enable
pub async fn enable(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AccountNamePath(name): AccountNamePath,
    StaffForm { user, form }: StaffForm<ReauthFields>,
) -> Response {
    let client = client_of(&state, peer, &headers);
    match state
        .staff
        .admin_enable(&reauth(&client, &user, &form), &name)
        .await
    {
        Ok(_) => Redirect::to("/admin/staff?melding=aktivert").into_response(),
        Err(e) => refused_on_page(&state, &user, Sent::Toggle(name), e).await,
    }
}

/// POST /admin/staff/{name}/second-factor/reset: «Nullstill tofaktor» (a lost phone).
pub async fn reset_second_factor(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AccountNamePath(name): AccountNamePath,
    StaffForm { user, form }: StaffForm<ReauthFields>,
) -> Response {
    let client = client_of(&state, peer, &headers);
    match state
        .staff
        .admin_reset_second_factor(&reauth(&client, &user, &form), &name)
        .await
    {
        Ok(owner) => told("tofaktor", owner),
        Err(e) => refused_on_page(&state, &user, Sent::Reset(name), e).await,
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
