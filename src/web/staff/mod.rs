//! The staff web admin under `/admin`: sign in, the dashboard, and an issue from draft
//! to sent (write, preview, check, send, follow, report).
//!
//! Handlers are thin: they read the request through the guards in `guard.rs` (session,
//! origin, CSRF), call one staff operation, and render a page in bokmål. A GET never
//! changes anything; every change is a POST that answers with a redirect.

// A refusal is a whole response (a redirect or a page in words), returned once per
// request on the error path: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod accounts;
mod api_tokens;
mod audit;
mod contacts;
mod dashboard;
mod error;
mod first_account;
mod guard;
mod help;
mod imports;
mod inbound;
pub mod issues;
mod login;
mod menu;
mod page;
mod path;
mod publications;
mod second_factor;
mod send;
mod settings;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

pub use guard::{SESSION_COOKIE, origin_of, safe_next, same_origin};

use super::AppState;

/// Staff pages may load the service's own script (progress that updates itself) and
/// frame the service's own previews; nothing else is loaded from anywhere.
const ADMIN_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard::show))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/logout", post(login::log_out))
        .route(
            first_account::PATH,
            get(first_account::form).post(first_account::submit),
        )
        .route(
            "/admin/login/kode",
            get(second_factor::code_form).post(second_factor::check_code),
        )
        .route(
            "/admin/totp",
            get(second_factor::enrol_form).post(second_factor::enrol),
        )
        .route("/admin/issues", get(issues::list))
        .route(
            "/admin/issues/new",
            get(issues::new_form).post(issues::create),
        )
        .route(
            "/admin/issues/upload",
            post(issues::upload).layer(DefaultBodyLimit::max(issues::MAX_ISSUE_UPLOAD_BYTES)),
        )
        .route(
            "/admin/issues/{slug}",
            get(issues::edit_form).post(issues::save),
        )
        .route("/admin/issues/{slug}/preview", get(issues::preview))
        .route(
            "/admin/issues/{slug}/preview/mail",
            get(issues::preview_mail),
        )
        .route("/admin/issues/{slug}/preview/web", get(issues::preview_web))
        .route(
            "/admin/issues/{slug}/send",
            get(send::checklist).post(send::start),
        )
        .route("/admin/issues/{slug}/test", post(send::test_copy))
        .route("/admin/issues/{slug}/approve", post(send::approve))
        .route("/admin/issues/{slug}/cancel-plan", post(send::cancel_plan))
        .route("/admin/issues/{slug}/report", get(send::report))
        .route("/admin/issues/{slug}/report.json", get(send::progress_json))
        .route(
            "/admin/issues/{slug}/report.csv",
            get(send::ledger_by_get).post(send::ledger_csv),
        )
        .route("/admin/issues/{slug}/pause", post(send::pause))
        .route("/admin/issues/{slug}/resume", post(send::resume))
        .route("/admin/issues/{slug}/retry", post(send::retry_failed))
        .route("/admin/contacts", get(contacts::list))
        .route(
            "/admin/contacts/export.csv",
            get(contacts::export_by_get).post(contacts::export_csv),
        )
        .route(
            "/admin/contacts/new",
            get(contacts::new_form).post(contacts::create),
        )
        .route(
            "/admin/contacts/import",
            get(imports::form)
                .post(imports::upload)
                .layer(DefaultBodyLimit::max(imports::MAX_UPLOAD_BYTES)),
        )
        .route("/admin/contacts/import/{token}", get(imports::show))
        .route(
            "/admin/contacts/import/{token}/confirm",
            post(imports::confirm),
        )
        .route(
            "/admin/contacts/import/{token}/cancel",
            post(imports::cancel),
        )
        .route("/admin/contacts/{id}", get(contacts::show))
        .route(
            "/admin/contacts/{id}/edit",
            get(contacts::edit_form).post(contacts::save),
        )
        .route(
            "/admin/contacts/{id}/reset-bounce",
            post(contacts::reset_bounce),
        )
        .route(
            "/admin/contacts/{id}/remove",
            get(contacts::remove_form).post(contacts::remove),
        )
        .route("/admin/contacts/{id}/innsyn", post(contacts::personal_data))
        .route("/admin/inbound", get(inbound::list))
        .route("/admin/inbound/{id}", get(inbound::show))
        .route("/admin/inbound/{id}/handled", post(inbound::mark_handled))
        .route("/admin/inbound/{id}/answer", post(inbound::answer))
        .route(
            "/admin/inbound/{id}/add-contact",
            get(inbound::add_sender_form).post(inbound::add_sender),
        )
        .route("/admin/bounces", get(inbound::bounces))
        .route("/admin/audit", get(audit::list))
        .route(
            "/admin/publications",
            get(publications::list).post(publications::add),
        )
        .route(
            "/admin/publications/{slug}",
            get(publications::edit_form).post(publications::save),
        )
        .route(
            "/admin/publications/{slug}/bunntekst",
            get(settings::footer).post(settings::save_footer),
        )
        .route(
            "/admin/innstillinger",
            get(settings::show).post(settings::save),
        )
        .route("/admin/staff", get(accounts::list).post(accounts::add))
        .route("/admin/staff/{name}/password", post(accounts::set_password))
        .route("/admin/staff/{name}/disable", post(accounts::disable))
        .route("/admin/staff/{name}/enable", post(accounts::enable))
        .route(
            "/admin/api-tokens",
            get(api_tokens::list).post(api_tokens::add),
        )
        .route("/admin/api-tokens/revoke", post(api_tokens::revoke))
        .route(
            "/admin/staff/{name}/second-factor/reset",
            post(accounts::reset_second_factor),
        )
        .route("/admin/hjelp", get(help::show))
        .route("/admin/account", get(accounts::own))
        .route(
            "/admin/account/password",
            post(accounts::change_own_password),
        )
        .route("/admin/account/sessions/end", post(accounts::end_session))
        .route("/static/admin.css", get(page::stylesheet))
        .route("/static/admin.js", get(page::script))
        .route("/static/innsyn.css", get(contacts::document_stylesheet))
        // The guards read bodies themselves, up to their own limit.
        .layer(DefaultBodyLimit::max(guard::MAX_FORM_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(ADMIN_CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        // With the public pages' `no-referrer`, browsers send `Origin: null` on a form
        // POST, and the origin check would refuse every change: staff pages tell their
        // own origin, and nothing to other sites.
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}
