//! The admin API: staff only (HTTP Basic with a staff account; passwords argon2).

use axum::Json;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use std::net::{IpAddr, SocketAddr};

use super::AppState;
use crate::inbound::{Channel, Envelope, InboundError};

pub use crate::ops::staff::MAX_LOGIN_FAILURES;
use crate::ops::staff::{FAILURE_WINDOW, LoginError};

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
    match state
        .staff
        .log_in(&client.to_string(), &username, &password)
        .await
    {
        Ok(username) => Ok(username),
        Err(LoginError::Refused) => Err(unauthorised()),
        Err(e @ (LoginError::TooManyFailures | LoginError::AccountThrottled)) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, FAILURE_WINDOW.as_secs().to_string())],
            Json(json!({ "error": e.to_string() })),
        )
            .into_response()),
        Err(LoginError::Busy) => Err(unavailable("too many logins at once")),
        Err(LoginError::Unavailable(e)) => {
            tracing::error!(error = %e, "admin login: database unavailable");
            Err(unavailable("the database is not available"))
        }
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
    let limit = state.inbound.handler().max_size();
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
