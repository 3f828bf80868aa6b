//! Who may use a staff page, and what a change must carry.
//!
//! Every page under `/admin` (but the login page) takes a [`StaffUser`]: without a live
//! session the answer is a redirect to the login page and nothing else. Every change is
//! a POST read through [`StaffForm`] or [`StaffUpload`], which check in this order,
//! before anything is written: the session, the request's `Origin` (or `Referer`)
//! against `base_url`, the body's size, and the CSRF token bound to the session.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::AppState;
use super::menu::{Place, place_of};
use super::page::problem_page;
use crate::ops::{SecondFactorDue, Session};
use crate::store::Actor;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nyhetsbrev_stab";

/// The largest staff form: an issue's text (at most 1 MiB) and its fields, with room
/// for URL encoding, which can triple non-ASCII text.
pub const MAX_FORM_BYTES: usize = 3 * crate::render::MAX_SOURCE_BYTES + 64 * 1024;

/// How much of a too-large body is read and thrown away before the refusal is sent: a
/// browser still writing its upload when the connection closes shows a network error
/// instead of our page. Only signed-in staff get this far, and the body timeout holds.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// The body, if it is at most `max` bytes; a larger one is read on (up to
/// [`DRAIN_BYTES`]) and discarded, so the answer reaches the client.
async fn read_body(body: Body, max: usize) -> Result<axum::body::Bytes, Response> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // Cut off (the body timeout) or broken: nothing was read in full.
            return Err(too_large());
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_BYTES {
            return Err(too_large());
        }
        if seen <= max {
            kept.extend_from_slice(&data);
        }
    }
    if seen > max {
        return Err(too_large());
    }
    Ok(kept.into())
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub session: Session,
    /// The part of the admin the request is for: the menu marks it.
    pub place: Place,
}

impl StaffUser {
    /// The name the audit log records for what this person does in the browser.
    pub fn actor(&self) -> Actor {
        Actor::web(&self.session.username)
    }
}

/// The value of the session cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// Where the login page sends someone who came for `path` (only paths under `/admin`,
/// so the parameter cannot send anyone elsewhere).
pub fn safe_next(path: &str) -> Option<&str> {
    let ok = path.starts_with("/admin")
        && !path.starts_with("/admin/login")
        && !path.contains("//")
        && !path.contains('\\')
        && path.len() <= 200
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.?=&".contains(&b));
    ok.then_some(path)
}

fn to_login(parts: &Parts) -> Response {
    let wanted = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
    let location = match (parts.method == axum::http::Method::GET)
        .then(|| safe_next(wanted))
        .flatten()
    {
        Some(next) if next != "/admin" => {
            format!("/admin/login?neste={}", urlencode(next))
        }
        _ => "/admin/login".to_owned(),
    };
    Redirect::to(&location).into_response()
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Someone past the password whose session may still owe its second factor: the
/// only pages such a session opens are the code page and the enrolment page.
#[derive(Debug, Clone)]
pub struct SecondStep(pub StaffUser);

impl FromRequestParts<AppState> for SecondStep {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        any_session(parts, state).await.map(SecondStep)
    }
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = any_session(parts, state).await?;
        match user.session.due {
            SecondFactorDue::Nothing => Ok(user),
            SecondFactorDue::Code => Err(Redirect::to("/admin/login/kode").into_response()),
            SecondFactorDue::Enrolment => Err(Redirect::to("/admin/totp").into_response()),
        }
    }
}

async fn any_session(parts: &mut Parts, state: &AppState) -> Result<StaffUser, Response> {
    {
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(to_login(parts));
        };
        match state.sessions.check(cookie).await {
            Ok(Some(session)) => Ok(StaffUser {
                session,
                // The staff routes are not nested: the path is the one the browser asked for.
                place: place_of(parts.uri.path()),
            }),
            Ok(None) => Err(to_login(parts)),
            Err(e) => {
                tracing::error!(error = %e, "staff session: database unavailable");
                Err(problem_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Databasen svarer ikke",
                    "Vi får ikke kontakt med databasen akkurat nå. Prøv igjen om litt.",
                ))
            }
        }
    }
}

/// The origin (`scheme://host[:port]`) of `base_url`: a change must come from a page
/// of the service itself.
pub fn origin_of(base_url: &str) -> String {
    url::Url::parse(base_url).map_or_else(
        |_| base_url.trim_end_matches('/').to_owned(),
        |u| u.origin().ascii_serialization(),
    )
}

/// Whether the request says it came from one of our own pages: `Origin` if present,
/// else `Referer`; a request with neither is refused.
pub fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(value) = headers.get(header::ORIGIN) {
        return value.to_str().is_ok_and(|v| v == origin);
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(origin))
        .is_some_and(|rest| rest.starts_with('/'))
}

fn forbidden() -> Response {
    problem_page(
        StatusCode::FORBIDDEN,
        "Endringen ble ikke gjort",
        "Skjemaet kom ikke fra en side i denne tjenesten, eller siden var for gammel. Ingenting ble endret. Gå tilbake, last siden på nytt og prøv igjen.",
    )
}

fn too_large() -> Response {
    problem_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "For stort",
        "Skjemaet eller filen var for stor til å tas imot (en utgave kan være høyst 1 MiB, en kontaktliste høyst 32 MiB). Ingenting ble lagret. Gå tilbake, gjør teksten eller filen mindre og prøv igjen; en større kontaktliste kan importeres på kommandolinjen.",
    )
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// The form of a change that carries nothing but its CSRF token (a button).
#[derive(Debug, Default, Deserialize)]
pub struct Empty {}

/// A staff change: the signed-in user and the form, after every check.
pub struct StaffForm<T> {
    pub user: StaffUser,
    pub form: T,
}

/// A change on the second-factor pages (a code, enrolment): the same checks as
/// [`StaffForm`], for a session that may still owe its second factor.
pub struct SecondStepForm<T> {
    pub user: StaffUser,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SecondStepForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user = any_session(&mut parts, state).await?;
        let user = origin_allowed(&parts, state, user)?;
        let form = read_form(&user, body).await?;
        Ok(SecondStepForm { user, form })
    }
}

fn origin_allowed(parts: &Parts, state: &AppState, user: StaffUser) -> Result<StaffUser, Response> {
    if !same_origin(&parts.headers, &state.admin.origin) {
        tracing::warn!(user = %user.session.username, "staff change refused: foreign or missing Origin");
        return Err(forbidden());
    }
    Ok(user)
}

/// The body of a form, after its size and CSRF token are checked.
async fn read_form<T: DeserializeOwned>(user: &StaffUser, body: Body) -> Result<T, Response> {
    let bytes = read_body(body, MAX_FORM_BYTES).await?;
    let token =
        serde_urlencoded::from_bytes::<CsrfOnly>(&bytes).map_or_else(|_| String::new(), |c| c.csrf);
    if !user.session.csrf_matches(&token) {
        tracing::warn!(user = %user.session.username, "staff change refused: wrong CSRF token");
        return Err(forbidden());
    }
    serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
        tracing::warn!(error = %e, "staff form could not be read");
        problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Skjemaet kunne ikke leses",
            "Skjemaet manglet felt eller hadde ugyldige verdier. Ingenting ble endret. Gå tilbake og prøv igjen.",
        )
    })
}

/// Session and origin: what every change needs before its body is read.
async fn change_allowed(parts: &mut Parts, state: &AppState) -> Result<StaffUser, Response> {
    let user = StaffUser::from_request_parts(parts, state).await?;
    origin_allowed(parts, state, user)
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user = change_allowed(&mut parts, state).await?;
        let form = read_form(&user, body).await?;
        Ok(StaffForm { user, form })
    }
}

/// A file sent from a staff form (multipart), after the same checks as [`StaffForm`]:
/// the CSRF field must come before the file. `MAX` bounds the whole body; the form's
/// other fields (checkboxes and the like, 1 KiB each at most) come in `fields`.
pub struct StaffUpload<const MAX: usize = MAX_FORM_BYTES> {
    pub user: StaffUser,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub fields: Vec<(String, String)>,
}

impl<const MAX: usize> FromRequest<AppState> for StaffUpload<MAX> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let user = change_allowed(&mut parts, state).await?;
        let bytes = read_body(body, MAX).await?;
        let request = Request::from_parts(parts, Body::from(bytes));
        let mut multipart = axum::extract::Multipart::from_request(request, state)
            .await
            .map_err(|_| forbidden())?;
        let mut csrf_ok = false;
        let mut file = None;
        let mut fields = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(_) => return Err(too_large()),
            };
            match field.name() {
                Some("csrf") => {
                    let token = field.text().await.map_err(|_| too_large())?;
                    csrf_ok = user.session.csrf_matches(&token);
                }
                Some("file") if csrf_ok => {
                    let name = field.file_name().unwrap_or("fil").to_owned();
                    let bytes = field.bytes().await.map_err(|_| too_large())?;
                    file = Some((name, bytes.to_vec()));
                }
                Some(name) if csrf_ok && fields.len() < 20 => {
                    let name = name.to_owned();
                    let value = field.text().await.map_err(|_| too_large())?;
                    fields.push((name, value.chars().take(1024).collect()));
                }
                _ => {}
            }
        }
        if !csrf_ok {
            return Err(forbidden());
        }
        let Some((file_name, bytes)) = file else {
            return Err(problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Ingen fil",
                "Velg en fil å laste opp og prøv igjen.",
            ));
        };
        Ok(StaffUpload {
            user,
            file_name,
            bytes,
            fields,
        })
    }
}
