//! The checklist before a send: who it goes to, the links, the test copies, a plan; and
//! the same page again with a refusal at the form it concerns.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::domain::{EmailAddress, Issue, Slug};
use crate::ops::LinkState;
use crate::store::{IssueStatus, StoredIssue};
use crate::web::AppState;
use crate::web::staff::error::{PageError, Refusal, contacts_text};
use crate::web::staff::guard::StaffUser;
use crate::web::staff::issues::notice;
use crate::web::staff::page::{Chrome, actor_words, count, grouped, oslo_time};
use crate::web::staff::path::IssueSlugPath;

/// A test copy as the checklist lists it.
struct TestCopy {
    to: String,
    by: String,
    at: String,
}

/// A broken link as the checklist lists it.
struct BrokenLink {
    url: String,
    places: String,
    why: String,
}

fn link_problem(state: &LinkState) -> String {
    match state {
        LinkState::Broken(404) => "Siden finnes ikke (404).".into(),
        LinkState::Broken(410) => "Siden er fjernet (410).".into(),
        LinkState::Broken(status) if *status >= 500 => {
            format!("Nettstedet svarte med en feil ({status}).")
        }
        LinkState::Broken(status) => format!("Nettstedet svarte med en feil (kode {status})."),
        LinkState::Timeout => "Nettstedet svarte ikke innen 10 sekunder.".into(),
        LinkState::PrivateAddress => {
            "Adressen peker til et internt nettverk og sjekkes ikke.".into()
        }
        LinkState::TooManyRedirects => "Lenken sender videre for mange ganger.".into(),
        LinkState::Unreachable(_) => {
            "Nettstedet kunne ikke nås (finnes ikke, eller svarer ikke).".into()
        }
        LinkState::Works(_) | LinkState::NotChecked => String::new(),
    }
}

#[derive(Template)]
#[template(path = "admin/send.html")]
struct ChecklistPage {
    chrome: Chrome,
    slug: String,
    subject: String,
    from_line: String,
    draft: bool,
    can_send: bool,
    no_token_key: &'static str,
    recipients: i64,
    recipients_text: String,
    test_copies: Vec<TestCopy>,
    test_to: String,
    test_error: Option<String>,
    confirm_error: Option<String>,
    /// «Alle 3 lenker virker.», «1 av 3 lenker virker ikke.»
    links_text: String,
    broken_links: Vec<BrokenLink>,
    /// A planned send, as the page says it.
    plan: Option<PlanView>,
    /// A suggestion for the time field: tomorrow at 09:00.
    suggested_time: String,
    /// `send_approval`: the page says a second account approves.
    approval: bool,
    /// Why this account's approval did not count.
    approval_error: Option<String>,
    /// Why the time for a planned send will not do.
    time_error: Option<String>,
}
struct PlanView {
    at: String,
    by: String,
    approved_by: Option<String>,
    missed: bool,
    needs_approval: bool,
    /// This user may approve (approval is on, and someone else asked).
    can_approve: bool,
}

/// The page's form a refusal belongs to when it names no field.
#[derive(Clone, Copy)]
pub(super) enum Form {
    Test,
    Start,
}

impl ChecklistPage {
    /// Each refusal at its field; one about no field at `form`'s.
    fn place(&mut self, refusals: Vec<Refusal>, form: Form) {
        for refusal in refusals {
            let slot = match (refusal.field, form) {
                (Some("to"), _) | (None, Form::Test) => &mut self.test_error,
                (Some("tidspunkt"), _) => &mut self.time_error,
                (Some("approval"), _) => &mut self.approval_error,
                _ => &mut self.confirm_error,
            };
            slot.get_or_insert(refusal.message);
        }
    }
}

/// The checklist again with `refusals` placed (`form`: where one about no field goes),
/// answered with `status`; `test_to`: the address typed for a test copy.
pub(super) async fn again(
    state: &AppState,
    user: &StaffUser,
    slug: &Slug,
    refusals: Vec<Refusal>,
    form: Form,
    status: StatusCode,
    test_to: Option<&str>,
) -> Result<Response, PageError> {
    let mut page = checklist_page(state, user, slug, "", false).await?;
    if let Some(to) = test_to {
        page.test_to = to.chars().take(254).collect();
    }
    page.place(refusals, form);
    Ok((status, Html(page.render()?)).into_response())
}

async fn checklist_page(
    state: &AppState,
    user: &StaffUser,
    slug: &Slug,
    notice_code: &str,
    fresh_links: bool,
) -> Result<ChecklistPage, PageError> {
    let issues = &state.admin.issues;
    let (stored, issue) = issues.get(slug).await?;
    let recipients = issues.count_unqueued(slug).await?;
    let test_copies = issues
        .test_copies(&stored)
        .await?
        .into_iter()
        .map(|entry| TestCopy {
            to: entry.detail.unwrap_or_default(),
            by: entry.actor.norwegian(),
            at: oslo_time(entry.at),
        })
        .collect();
    let (links_checked, broken_links) = links(state, &stored, &issue, fresh_links).await;
    let approval = issues.send_approval();
    // "Send a test to me": the account's name when it is an address.
    let test_to = EmailAddress::parse(&user.session.username)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let (from_name, from_address) = state.admin.staff_settings.from_now().await;
    Ok(ChecklistPage {
        chrome: Chrome::new(user, notice(notice_code)),
        slug: slug.to_string(),
        subject: issue.meta.subject,
        from_line: format!("{from_name} <{from_address}>"),
        draft: stored.status == IssueStatus::Draft,
        can_send: state.admin.test_sender.is_some(),
        no_token_key: super::super::error::NO_TOKEN_KEY,
        recipients,
        recipients_text: contacts_text(recipients),
        test_copies,
        test_to,
        test_error: None,
        confirm_error: None,
        links_text: links_text(links_checked, broken_links.len()),
        broken_links,
        plan: plan_view(&stored, approval, user),
        suggested_time: suggested_time(),
        approval,
        approval_error: None,
        time_error: None,
    })
}

/// How many links were checked, and the broken ones.
async fn links(
    state: &AppState,
    stored: &StoredIssue,
    issue: &Issue,
    fresh: bool,
) -> (usize, Vec<BrokenLink>) {
    let version = (stored.slug.to_string(), stored.updated_at.unix_ms());
    let reports = state.admin.links.check_issue(issue, version, fresh).await;
    let checked = reports
        .iter()
        .filter(|r| r.state != LinkState::NotChecked)
        .count();
    let broken = reports
        .iter()
        .filter(|r| r.state.is_broken())
        .map(|r| BrokenLink {
            url: r.url.clone(),
            places: r.places.join(", "),
            why: link_problem(&r.state),
        })
        .collect();
    (checked, broken)
}

/// A planned send as the page says it.
fn plan_view(stored: &StoredIssue, approval: bool, user: &StaffUser) -> Option<PlanView> {
    let who = |actor: &str| actor_words(actor);
    stored.plan.as_ref().map(|p| PlanView {
        at: oslo_time(p.at),
        by: who(&p.requested_by),
        approved_by: p.approved_by.as_deref().map(who),
        missed: p.missed_at.is_some(),
        needs_approval: approval && p.approved_by.is_none(),
        can_approve: approval
            && p.approved_by.is_none()
            && p.missed_at.is_none()
            && p.requested_by != user.actor().as_str(),
    })
}

/// A suggestion for the time field: tomorrow at 09:00.
fn suggested_time() -> String {
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    format!(
        "{}-{:02}-{:02}T09:00",
        tomorrow.year(),
        u8::from(tomorrow.month()),
        tomorrow.day()
    )
}

#[derive(Debug, Deserialize)]
pub struct ChecklistQuery {
    #[serde(default)]
    melding: String,
    /// Present: check the links again rather than show the last check.
    #[serde(default)]
    lenker: Option<String>,
}

/// GET /admin/issues/{slug}/send
pub async fn checklist(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
    Query(query): Query<ChecklistQuery>,
) -> Result<Response, PageError> {
    let fresh = query.lenker.is_some();
    let page = checklist_page(&state, &user, &slug, &query.melding, fresh).await?;
    Ok(Html(page.render()?).into_response())
}

/// The link check in a sentence, counted right.
fn links_text(checked: usize, broken: usize) -> String {
    let checked = checked as i64;
    match broken {
        0 if checked == 1 => "Lenken virker.".to_owned(),
        0 => format!("Alle {} virker.", count(checked, "lenke", "lenker")),
        broken => format!(
            "{} av {} virker ikke.",
            grouped(broken as i64),
            count(checked, "lenke", "lenker")
        ),
    }
}
