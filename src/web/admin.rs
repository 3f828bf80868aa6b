//! The admin API: integrations only, each with its own API token made by staff
//! (`Authorization: Bearer nbk_…`). A staff password never opens it: a password can be
//! phished, and the API has no second factor.

use axum::Json;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use std::net::{IpAddr, SocketAddr};

use super::AppState;
use crate::domain::{ApiScope, ApiTokenName};
use crate::inbound::{Envelope, InboundError};
use crate::ops::ApiAuthError;

use crate::ops::staff::FAILURE_WINDOW;
pub use crate::ops::staff::MAX_LOGIN_FAILURES;

/// The longest `Authorization` value looked at; a token is 47 characters.
const MAX_CREDENTIAL_CHARS: usize = 200;

/// The API token a request authenticates with, if it may do `scope`, or the 401 (or
/// 403, 429, 503) to answer. Works from the headers alone: nothing of a body has been
/// read yet.
async fn api_token(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    scope: ApiScope,
) -> Result<ApiTokenName, Response> {
    let presented = bearer_token(client, headers).map_err(unauthorised)?;
    match state
        .api_tokens
        .authenticate(&client.to_string(), presented, scope)
        .await
    {
        Ok(name) => Ok(name),
        Err(ApiAuthError::Refused) => Err(unauthorised(
            "the API token is wrong or revoked: ask staff for a new one",
        )),
        Err(e @ ApiAuthError::OutOfScope { .. }) => Err((
            StatusCode::FORBIDDEN,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response()),
        Err(e @ ApiAuthError::TooManyFailures) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, FAILURE_WINDOW.as_secs().to_string())],
            Json(json!({ "error": e.to_string() })),
        )
            .into_response()),
        Err(ApiAuthError::Unavailable(e)) => {
            tracing::error!(error = %e, "admin API: database unavailable");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "10")],
                Json(json!({ "error": "the database is not available; try again shortly" })),
            )
                .into_response())
        }
    }
}

fn unauthorised(error: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"nyhetsbrev\"")],
        Json(json!({ "error": error })),
    )
        .into_response()
}

/// The token of `Authorization: Bearer <token>`, not yet checked; or why there is none.
fn bearer_token(client: IpAddr, headers: &HeaderMap) -> Result<&str, &'static str> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let scheme = authorization
        .split_once(' ')
        .map_or(authorization, |(scheme, _)| scheme);
    if scheme.eq_ignore_ascii_case("basic") {
        // Not even looked at: the password is never checked, so it is not counted.
        tracing::warn!(%client, "admin API refused: HTTP Basic (a staff password) instead of an API token");
        return Err(
            "staff passwords do not open the API: send an API token made by staff \
             (nyhetsbrev staff api-token add, or the admin's API tokens page) as \
             Authorization: Bearer <token>",
        );
    }
    authorization
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
        .map(|_| &authorization[7..])
        .filter(|token| token.len() <= MAX_CREDENTIAL_CHARS)
        .ok_or("send an API token made by staff as Authorization: Bearer <token>")
}

#[derive(Debug, Default, Deserialize)]
pub struct InboundQuery {
    /// Envelope sender, when the provider passes it.
    sender: Option<String>,
    /// Envelope recipient, when the provider passes it.
    recipient: Option<String>,
}

/// POST /admin/api/inbound: one raw RFC 5322 message as the body, with an API token
/// of the `inbound` scope. The token is checked from the headers before a byte of the
/// body is read; the body is then read up to the limit and within the body timeout.
/// Every post that gets past the token is in the audit log as the token's.
pub async fn inbound(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<InboundQuery>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let client = super::client::client_key(peer, &parts.headers, &state.trusted_proxies);
    let token = match api_token(&state, client, &parts.headers, ApiScope::Inbound).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let body = match read_posted(&state, &token, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let envelope = Envelope {
        sender: query.sender,
        recipient: query.recipient,
    };
    match state.inbound.handle_posted(&body, &envelope, &token).await {
        Ok(handled) => {
            tracing::info!(token = ?token.as_str(), id = %handled.id, "inbound message posted");
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

/// The posted message, read up to `inbound_max_size`; a message too large or too slow
/// is noted for staff (in their words) and answered to the poster (in English).
async fn read_posted(
    state: &AppState,
    token: &ApiTokenName,
    body: axum::body::Body,
) -> Result<axum::body::Bytes, Response> {
    let limit = state.inbound.handler().max_size();
    let e = match axum::body::to_bytes(body, limit.saturating_add(1)).await {
        Ok(body) => return Ok(body),
        Err(e) => e,
    };
    // The limit layer's error, somewhere down the chain of causes.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut too_large = false;
    while let Some(error) = cause {
        too_large |= error.is::<http_body_util::LengthLimitError>();
        cause = error.source();
    }
    let (status, note, error) = if too_large {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "for stor",
            format!("the message is larger than {limit} bytes (inbound_max_size)"),
        )
    } else {
        (
            StatusCode::REQUEST_TIMEOUT,
            "kom ikke fram i tide",
            "the message did not arrive in time; post it again".to_owned(),
        )
    };
    state.inbound.post_not_read(token, note).await;
    Err((status, Json(json!({ "error": error }))).into_response())
}
