//! The list: search, filter by status and publication, page through, export.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::error::PageError;
use super::super::guard::{StaffForm, StaffUser};
use super::super::page::{Chrome, grouped, oslo_time, render, shown};
use super::{notice, status_label};
use crate::domain::ContactId;
use crate::domain::{ContactStatus, PublicationSlug};
use crate::ops::ContactListing;
use crate::store::{ContactFilter, MatchCount, PageStart};
use crate::web::AppState;

/// The longest search text read from the address bar.
const MAX_SEARCH_CHARS: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    publikasjon: String,
    #[serde(default)]
    etter: String,
    #[serde(default)]
    foer: String,
    #[serde(default)]
    melding: String,
}

impl ListQuery {
    /// The search text, trimmed and cut to its longest.
    fn search(&self) -> String {
        self.q.trim().chars().take(MAX_SEARCH_CHARS).collect()
    }

    /// The filter the query asks for; words that are no status or publication are
    /// ignored, as a filter left out.
    fn filter(&self) -> ContactFilter {
        let search = self.search();
        ContactFilter {
            status: self.status.parse::<ContactStatus>().ok(),
            search: (!search.is_empty()).then_some(search),
            publication: PublicationSlug::parse(&self.publikasjon).ok(),
        }
    }

    fn start(&self) -> PageStart {
        if !self.etter.is_empty() {
            PageStart::After(self.etter.chars().take(300).collect())
        } else if !self.foer.is_empty() {
            PageStart::Before(self.foer.chars().take(300).collect())
        } else {
            PageStart::First
        }
    }
}

/// A contact as a row of the list.
struct ContactRow {
    id: ContactId,
    email: String,
    name: String,
    organisation: String,
    status: &'static str,
    added: String,
}

struct StatusCount {
    word: &'static str,
    value: &'static str,
    count: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin/contacts.html")]
struct ContactsPage {
    chrome: Chrome,
    q: String,
    status: String,
    /// The publication filtered by (its slug), or empty.
    publication: String,
    /// (slug, name) of every publication, for the filter.
    publications: Vec<(String, String)>,
    counts: Vec<StatusCount>,
    total: String,
    matches: Option<String>,
    rows: Vec<ContactRow>,
    next: Option<String>,
    previous: Option<String>,
}

/// `?q=…&status=…&publikasjon=…` plus `extra`, URL-encoded.
fn list_query(q: &str, status: &str, publication: &str, extra: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !q.is_empty() {
        pairs.push(("q", q));
    }
    if !status.is_empty() {
        pairs.push(("status", status));
    }
    if !publication.is_empty() {
        pairs.push(("publikasjon", publication));
    }
    pairs.extend(extra);
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

/// GET /admin/contacts
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let filter = query.filter();
    let listing = state
        .admin
        .contacts
        .listing(&filter, &query.start())
        .await?;
    Ok(render(ContactsPage::new(
        Chrome::new(&user, notice(&query.melding)),
        &filter,
        listing,
    )))
}

impl ContactsPage {
    fn new(chrome: Chrome, filter: &ContactFilter, listing: ContactListing) -> Self {
        let q = filter.search.clone().unwrap_or_default();
        let status = filter.status.map(ContactStatus::as_str).unwrap_or_default();
        let publication = filter
            .publication
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let page_link =
            |key: &str, value: &str| list_query(&q, status, &publication, Some((key, value)));
        let total: i64 = listing.counts.iter().map(|(_, n)| n).sum();
        ContactsPage {
            chrome,
            next: listing.page.next.as_deref().map(|k| page_link("etter", k)),
            previous: listing
                .page
                .previous
                .as_deref()
                .map(|k| page_link("foer", k)),
            counts: listing
                .counts
                .iter()
                .map(|(s, n)| StatusCount {
                    word: status_label(*s),
                    value: s.as_str(),
                    count: grouped(*n),
                    current: Some(*s) == filter.status,
                })
                .collect(),
            total: grouped(total),
            matches: listing.matches.map(matches_in_words),
            rows: listing.page.contacts.iter().map(ContactRow::of).collect(),
            publications: listing
                .publications
                .iter()
                .map(|p| (p.slug.to_string(), p.name.as_str().to_owned()))
                .collect(),
            q,
            status: status.to_owned(),
            publication,
        }
    }
}

fn matches_in_words(count: MatchCount) -> String {
    match count {
        MatchCount::Exactly(0) => "Ingen treff.".to_owned(),
        MatchCount::Exactly(1) => "1 treff.".to_owned(),
        MatchCount::Exactly(n) => format!("{} treff.", grouped(n)),
        MatchCount::MoreThan(n) => format!(
            "Mer enn {} treff. Skriv mer av adressen eller navnet for å få færre.",
            grouped(n)
        ),
    }
}

impl ContactRow {
    fn of(c: &crate::domain::Contact) -> Self {
        ContactRow {
            id: c.id,
            email: shown(c.email.as_str()),
            name: c
                .name
                .as_ref()
                .map(|n| shown(n.as_str()))
                .unwrap_or_default(),
            organisation: c
                .organisation
                .as_ref()
                .map(|o| shown(o.as_str()))
                .unwrap_or_default(),
            status: status_label(c.status),
            added: oslo_time(c.created_at),
        }
    }
}

/// GET /admin/contacts/export.csv: never an export (a GET changes and hands out
/// nothing): back to the list with the same filter, where the button is.
pub async fn export_by_get(_user: StaffUser, Query(query): Query<ListQuery>) -> Response {
    Redirect::to(&format!(
        "/admin/contacts?{}",
        list_query(&query.q, &query.status, &query.publikasjon, None)
    ))
    .into_response()
}

/// POST /admin/contacts/export.csv: the contacts of the current filter, streamed a
/// page at a time. A POST with the CSRF token, since the operation writes the export
/// to the audit log (who, the filter, the rows).
pub async fn export_csv(
    State(state): State<AppState>,
    StaffForm { user, form: query }: StaffForm<ListQuery>,
) -> Response {
    use futures_util::StreamExt;
    let chunks = state
        .admin
        .contacts
        .export_stream(query.filter(), user.actor())
        .map(|chunk| {
            chunk.map_err(|e| {
                // Headers are gone already: the download ends short, and the log says why.
                tracing::error!(error = %e, "the contact export stopped");
                std::io::Error::other("the contacts could not be read")
            })
        });
    let mut response = axum::body::Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"kontakter.csv\""),
    );
    response
}
