//! GET /admin/audit: what staff did (and who tried to sign in), newest first, by
//! person, action and date.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::guard::StaffUser;
use super::page::{Chrome, failure, from_oslo_local, oslo_time, render, shown};
use crate::domain::AuditAction;
use crate::store::AuditFilter;
use crate::web::AppState;

/// Entries on one page.
const PAGE_SIZE: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    hvem: String,
    #[serde(default)]
    handling: String,
    #[serde(default)]
    fra: String,
    #[serde(default)]
    til: String,
    #[serde(default)]
    foer: String,
}

struct Row {
    at: String,
    who: String,
    what: String,
    about: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    hvem: String,
    handling: String,
    fra: String,
    til: String,
    actions: Vec<(&'static str, &'static str)>,
    rows: Vec<Row>,
    older: Option<String>,
    bad_date: bool,
}

/// The actor a typed name means: `kari` is the account's doings in the browser,
/// `cli:kari` or `web:kari` as written.
fn actor_of(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        None
    } else if text.contains(':') {
        Some(text.chars().take(100).collect())
    } else {
        let account: String = text.chars().take(100).collect();
        Some(crate::domain::Actor::web(&account).as_str().to_owned())
    }
}

/// A date from the form (`2026-12-02`) as the start of that day in Norway.
fn day_start(text: &str) -> Option<Result<crate::domain::Timestamp, ()>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(from_oslo_local(&format!("{text}T00:00")).ok_or(()))
}

/// GET /admin/audit
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<AuditQuery>,
) -> Response {
    let from = day_start(&query.fra);
    let until = day_start(&query.til);
    let bad_date = matches!(from, Some(Err(()))) || matches!(until, Some(Err(())));
    let filter = AuditFilter {
        actor: actor_of(&query.hvem),
        action: AuditAction::parse(&query.handling),
        from: from.and_then(Result::ok),
        // The "to" day is included: up to the start of the next.
        until: until
            .and_then(Result::ok)
            .map(|t| crate::domain::Timestamp::from_unix_ms(t.unix_ms() + 24 * 3600 * 1000)),
    };
    let before = query.foer.parse::<i64>().ok();
    let (entries, more) = match state.admin.audit.page(&filter, before, PAGE_SIZE).await {
        Ok(page) => page,
        Err(e) => return failure(&e),
    };
    let older = more.then(|| {
        let last = entries.last().map_or(0, |e| e.id);
        let pairs = [
            ("hvem", query.hvem.as_str()),
            ("handling", query.handling.as_str()),
            ("fra", query.fra.as_str()),
            ("til", query.til.as_str()),
            ("foer", &last.to_string()),
        ];
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    });
    let rows = entries
        .iter()
        .map(|e| {
            let words = e.in_words();
            Row {
                at: oslo_time(e.at),
                who: shown(&words.who),
                what: words.what,
                about: shown(&words.about),
                detail: shown(&words.detail),
            }
        })
        .collect();
    render(AuditPage {
        chrome: Chrome::new(&user, None),
        hvem: query.hvem.chars().take(100).collect(),
        handling: query.handling.clone(),
        fra: query.fra.chars().take(10).collect(),
        til: query.til.chars().take(10).collect(),
        actions: AuditAction::ALL
            .iter()
            .map(|action| (action.as_str(), action.norwegian()))
            .collect(),
        rows,
        older,
        bad_date,
    })
}
