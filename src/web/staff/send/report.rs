//! The report of a send: live while sending (a reload works; the page's script updates
//! the counts from the JSON), the whole report afterwards; pause, resume and sending
//! again to those whose delivery failed for a passing reason.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use serde_json::json;

use crate::domain::{DeliveryStatus, Slug};
use crate::ops::SendStatus;
use crate::store::IssueStatus;
use crate::web::AppState;
use crate::web::staff::dashboard::{NoticeQuery, status_word};
use crate::web::staff::error::PageError;
use crate::web::staff::guard::{Empty, StaffForm, StaffUser};
use crate::web::staff::issues::notice;
use crate::web::staff::page::{Chrome, grouped, oslo_time};
use crate::web::staff::path::IssueSlugPath;

/// A failed or skipped delivery as the report lists it.
struct ProblemRow {
    email: String,
    what: &'static str,
    why: String,
}

#[derive(Template)]
#[template(path = "admin/report.html")]
struct ReportPage {
    chrome: Chrome,
    slug: String,
    subject: String,
    status: &'static str,
    sending: bool,
    paused: bool,
    started: String,
    finished: String,
    total: String,
    sent: String,
    failed: String,
    skipped: String,
    queued: String,
    percent: i64,
    done: i64,
    all: i64,
    rate: String,
    left: String,
    problems: Vec<ProblemRow>,
    more_problems: usize,
    can_retry: bool,
}

/// Why a delivery did not go out, in words for staff: the service's own reasons in
/// bokmål, a mail server's answer marked as its own (it is in the server's language).
fn reason_for_staff(status: DeliveryStatus, error: Option<&str>) -> String {
    let Some(error) = error.filter(|e| !e.is_empty()) else {
        return String::new();
    };
    let known = match error {
        "the address bounced" => "Adressen er avvist for godt (hard retur).",
        "the contact unsubscribed" | "the contact is unsubscribed" => {
            "Kontakten meldte seg av før utgaven gikk ut."
        }
        "the contact is bounced" => "Adressen er avvist for godt (hard retur).",
        "the contact is pending" => "Kontakten har ikke bekreftet påmeldingen.",
        "the contact left the list before it went out" => {
            "Kontakten forlot listen før utgaven gikk ut."
        }
        "the contact left this publication"
        | "the contact left this publication before it went out" => {
            "Kontakten meldte seg av denne publikasjonen før utgaven gikk ut."
        }
        "the issue was cancelled" => "Utsendingen ble stoppet.",
        "the contact was removed" => "Kontakten ble slettet før utgaven gikk ut.",
        "the contact is confirmed" => "Kontakten var ikke klar da utgaven skulle gå ut.",
        _ if status == DeliveryStatus::Skipped => "Utgaven ble ikke sendt til denne kontakten.",
        _ => return format!("Svar fra e-postserveren: {error}"),
    };
    known.to_owned()
}

/// At most this many of each kind of problem are listed on the page; the CSV has all.
const LISTED_PROBLEMS: usize = 100;

fn time_left(seconds: Option<i64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) if s < 60 => "under ett minutt".into(),
        Some(s) if s < 3600 => format!("omtrent {} min", (s + 59) / 60),
        Some(s) => format!("omtrent {} t {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The problems the page lists, and how many more there are.
fn problem_rows(status: &SendStatus) -> (Vec<ProblemRow>, usize) {
    let rows: Vec<ProblemRow> = status
        .problems
        .iter()
        .map(|p| ProblemRow {
            email: p.email.clone(),
            what: match p.status {
                DeliveryStatus::Failed => "Ikke levert",
                DeliveryStatus::Skipped => "Hoppet over",
                DeliveryStatus::Queued => "Prøves igjen",
                DeliveryStatus::Cancelled => "Stoppet",
                DeliveryStatus::Sent => "Sendt",
            },
            why: reason_for_staff(p.status, p.error.as_deref()),
        })
        .collect();
    let counts = &status.counts;
    let all = (counts.failed + counts.skipped + counts.retrying).max(0) as usize;
    let more = all.saturating_sub(rows.len());
    (rows, more)
}

/// GET /admin/issues/{slug}/report: live while sending (a reload works; the page's
/// script updates the counts by itself), the whole report afterwards.
pub async fn report(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let limit = LISTED_PROBLEMS as i64;
    let status = state.admin.issues.status_first(&slug, limit).await?;
    let issue = status.issue.clone();
    let progress = state
        .admin
        .dashboard
        .progress_of(issue.clone(), status.counts.clone())
        .await
        .map_err(PageError::failed)?;
    let counts = &progress.counts;
    let (problems, more_problems) = problem_rows(&status);
    let page = ReportPage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        slug: slug.to_string(),
        subject: issue.subject.clone(),
        status: status_word(issue.status, issue.paused_at.is_some()),
        sending: issue.status == IssueStatus::Sending,
        paused: issue.paused_at.is_some(),
        started: issue.send_started_at.map(oslo_time).unwrap_or_default(),
        finished: issue.sent_at.map(oslo_time).unwrap_or_default(),
        total: grouped(counts.total),
        sent: grouped(counts.sent),
        failed: grouped(counts.failed),
        skipped: grouped(counts.skipped + counts.cancelled),
        queued: grouped(counts.queued),
        percent: (counts.done() * 100).checked_div(counts.total).unwrap_or(0),
        done: counts.done(),
        all: counts.total,
        rate: format!("{} per minutt", grouped(progress.per_minute)),
        left: time_left(progress.seconds_left),
        problems,
        more_problems,
        can_retry: counts.failed > 0 && state.admin.test_sender.is_some(),
    };
    Ok(Html(page.render()?).into_response())
}

/// GET /admin/issues/{slug}/report.json: the counts, for the page's script.
pub async fn progress_json(
    State(state): State<AppState>,
    _user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Result<Response, PageError> {
    let (issue, _) = state.admin.issues.get(&slug).await?;
    let status = status_word(issue.status, issue.paused_at.is_some());
    let sending = issue.status == IssueStatus::Sending;
    let p = state
        .admin
        .dashboard
        .progress(issue)
        .await
        .map_err(PageError::failed)?;
    Ok(Json(json!({
        "status": status,
        "sending": sending,
        "total": grouped(p.counts.total),
        "sent": grouped(p.counts.sent),
        "failed": grouped(p.counts.failed),
        "skipped": grouped(p.counts.skipped + p.counts.cancelled),
        "queued": grouped(p.counts.queued),
        "done": p.counts.done(),
        "all": p.counts.total,
        "percent": (p.counts.done() * 100).checked_div(p.counts.total).unwrap_or(0),
        "rate": format!("{} per minutt", grouped(p.per_minute)),
        "left": time_left(p.seconds_left),
    }))
    .into_response())
}

async fn set_paused(
    state: &AppState,
    slug: &Slug,
    paused: bool,
    user: &StaffUser,
) -> Result<Response, PageError> {
    let issues = &state.admin.issues;
    issues.set_paused(slug, paused, &user.actor()).await?;
    let code = if paused { "pause" } else { "fortsetter" };
    Ok(Redirect::to(&format!("/admin/issues/{slug}/report?melding={code}")).into_response())
}

/// POST /admin/issues/{slug}/pause
pub async fn pause(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Result<Response, PageError> {
    set_paused(&state, &slug, true, &user).await
}

/// POST /admin/issues/{slug}/resume
pub async fn resume(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Result<Response, PageError> {
    set_paused(&state, &slug, false, &user).await
}

/// POST /admin/issues/{slug}/retry: send again to those whose delivery failed for a
/// passing reason; never to anyone whose message was accepted.
pub async fn retry_failed(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Result<Response, PageError> {
    let queued = state
        .admin
        .issues
        .retry_failed(&slug, &user.actor())
        .await?;
    let code = if queued == 0 {
        "ingen-ny-runde"
    } else {
        "ny-runde"
    };
    Ok(Redirect::to(&format!("/admin/issues/{slug}/report?melding={code}")).into_response())
}
