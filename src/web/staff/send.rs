//! Sending an issue: the checklist before, a test copy, the start (confirmed by typing
//! the number of recipients), and the progress and report after, with pause, resume
//! and sending again to those whose delivery failed for a passing reason.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::dashboard::{NoticeQuery, status_word};
use super::error::{not_draft, send_time_passed};
use super::guard::Empty;
use super::guard::{StaffForm, StaffUser};
use super::issues::{contacts_text, notice};
use super::page::{
    Chrome, actor_words, failure, from_oslo_local, grouped, not_found, oslo_time, problem_page,
    render,
};
use super::path::IssueSlugPath;
use crate::domain::{DeliveryStatus, EmailAddress, Slug};
use crate::ops::{IssueError, LinkState, SendRequested};
use crate::store::{IssueStatus, StoredIssue};
use crate::web::AppState;

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
        LinkState::Broken(status) => format!("Nettstedet avviste forespørselen ({status})."),
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
    recipients: i64,
    recipients_text: String,
    test_copies: Vec<TestCopy>,
    test_to: String,
    test_error: Option<String>,
    confirm_error: Option<String>,
    links_checked: usize,
    broken_links: Vec<BrokenLink>,
    /// A planned send, as the page says it.
    plan: Option<PlanView>,
    /// A suggestion for the time field: tomorrow at 09:00.
    suggested_time: String,
    /// `send_approval`: the page says a second account approves.
    approval: bool,
    /// Why this account's approval did not count.
    approval_error: Option<&'static str>,
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

async fn checklist_page(
    state: &AppState,
    user: &StaffUser,
    slug: &Slug,
    notice_code: &str,
    fresh_links: bool,
) -> Result<ChecklistPage, Response> {
    let issues = &state.admin.issues;
    let (stored, issue) = match issues.get(slug).await {
        Ok(found) => found,
        Err(IssueError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(failure(&e)),
    };
    let recipients = issues.count_unqueued(slug).await.map_err(|e| failure(&e))?;
    let test_copies = issues
        .test_copies(&stored)
        .await
        .map_err(|e| failure(&e))?
        .into_iter()
        .map(|entry| TestCopy {
            to: entry.detail.unwrap_or_default(),
            by: entry.actor.norwegian(),
            at: oslo_time(entry.at),
        })
        .collect();
    let reports = state
        .admin
        .links
        .check_issue(
            &issue,
            (slug.to_string(), stored.updated_at.unix_ms()),
            fresh_links,
        )
        .await;
    let links_checked = reports
        .iter()
        .filter(|r| r.state != LinkState::NotChecked)
        .count();
    let broken_links = reports
        .iter()
        .filter(|r| r.state.is_broken())
        .map(|r| BrokenLink {
            url: r.url.clone(),
            places: r.places.join(", "),
            why: link_problem(&r.state),
        })
        .collect();
    let who = |actor: &str| actor_words(actor);
    let approval = issues.send_approval();
    let plan = stored.plan.as_ref().map(|p| PlanView {
        at: oslo_time(p.at),
        by: who(&p.requested_by),
        approved_by: p.approved_by.as_deref().map(who),
        missed: p.missed_at.is_some(),
        needs_approval: approval && p.approved_by.is_none(),
        can_approve: approval
            && p.approved_by.is_none()
            && p.missed_at.is_none()
            && p.requested_by != user.actor().as_str(),
    });
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let suggested_time = format!(
        "{}-{:02}-{:02}T09:00",
        tomorrow.year(),
        u8::from(tomorrow.month()),
        tomorrow.day()
    );
    // "Send a test to me": the account's name when it is an address.
    let test_to = EmailAddress::parse(&user.session.username)
        .map(|a| a.to_string())
        .unwrap_or_default();
    Ok(ChecklistPage {
        chrome: Chrome::new(user, notice(notice_code)),
        slug: slug.to_string(),
        subject: issue.meta.subject,
        from_line: state.admin.from_line.clone(),
        draft: stored.status == IssueStatus::Draft,
        can_send: state.admin.test_sender.is_some(),
        recipients,
        recipients_text: contacts_text(recipients),
        test_copies,
        test_to,
        test_error: None,
        confirm_error: None,
        links_checked,
        broken_links,
        plan,
        suggested_time,
        approval,
        approval_error: None,
    })
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
) -> Response {
    let fresh = query.lenker.is_some();
    match checklist_page(&state, &user, &slug, &query.melding, fresh).await {
        Ok(page) => render(page),
        Err(response) => response,
    }
}

fn unprocessable(page: ChecklistPage) -> Response {
    let mut response = render(page);
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}

/// POST /admin/issues/{slug}/test: one copy, its subject marked [TEST].
pub async fn test_copy(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, form }: StaffForm<TestForm>,
) -> Response {
    let again = |page: Result<ChecklistPage, Response>, error: String| match page {
        Ok(mut page) => {
            page.test_to = form.to.chars().take(254).collect();
            page.test_error = Some(error);
            unprocessable(page)
        }
        Err(response) => response,
    };
    let Ok(to) = EmailAddress::parse(&form.to) else {
        return again(
            checklist_page(&state, &user, &slug, "", false).await,
            "Skriv en hel e-postadresse, for eksempel navn@example.no.".into(),
        );
    };
    let Some(sender) = &state.admin.test_sender else {
        return again(
            checklist_page(&state, &user, &slug, "", false).await,
            "Ingenting kan sendes: tjenesten mangler nøkkelen token_key.".into(),
        );
    };
    match state
        .admin
        .issues
        .test_send(sender, &slug, &to, &user.actor())
        .await
    {
        Ok(()) => Redirect::to(&format!("/admin/issues/{slug}/send?melding=test")).into_response(),
        Err(IssueError::NotFound(_)) => not_found(),
        Err(IssueError::Send(e)) => {
            tracing::warn!(error = %e, "test copy not sent");
            again(
                checklist_page(&state, &user, &slug, "", false).await,
                format!(
                    "Testkopien ble ikke sendt: e-postserveren tok ikke imot den. Prøv igjen om litt. (Feilmelding: {e})"
                ),
            )
        }
        Err(e) => failure(&e),
    }
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    antall: String,
    /// `na` (now) or `senere` (at `tidspunkt`).
    #[serde(default)]
    naar: String,
    /// `2026-12-03T09:00`, Norwegian time.
    #[serde(default)]
    tidspunkt: String,
}

/// POST /admin/issues/{slug}/send: asks for the send once the typed number is the
/// number of recipients: now, or at a time (Europe/Oslo).
pub async fn start(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, form }: StaffForm<StartForm>,
) -> Response {
    // Only read here; whether the time will do is the operation's rule.
    let at = if form.naar == "senere" {
        let Some(at) = from_oslo_local(&form.tidspunkt) else {
            return again_with_confirm_error(
                &state,
                &user,
                &slug,
                "Skriv dato og klokkeslett for utsendingen, for eksempel 03.12.2026 09:00.".into(),
            )
            .await;
        };
        Some(at)
    } else {
        None
    };
    let error = match state
        .admin
        .issues
        .request_send(&slug, &form.antall, at, &user.actor())
        .await
    {
        Ok(SendRequested::Started(_)) => {
            return Redirect::to(&format!("/admin/issues/{slug}/report?melding=startet"))
                .into_response();
        }
        Ok(SendRequested::Planned { needs_approval, .. }) => {
            let code = if needs_approval { "venter-godkjenning" } else { "planlagt" };
            return Redirect::to(&format!("/admin/issues/{slug}/send?melding={code}"))
                .into_response();
        }
        Err(IssueError::WrongCount { expected: 0, .. }) => {
            "Ingen bekreftede kontakter mangler denne utgaven, så det er ingen å sende til.".to_owned()
        }
        Err(IssueError::WrongCount { expected, .. }) => format!(
            "Tallet stemmer ikke. Utgaven går til {}: skriv {expected} for å sende.",
            contacts_text(expected)
        ),
        Err(IssueError::NoTokenKey(_)) => {
            "Ingenting kan sendes: tjenesten mangler nøkkelen token_key. Be den som drifter tjenesten om å sette den.".into()
        }
        Err(IssueError::Planned(_)) => {
            "Utsendingen er allerede planlagt. Avbryt planen først hvis du vil endre den.".into()
        }
        Err(IssueError::NotDraft { .. }) => not_draft().message,
        Err(IssueError::SendTimePassed(_)) => send_time_passed().message,
        Err(IssueError::NotFound(_)) => return not_found(),
        Err(e) => return failure(&e),
    };
    again_with_confirm_error(&state, &user, &slug, error).await
}

async fn again_with_confirm_error(
    state: &AppState,
    user: &StaffUser,
    slug: &Slug,
    error: String,
) -> Response {
    match checklist_page(state, user, slug, "", false).await {
        Ok(mut page) => {
            page.confirm_error = Some(error);
            unprocessable(page)
        }
        Err(response) => response,
    }
}

/// POST /admin/issues/{slug}/approve: another staff member approves a planned send;
/// one that is due starts at once.
pub async fn approve(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state.admin.issues.approve_send(&slug, &user.actor()).await {
        Ok(SendRequested::Started(_)) => {
            Redirect::to(&format!("/admin/issues/{slug}/report?melding=startet")).into_response()
        }
        Ok(SendRequested::Planned { .. }) => {
            Redirect::to(&format!("/admin/issues/{slug}/send?melding=godkjent")).into_response()
        }
        Err(IssueError::ApprovalRefused(bar)) => {
            match checklist_page(&state, &user, &slug, "", false).await {
                Ok(mut page) => {
                    page.approval_error = Some(bar.norwegian());
                    let mut response = render(page);
                    *response.status_mut() = StatusCode::FORBIDDEN;
                    response
                }
                Err(response) => response,
            }
        }
        Err(IssueError::OwnApproval) => problem_page(
            StatusCode::FORBIDDEN,
            "Du kan ikke godkjenne din egen utsending",
            "En annen i staben må godkjenne utsendingen. Ingenting ble endret.",
        ),
        Err(IssueError::NoPlan(_)) => problem_page(
            StatusCode::CONFLICT,
            "Ingen utsending å godkjenne",
            "Utsendingen er allerede godkjent, avbrutt eller startet. Ingenting ble endret.",
        ),
        Err(IssueError::NotFound(_)) => not_found(),
        Err(e) => failure(&e),
    }
}

/// POST /admin/issues/{slug}/cancel-plan
pub async fn cancel_plan(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state.admin.issues.cancel_plan(&slug, &user.actor()).await {
        Ok(_) => {
            Redirect::to(&format!("/admin/issues/{slug}/send?melding=plan-avbrutt")).into_response()
        }
        Err(IssueError::NotFound(_)) => not_found(),
        Err(e) => failure(&e),
    }
}

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
        _ if status == DeliveryStatus::Skipped => return error.to_owned(),
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

async fn stored(state: &AppState, slug: &Slug) -> Result<StoredIssue, Response> {
    match state.admin.issues.get(slug).await {
        Ok((stored, _)) => Ok(stored),
        Err(IssueError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(failure(&e)),
    }
}

/// GET /admin/issues/{slug}/report: live while sending (a reload works; the page's
/// script updates the counts by itself), the whole report afterwards.
pub async fn report(
    State(state): State<AppState>,
    user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let status = match state
        .admin
        .issues
        .status_first(&slug, LISTED_PROBLEMS as i64)
        .await
    {
        Ok(status) => status,
        Err(IssueError::NotFound(_)) => return not_found(),
        Err(e) => return failure(&e),
    };
    let issue = status.issue.clone();
    let progress = match state
        .admin
        .dashboard
        .progress_of(issue.clone(), status.counts.clone())
        .await
    {
        Ok(progress) => progress,
        Err(e) => return failure(&e),
    };
    let counts = &progress.counts;
    let problems: Vec<ProblemRow> = status
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
    let all_problems = (counts.failed + counts.skipped + counts.retrying).max(0) as usize;
    let more_problems = all_problems.saturating_sub(problems.len());
    render(ReportPage {
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
    })
}

/// GET /admin/issues/{slug}/report.json: the counts, for the page's script.
pub async fn progress_json(
    State(state): State<AppState>,
    _user: StaffUser,
    IssueSlugPath(slug): IssueSlugPath,
) -> Response {
    let issue = match stored(&state, &slug).await {
        Ok(issue) => issue,
        Err(response) => return response,
    };
    let status = status_word(issue.status, issue.paused_at.is_some());
    let sending = issue.status == IssueStatus::Sending;
    match state.admin.dashboard.progress(issue).await {
        Ok(p) => Json(json!({
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
        .into_response(),
        Err(e) => failure(&e),
    }
}

/// GET /admin/issues/{slug}/report.csv: hands out nothing (a download of every
/// recipient's address is a POST, in the audit log); back to the report.
pub async fn ledger_by_get(_user: StaffUser, IssueSlugPath(slug): IssueSlugPath) -> Response {
    Redirect::to(&format!("/admin/issues/{slug}/report")).into_response()
}

/// POST /admin/issues/{slug}/report.csv: every delivery, for a spreadsheet, streamed a
/// page at a time. A POST with the CSRF token: it holds every recipient's address, so
/// the download is written to the audit log before its first row leaves.
pub async fn ledger_csv(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    use futures_util::StreamExt;
    let pages = match state.admin.issues.ledger(&slug, &user.actor()).await {
        Ok(pages) => pages,
        Err(IssueError::NotFound(_)) => return not_found(),
        Err(e) => return failure(&e),
    };
    let header = futures_util::stream::once(async {
        csv_lines(|w| w.write_record(["e-post", "status", "forsøk", "sendt", "hard_retur", "feil"]))
    });
    let rows = pages.map(|page| match page {
        Ok(rows) => csv_lines(|w| {
            for row in &rows {
                w.write_record(ledger_record(row))?;
            }
            Ok(())
        }),
        Err(e) => {
            // Headers are gone already: the download ends short, and the log says why.
            tracing::error!(error = %e, "the ledger CSV stopped");
            Err(std::io::Error::other("the ledger could not be read"))
        }
    });
    let mut response = axum::body::Body::from_stream(header.chain(rows)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"utsending-{slug}.csv\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Lines of CSV written by `write`, as one chunk of the body.
pub(super) fn csv_lines(
    write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> Result<(), csv::Error>,
) -> Result<Vec<u8>, std::io::Error> {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    write(&mut writer).map_err(std::io::Error::other)?;
    writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// One delivery as a CSV row; text from outside cannot start a spreadsheet formula.
fn ledger_record(row: &crate::store::LedgerRow) -> [String; 6] {
    let safe = |s: &str| crate::contact_csv::spreadsheet_safe(s).into_owned();
    [
        safe(&row.email),
        match row.status {
            DeliveryStatus::Queued => "i kø",
            DeliveryStatus::Sent => "sendt",
            DeliveryStatus::Failed => "ikke levert",
            DeliveryStatus::Skipped => "hoppet over",
            DeliveryStatus::Cancelled => "stoppet",
        }
        .to_owned(),
        row.attempts.to_string(),
        row.sent_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        if row.bounced { "ja" } else { "" }.to_owned(),
        safe(row.error.as_deref().unwrap_or_default()),
    ]
}

async fn set_paused(state: &AppState, slug: &Slug, paused: bool, user: &StaffUser) -> Response {
    match state
        .admin
        .issues
        .set_paused(slug, paused, &user.actor())
        .await
    {
        Ok(()) => {
            let code = if paused { "pause" } else { "fortsetter" };
            Redirect::to(&format!("/admin/issues/{slug}/report?melding={code}")).into_response()
        }
        Err(IssueError::NotFound(_)) => not_found(),
        Err(IssueError::NotSending(_)) => problem_page(
            StatusCode::CONFLICT,
            "Utgaven sendes ikke",
            "Bare en utsending som pågår, kan settes på pause eller fortsette.",
        ),
        Err(e) => failure(&e),
    }
}

/// POST /admin/issues/{slug}/pause
pub async fn pause(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    set_paused(&state, &slug, true, &user).await
}

/// POST /admin/issues/{slug}/resume
pub async fn resume(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    set_paused(&state, &slug, false, &user).await
}

/// POST /admin/issues/{slug}/retry: send again to those whose delivery failed for a
/// passing reason; never to anyone whose message was accepted.
pub async fn retry_failed(
    State(state): State<AppState>,
    IssueSlugPath(slug): IssueSlugPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    match state.admin.issues.retry_failed(&slug, &user.actor()).await {
        Ok(0) => Redirect::to(&format!(
            "/admin/issues/{slug}/report?melding=ingen-ny-runde"
        ))
        .into_response(),
        Ok(_) => {
            Redirect::to(&format!("/admin/issues/{slug}/report?melding=ny-runde")).into_response()
        }
        Err(IssueError::NotFound(_)) => not_found(),
        Err(IssueError::NoTokenKey(_)) => problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ingenting kan sendes",
            "Tjenesten mangler nøkkelen token_key. Be den som drifter tjenesten om å sette den.",
        ),
        Err(e) => failure(&e),
    }
}
