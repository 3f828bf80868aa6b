//! The HTTP service: the public pages (archive, subscribe, confirm, unsubscribe), the
//! admin API, the health check, the layers every response passes through, and the
//! accept loop.

mod admin;
pub mod client;
mod error;
mod path;
mod public;
pub mod staff;
mod subscribe;
mod unsubscribe;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{ConfigError, Settings};
use crate::render::RenderContext;
use crate::store::Store;

pub use admin::MAX_LOGIN_FAILURES;
pub use error::AppError;

/// Requests larger than this are refused (413) before a handler sees them: the
/// largest legitimate public request is a small form.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    /// For the health check only: handlers call operations.
    pub store: Store,
    pub archive: crate::ops::Archive,
    pub subscriptions: crate::ops::Subscriptions,
    pub staff: crate::ops::Staff,
    /// Web admin sessions.
    pub sessions: crate::ops::Sessions,
    /// The staff pages' operations and settings.
    pub admin: Arc<AdminParts>,
    /// Handles mail posted to the admin API.
    pub inbound: crate::ops::InboundMail,
    /// The admin API's credentials: checked there, made and revoked on a staff page.
    pub api_tokens: crate::ops::ApiTokens,
    /// Queues confirmation mails; `serve` runs its sender.
    pub notices: crate::notices::Notices,
    /// Subscription requests per client (see `client::client_key`).
    pub subscribe_limiter: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[crate::domain::IpBlock]>,
    pub http: HttpLimits,
}

/// What the staff pages need beyond the public ones.
pub struct AdminParts {
    pub issues: crate::ops::Issues,
    pub contacts: crate::ops::Contacts,
    pub audit: crate::ops::AuditLog,
    /// CSV imports from the web admin: checked, then imported, in the background.
    pub imports: crate::ops::imports::ImportJobs,
    /// Mail kept for staff, read.
    pub inbound: crate::ops::InboundRecord,
    pub dashboard: crate::ops::Dashboard,
    /// What the list gets besides the newsletter: list, add, change.
    pub publications: crate::ops::publications::Publications,
    /// Fetches an issue's links before a send.
    pub links: crate::ops::LinkChecker,
    /// Sends test copies; `None` without `token_key`.
    pub test_sender: Option<crate::dispatch::Dispatcher>,
    /// `base_url`'s origin: every staff change must come from it.
    pub origin: String,
    /// Tells a staff account's owner when someone else changed it.
    pub account_mail: crate::mail::Outgoing,
    /// `staff_require_totp`: every account signs in with a second factor.
    pub require_totp: bool,
    /// Whether cookies get `Secure` (`base_url` is https).
    pub secure_cookies: bool,
    /// What staff own of the settings: who sends, each publication's footer.
    pub staff_settings: crate::ops::staff_settings::StaffSettingsOps,
    /// The settings staff cannot change here, with where each comes from.
    pub operator_settings: Vec<crate::config::OperatorSetting>,
    /// Who holds a person's data, as their copy names them.
    pub controller: crate::ops::DataController,
}

impl AppState {
    /// The web's own limits come from `settings`; the running parts are built by
    /// `startup` and shared with the rest of the process.
    pub fn new(
        store: Store,
        render: RenderContext,
        notices: crate::notices::Notices,
        inbound: crate::inbound::Inbound,
        admin: AdminParts,
        settings: &Settings,
    ) -> Result<Self, ConfigError> {
        let staff = crate::ops::Staff::new(store.clone())
            .with_owner_mail(admin.account_mail.clone())
            .with_key(settings.token_key_if_set()?);
        Ok(Self {
            admin: Arc::new(admin),
            archive: crate::ops::Archive::new(store.clone(), render),
            subscriptions: crate::ops::Subscriptions::new(
                store.clone(),
                notices.clone(),
                settings.token_key_if_set()?,
            ),
            staff,
            sessions: crate::ops::Sessions::new(
                store.clone(),
                std::time::Duration::from_secs(u64::from(settings.session_idle_minutes) * 60),
            ),
            inbound: crate::ops::InboundMail::new(inbound),
            api_tokens: crate::ops::ApiTokens::new(store.clone()),
            store,
            notices,
            subscribe_limiter: Arc::new(governor::RateLimiter::keyed(subscribe_quota(
                settings.subscribe_limit_per_hour,
            ))),
            trusted_proxies: settings.trusted_proxies()?.into(),
            http: HttpLimits::from_settings(settings),
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
    let inbound_limit = state.inbound.handler().max_size().saturating_add(64 * 1024);
    let admin = Router::new()
        .route("/admin/api/inbound", post(admin::inbound))
        .layer(DefaultBodyLimit::max(inbound_limit))
        .layer(RequestBodyLimitLayer::new(inbound_limit));
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        // Someone who types the service's address lands on the sign-up page.
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/subscribe") }),
        )
        .route("/arkiv", get(public::archive))
        .route("/arkiv/feed.xml", get(public::feed))
        .route("/arkiv/{slug}", get(public::archived_issue))
        .route("/arkiv/{slug}/feed.xml", get(public::publication_feed))
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
        .route(
            "/innstillinger/{token}",
            get(unsubscribe::preferences_page).post(unsubscribe::save_preferences),
        )
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BYTES))
        .merge(admin)
        .merge(staff::router())
        // A body that trickles in is cut off (408) rather than holding a task.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.http.body_timeout,
        ))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(count_request))
        // One span per request: its id, the method and the matched route (never the
        // path itself, which can hold a personal token, nor the query), the status and
        // latency when it ends.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("(unmatched)", axum::extract::MatchedPath::as_str);
                    let request_id = request
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("http", request_id, method = %request.method(), route)
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG),
                ),
        )
        .with_state(state)
        .layer(axum::middleware::from_fn(error::rejection_in_words))
        // A panic becomes a plain 500, never a stack trace to the client.
        .layer(CatchPanicLayer::new());
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    // Outermost, so that every response carries the id, a panic's 500 too. The last
    // layer added runs first: the client's id goes, ours is made, then returned.
    router
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_client_request_id))
}

/// A request id the client sent is dropped, and the service makes its own (a random
/// UUID). The client's would be believed blindly: it could be any length, name
/// another request to muddle a log search, or carry text (an address, say) into every
/// log line of the request. No proxy in front of the service sets one (see
/// `deploy/`); if one ever does, it is to be believed from `trusted_proxies` only.
async fn drop_client_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    request.headers_mut().remove(REQUEST_ID_HEADER);
    request
}

/// The header a response's request id is in (and a client's is dropped from).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Counts every request by its matched route (never the path itself, which can hold a
/// personal token) and status, with its latency, for the metrics.
async fn count_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(unmatched)", axum::extract::MatchedPath::as_str)
        .to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let counters = crate::metrics::counters();
    counters
        .http_requests
        .get_or_create(&vec![
            ("route", route.clone()),
            ("status", response.status().as_u16().to_string()),
        ])
        .inc();
    counters
        .http_duration
        .get_or_create(&vec![("route", route)])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The metrics, on their own address (`metrics_bind`): never on the public one.
pub fn metrics_router(metrics: crate::ops::metrics::Metrics) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                match metrics.render().await {
                    Ok(text) => (
                        StatusCode::OK,
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics: database unreachable");
                        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
                    }
                }
            }
        }),
    )
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

/// For load balancers and deploys: 200 once the database answers and its schema is
/// current, else 503 with the reasons.
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let readiness = crate::ops::health::readiness(&state.store).await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if readiness.ready { "ready" } else { "not ready" },
        "reasons": readiness.reasons,
        "schema": readiness.schema,
    });
    (status, Json(body))
}

/// What the server allows a connection (from settings).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub header_timeout: std::time::Duration,
    pub body_timeout: std::time::Duration,
    pub max_connections: usize,
}

impl HttpLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs_f64(settings.http_header_timeout),
            body_timeout: std::time::Duration::from_secs_f64(settings.http_body_timeout),
            max_connections: settings.http_max_connections as usize,
        }
    }
}

/// Serves until `shutdown` turns true, then lets requests in flight finish (for at most
/// 30 seconds).
///
/// The accept loop is our own rather than `axum::serve`, which has neither a header
/// timeout nor a connection cap: a client that sends half a request is cut off after
/// `header_timeout`, and beyond `max_connections` new connections are closed at once,
/// so slow or many connections cannot take the service (and its worker) down.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut shutdown = shutdown;
    use hyper_util::rt::{TokioIo, TokioTimer};
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?address, "listening");
    let limits = state.http;
    let app = router(state);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut warned_full = false;
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            if !warned_full {
                tracing::warn!(
                    max = limits.max_connections,
                    "too many connections: closing new ones"
                );
                warned_full = true;
            }
            drop(stream);
            continue;
        };
        warned_full = false;
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let mut app = app.clone();
                // A Router is always ready: calling it without poll_ready is allowed.
                tower_service::Service::call(&mut app, request.map(axum::body::Body::new))
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(std::time::Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after 30 s: stopping anyway");
    }
    Ok(())
}
