//! The admin API: staff only (HTTP Basic with a staff account; passwords argon2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::AppState;
use crate::inbound::{Channel, Envelope, InboundError};

/// Failed logins allowed per client address in [`FAILURE_WINDOW`] before further tries
/// are refused unchecked: argon2 makes each guess slow, this makes guessing hopeless.
pub const MAX_LOGIN_FAILURES: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed staff logins per client address, forgotten a window after the first.
#[derive(Default)]
pub struct LoginFailures(Mutex<HashMap<IpAddr, (u32, Instant)>>);

impl LoginFailures {
    fn blocked(&self, client: IpAddr) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&client) {
            Some((_, since)) if since.elapsed() >= FAILURE_WINDOW => {
                map.remove(&client);
                false
            }
            Some((count, _)) => *count >= MAX_LOGIN_FAILURES,
            None => false,
        }
    }

    fn failed(&self, client: IpAddr) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = map.entry(client).or_insert((0, Instant::now()));
        entry.0 += 1;
    }
}

/// The staff account a request authenticates as, or the 401 (or 429) to answer.
async fn staff_user(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
) -> Result<String, Response> {
    if state.login_failures.blocked(client) {
        tracing::warn!(%client, "admin login refused: too many failures");
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, FAILURE_WINDOW.as_secs().to_string())],
            Json(json!({ "error": "too many failed logins from this address; wait 15 minutes" })),
        )
            .into_response());
    }
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
    let stored = match state.store.staff_password_hash(&username).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!(error = %e, "admin login: database unavailable");
            return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
    };
    // An unknown user costs the same argon2 work as a wrong password.
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| crate::auth::dummy_hash().to_owned());
    let ok = tokio::task::spawn_blocking(move || crate::auth::verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    if ok && known {
        Ok(username)
    } else {
        state.login_failures.failed(client);
        tracing::warn!(username = %username, %client, "admin login refused");
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

/// POST /admin/api/inbound: one raw RFC 5322 message as the body.
pub async fn inbound(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Query(query): Query<InboundQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match staff_user(&state, client.ip(), &headers).await {
        Ok(user) => user,
        Err(response) => return response,
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
