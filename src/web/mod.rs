//! The HTTP service: public pages (archive; subscribe and unsubscribe come next), the
//! health check, and the layers every response passes through.

mod admin;
pub mod client;
mod error;
mod public;
mod subscribe;
mod unsubscribe;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{ConfigError, Settings};
use crate::domain::Slug;
use crate::render::RenderContext;
use crate::store::Store;

pub use admin::MAX_LOGIN_FAILURES;
pub use error::AppError;

/// Requests larger than this are refused (413) before a handler sees them: the
/// largest legitimate public request is a small form.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub render: RenderContext,
    /// Queues confirmation mails; `serve` runs its sender.
    pub notices: crate::notices::Notices,
    pub inbound: crate::inbound::Inbound,
    /// Subscription requests per client (see `client::client_key`).
    pub subscribe_limiter: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[crate::domain::IpBlock]>,
    /// Rendered web versions of sent issues, by slug.
    pub archive_cache: Arc<RwLock<HashMap<Slug, axum::body::Bytes>>>,
    /// Failed staff logins per client address.
    pub login_failures: Arc<admin::LoginFailures>,
}

impl AppState {
    pub fn new(store: Store, settings: &Settings) -> Result<Self, ConfigError> {
        let notices = crate::notices::Notices::new(store.clone(), settings)?;
        Ok(Self {
            store: store.clone(),
            render: settings.render_context(),
            notices,
            inbound: crate::inbound::Inbound::new(store.clone(), settings)?,
            subscribe_limiter: Arc::new(governor::RateLimiter::keyed(subscribe_quota(
                settings.subscribe_limit_per_hour,
            ))),
            archive_cache: Arc::default(),
            trusted_proxies: settings.trusted_proxies()?.into(),
            login_failures: Arc::default(),
        })
    }
}

fn subscribe_quota(per_hour: u32) -> governor::Quota {
    let per_hour = std::num::NonZeroU32::new(per_hour).unwrap_or(std::num::NonZeroU32::MIN);
    let burst =
        std::num::NonZeroU32::new(per_hour.get().min(10)).unwrap_or(std::num::NonZeroU32::MIN);
    governor::Quota::per_hour(per_hour).allow_burst(burst)
}

/// Headers on every response. The policy allows no scripts at all and styles only from
/// this site; pages work without JavaScript.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("permissions-policy", "interest-cohort=()"),
];

pub fn router(state: AppState) -> Router {
    // Raw mail can be large: the admin API has its own limit, the public pages theirs.
    let inbound_limit = state.inbound.max_size().saturating_add(64 * 1024);
    let admin = Router::new()
        .route("/admin/api/inbound", post(admin::inbound))
        .layer(DefaultBodyLimit::max(inbound_limit))
        .layer(RequestBodyLimitLayer::new(inbound_limit));
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/arkiv", get(public::archive))
        .route("/arkiv/{slug}", get(public::archived_issue))
        .route("/static/stil.css", get(public::stylesheet))
        .route("/subscribe", get(subscribe::form).post(subscribe::submit))
        .route(
            "/bekreft/{token}",
            get(subscribe::confirm_page).post(subscribe::confirm),
        )
        .route(
            "/avmeld/{token}",
            get(unsubscribe::confirm_page).post(unsubscribe::unsubscribe),
        )
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BYTES))
        .merge(admin)
        .fallback(error::not_found)
        .with_state(state)
        // A panic becomes a plain 500, never a stack trace to the client.
        .layer(CatchPanicLayer::new());
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router
}

/// For load balancers: 200 when the database answers, 503 when it does not.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "database unavailable" })),
            )
        }
    }
}

/// Serves until `shutdown` turns true, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?address, "listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    })
    .await
}
