//! GET /admin: every issue with its status, the sends in progress with their counts,
//! and what needs a person.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::guard::StaffUser;
use super::page::{Chrome, actor_words, count, failure, grouped, oslo_time, render, shown};
use crate::ops::dashboard::FirstSteps;
use crate::ops::{IssueLine, Warning};
use crate::store::{IssueStatus, NoticeBudget};
use crate::web::AppState;

/// An issue as a row of the dashboard and the issue list.
pub struct IssueRow {
    pub slug: String,
    pub subject: String,
    pub status: &'static str,
    pub changed: String,
    pub draft: bool,
    pub sent: String,
    pub total: String,
    pub percent: i64,
}

/// How staff read a status.
pub fn status_word(status: IssueStatus, paused: bool) -> &'static str {
    match status {
        IssueStatus::Draft => "Utkast",
        IssueStatus::Sending if paused => "Pause",
        IssueStatus::Sending => "Sendes",
        IssueStatus::Sent => "Sendt",
        IssueStatus::Cancelled => "Stoppet",
    }
}

impl IssueRow {
    pub fn new(line: &IssueLine) -> Self {
        let issue = &line.issue;
        let counts = &line.counts;
        let changed = issue.sent_at.unwrap_or(issue.updated_at);
        Self {
            slug: issue.slug.to_string(),
            subject: issue.subject.clone(),
            status: status_word(issue.status, issue.paused_at.is_some()),
            changed: oslo_time(changed),
            draft: issue.status == IssueStatus::Draft,
            sent: grouped(counts.sent),
            total: grouped(counts.total),
            percent: (counts.done() * 100).checked_div(counts.total).unwrap_or(0),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    warnings: Vec<String>,
    sending: Vec<IssueRow>,
    issues: Vec<IssueRow>,
    /// (slug, name, confirmed subscribers).
    publications: Vec<(String, String, String)>,
    /// The first steps of a new installation; empty once all are done.
    first_steps: Vec<StepRow>,
    /// The newest exports of the contact list.
    exports: Vec<ExportRow>,
}

/// One of a new installation's first steps, with where it is done.
struct StepRow {
    title: &'static str,
    done: bool,
    /// (href, text): where to do it.
    links: Vec<(String, String)>,
    /// Said instead when there is nowhere to do it yet.
    note: &'static str,
}

/// The steps in order; each links to where it is done.
fn step_rows(steps: &FirstSteps) -> Vec<StepRow> {
    let checklist = |text: &str| match &steps.newest_issue {
        Some(slug) => vec![(format!("/admin/issues/{slug}/send"), text.to_owned())],
        None => Vec::new(),
    };
    vec![
        StepRow {
            title: "Importer eller legg til kontaktene",
            done: steps.contacts,
            links: vec![
                ("/admin/contacts/import".into(), "Importer en liste".into()),
                ("/admin/contacts/new".into(), "Legg til én kontakt".into()),
            ],
            note: "",
        },
        StepRow {
            title: "Skriv utgaven (eller hent den fra Word)",
            done: steps.issue,
            links: vec![("/admin/issues/new".into(), "Skriv en ny utgave".into())],
            note: "",
        },
        StepRow {
            title: "Send en testkopi til deg selv og les den",
            done: steps.test_copy,
            links: checklist("Send en testkopi fra sjekklisten"),
            note: "Fra utgavens sjekkliste, når utgaven er skrevet.",
        },
        StepRow {
            title: "Send utgaven",
            done: steps.sent,
            links: checklist("Gå til sjekklisten og send"),
            note: "Fra utgavens sjekkliste, når testkopien er lest.",
        },
    ]
}

/// An export of the contact list as the dashboard lists it.
struct ExportRow {
    when: String,
    who: String,
    rows: String,
    filter: String,
}

fn warning_text(warning: &Warning) -> String {
    match warning {
        Warning::RelayUnreachable(why) => format!(
            "E-postserveren (reléet) svarer ikke, så utsendingen står stille til den svarer igjen. Ingen e-post går tapt. Feilmelding til den som drifter tjenesten: {why}"
        ),
        Warning::NoWorker => super::error::NO_TOKEN_KEY.into(),
        Warning::Paused { slug } => format!("Utsendingen av {slug} er satt på pause."),
        Warning::Failures { slug, failed } => format!(
            "{} av {slug} fikk ikke utgaven. Se rapporten.",
            count(*failed, "mottaker", "mottakere")
        ),
        Warning::Retrying { slug, retrying } => format!(
            "{} av {slug} venter på et nytt forsøk etter en midlertidig feil.",
            count(*retrying, "mottaker", "mottakere")
        ),
        Warning::MissedPlan { slug, at } => format!(
            "Utsendingen av {slug} var planlagt {}, men ble ikke startet fordi tjenesten ikke gikk da. Avgjør på sjekklisten om den skal sendes nå eller planlegges på nytt.",
            oslo_time(*at)
        ),
        Warning::AwaitingApproval { slug, by } => format!(
            "Utsendingen av {slug} venter på godkjenning fra en annen i staben (bedt om av {}).",
            actor_words(by)
        ),
        Warning::WaitingForCap { daily: false, cap } => format!(
            "Utsendingen venter: grensen på {} i timen er nådd. Den fortsetter av seg selv.",
            count(*cap as i64, "e-post", "e-poster")
        ),
        Warning::WaitingForCap { daily: true, cap } => format!(
            "Utsendingen venter: grensen på {} i døgnet er nådd. Den fortsetter av seg selv.",
            count(*cap as i64, "e-post", "e-poster")
        ),
        Warning::MailWaiting(n) => format!(
            "{} til staben venter på behandling (under «E-post til KOM»).",
            count(*n, "e-post", "e-poster")
        ),
        Warning::NoticesWaiting { budget, waiting } => {
            let what = match (budget, *waiting == 1) {
                (NoticeBudget::Web, true) => "bekreftelse fra skjemaet venter",
                (NoticeBudget::Web, false) => "bekreftelser fra skjemaet venter",
                (NoticeBudget::Mail, true) => "bekreftelse på ønske sendt per e-post venter",
                (NoticeBudget::Mail, false) => "bekreftelser på ønsker sendt per e-post venter",
                (NoticeBudget::Leave, true) => "lenke for å melde seg av venter",
                (NoticeBudget::Leave, false) => "lenker for å melde seg av venter",
            };
            format!(
                "{} {what} på plass i timekvoten. Ingen går tapt: de sendes av seg selv etter hvert som timen gir plass.",
                grouped(*waiting)
            )
        }
        Warning::SameMailbox {
            contact_id,
            email,
            same_as,
        } => format!(
            "Kontakt nr. {contact_id} ({email}) er samme e-postadresse som kontakt nr. {same_as}, skrevet på en annen måte. Begge får alt som sendes: slett den du ikke vil ha (under «Kontakter»)."
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub melding: String,
}

/// GET /admin
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let overview = match state.admin.dashboard.overview().await {
        Ok(overview) => overview,
        Err(e) => return failure(&e),
    };
    let rows: Vec<IssueRow> = overview.issues.iter().map(IssueRow::new).collect();
    let sending = overview
        .issues
        .iter()
        .filter(|l| l.issue.status == IssueStatus::Sending)
        .map(IssueRow::new)
        .collect();
    render(DashboardPage {
        chrome: Chrome::new(&user, super::issues::notice(&query.melding)),
        warnings: overview.warnings.iter().map(warning_text).collect(),
        sending,
        issues: rows,
        publications: overview
            .publications
            .iter()
            .map(|line| {
                (
                    line.publication.slug.to_string(),
                    line.publication.name.as_str().to_owned(),
                    grouped(line.subscribers),
                )
            })
            .collect(),
        first_steps: overview
            .first_steps
            .as_ref()
            .map(step_rows)
            .unwrap_or_default(),
        exports: overview
            .exports
            .iter()
            .map(|export| ExportRow {
                when: oslo_time(export.at),
                who: shown(&export.actor.norwegian()),
                rows: match export.rows {
                    Some(rows) if export.stopped => format!("{} (avbrutt)", grouped(rows as i64)),
                    Some(rows) => grouped(rows as i64),
                    None => "–".to_owned(),
                },
                filter: shown(&export.filter),
            })
            .collect(),
    })
}
