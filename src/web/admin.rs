//! The admin API: staff only (HTTP Basic with a staff account; passwords argon2).

use axum::Json;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::AppState;
use crate::inbound::{Channel, Envelope, InboundError};

/// Failed logins allowed per client (see `client::client_key`) in [`FAILURE_WINDOW`]
/// before further tries are refused unchecked: argon2 makes each guess slow, this makes
/// guessing hopeless.
pub const MAX_LOGIN_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a login waits for a free password check before the answer is "busy".
const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(10);

/// The staff account a request authenticates as, or the 401 (or 429, 503) to answer.
/// Works from the headers alone: nothing of a body has been read yet.
async fn staff_user(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
) -> Result<String, Response> {
    let unauthorised = || {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"nyhetsbrev\", charset=\"UTF-8\"",
            )],
            Json(json!({ "error": "log in with a staff account (HTTP Basic)" })),
        )
            .into_response()
    };
    let unavailable = |what: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
            Json(json!({ "error": format!("{what}; try again shortly") })),
        )
            .into_response()
    };
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    let Some((username, password)) = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
    else {
        return Err(unauthorised());
    };
    // The attempt counts before the password is checked, so parallel guesses cannot
    // all be checked before the first failure is counted.
    let attempt = match state
        .store
        .count_login_attempt(
            &client.to_string(),
            MAX_LOGIN_FAILURES,
            FAILURE_WINDOW.as_millis() as i64,
        )
        .await
    {
        Ok(Some(attempt)) => attempt,
        Ok(None) => {
            tracing::warn!(%client, "admin login refused unchecked: too many failures");
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, FAILURE_WINDOW.as_secs().to_string())],
                Json(
                    json!({ "error": "too many failed logins from this address; wait 15 minutes" }),
                ),
            )
                .into_response());
        }
        Err(e) => {
            tracing::error!(error = %e, "admin login: database unavailable");
            return Err(unavailable("the database is not available"));
        }
    };
    let stored = match state.store.staff_password_hash(&username).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = %e, "admin login: database unavailable");
            return Err(unavailable("the database is not available"));
        }
    };
    // An unknown user costs the same argon2 work as a wrong password.
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| crate::auth::dummy_hash().to_owned());
    // At most one check per core at once: each takes 19 MiB, and the process also
    // serves the public pages and sends.
    let Ok(Ok(permit)) = tokio::time::timeout(
        PASSWORD_CHECK_WAIT,
        Arc::clone(&state.password_checks).acquire_owned(),
    )
    .await
    else {
        tracing::warn!(%client, "admin login: too many password checks waiting");
        return Err(unavailable("too many logins at once"));
    };
    let ok = tokio::task::spawn_blocking(move || {
        let ok = crate::auth::verify_password(&password, &stored);
        drop(permit);
        ok
    })
    .await
    .unwrap_or(false);
    if ok && known {
        if let Err(e) = state.store.login_succeeded(attempt).await {
            tracing::warn!(error = %e, "could not clear a successful login attempt");
        }
        Ok(username)
    } else {
        // The name is logged only when it is an account's: a password typed into the
        // name field must not end up in the log. Debug formatting escapes controls.
        if known {
            tracing::warn!(user = ?username, %client, "admin login refused: wrong password");
        } else {
            tracing::warn!(%client, "admin login refused: no such user");
        }
        Err(unauthorised())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct InboundQuery {
    /// Envelope sender, when the provider passes it.
    sender: Option<String>,
    /// Envelope recipient, when the provider passes it.
    recipient: Option<String>,
}

/// POST /admin/api/inbound: one raw RFC 5322 message as the body. The credentials
/// are checked from the headers before a byte of the body is read; the body is then
/// read up to the limit and within the body timeout.
pub async fn inbound(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<InboundQuery>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let client = super::client::client_key(peer, &parts.headers, &state.trusted_proxies);
    let user = match staff_user(&state, client, &parts.headers).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let limit = state.inbound.max_size();
    let body = match axum::body::to_bytes(body, limit.saturating_add(1)).await {
        Ok(body) => body,
        Err(e) => {
            // The limit layer's error, somewhere down the chain of causes.
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut too_large = false;
            while let Some(error) = cause {
                too_large |= error.is::<http_body_util::LengthLimitError>();
                cause = error.source();
            }
            let (status, error) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the message is larger than {limit} bytes (inbound_max_size)"),
                )
            } else {
                (
                    StatusCode::REQUEST_TIMEOUT,
                    "the message did not arrive in time; post it again".to_owned(),
                )
            };
            return (status, Json(json!({ "error": error }))).into_response();
        }
    };
    let envelope = Envelope {
        sender: query.sender,
        recipient: query.recipient,
    };
    match state.inbound.handle(&body, Channel::Api, &envelope).await {
        Ok(handled) => {
            tracing::info!(user = %user, id = handled.id, "inbound message posted");
            Json(json!({
                "id": handled.id,
                "kind": handled.kind,
                "result": handled.result,
                "duplicate": handled.duplicate,
            }))
            .into_response()
        }
        Err(e @ InboundError::TooLarge { .. }) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "inbound message not recorded");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "60")],
                Json(json!({ "error": format!("{e}; nothing was recorded, post it again later") })),
            )
                .into_response()
        }
    }
}
