//! The preview: the mail's facts and text part, and the HTML mail and the web version
//! each in a sandboxed frame with its own CSP.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::domain::Slug;
use crate::render::MAX_HTML_BYTES;
use crate::store::IssueStatus;
use crate::web::AppState;
use crate::web::staff::error::PageError;
use crate::web::staff::guard::StaffUser;
use crate::web::staff::page::Chrome;
use crate::web::staff::path::IssueSlugPath;

#[derive(Template)]
#[template(path = "admin/preview.html")]
struct PreviewPage {
    chrome: Chrome,
    slug: String,
    from_name: String,
    subject: String,
    preheader: String,
    html_kb: String,
    limit_kb: usize,
    over_limit: bool,
    text: String,
    draft: bool,
}

/// GET /admin/issues/{slug}/preview
pub async fn preview(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Result<Response, PageError> {
    let preview = state.admin.issues.preview(&slug).await?;
    let issue = preview.issue.clone();
    let bytes = preview.html.len();
    let page = PreviewPage {
        chrome: Chrome::new(&user, None),
        slug: slug.to_string(),
        from_name: state.admin.staff_settings.from_now().await.0,
        subject: issue.meta.subject,
        preheader: issue.meta.preheader,
        html_kb: format!("{:.1}", bytes as f64 / 1024.0).replace('.', ","),
        limit_kb: MAX_HTML_BYTES / 1024,
        over_limit: bytes > MAX_HTML_BYTES,
        text: preview.text,
        draft: preview.stored.status == IssueStatus::Draft,
    };
    Ok(Html(page.render()?).into_response())
}

/// A page shown only inside the preview's sandboxed frame: no script can run in it,
/// and only our own pages may frame it.
fn framed(body: String, style_src: &'static str) -> Response {
    let csp = format!(
        "default-src 'none'; style-src {style_src}; img-src 'self' https: data:; \
         frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
    );
    let mut response = Html(body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}

/// GET /admin/issues/{slug}/preview/mail: the HTML mail as a recipient gets it. Its
/// styles are inline (as mail needs), which only this frame allows.
pub async fn preview_mail(
    State(state): State<AppState>,
    _user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Result<Response, PageError> {
    preview_part(&state, &slug, |p| (p.html, "'unsafe-inline'")).await
}

/// GET /admin/issues/{slug}/preview/web: the web version, as the archive will show it.
pub async fn preview_web(
    State(state): State<AppState>,
    _user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Result<Response, PageError> {
    preview_part(&state, &slug, |p| (p.web, "'self'")).await
}

/// One part of the preview in its frame: `part` picks the page and its style source.
async fn preview_part(
    state: &AppState,
    slug: &Slug,
    part: impl FnOnce(crate::ops::Preview) -> (String, &'static str),
) -> Result<Response, PageError> {
    let (body, style_src) = part(state.admin.issues.preview(slug).await?);
    Ok(framed(body, style_src))
}
