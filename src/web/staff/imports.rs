//! Importing a CSV file: upload, the check's report (every rejected row with its line
//! and reason, the counts) before anything is written, then the import, each with its
//! progress.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::guard::{Empty, StaffForm, StaffUpload, StaffUser};
use super::page::{Chrome, count, grouped, problem_page, render, shown};
use super::path::{ImportTokenPath, Missing};
use crate::contact_csv::{Problem, ProblemKind};
use crate::ops::imports::{
    ImportChoice, ImportJob, ImportReport, JobState, MAX_IMPORT_BYTES, UploadError,
};
use crate::web::AppState;

/// The upload's whole body: the file and the form around it.
pub const MAX_UPLOAD_BYTES: usize = MAX_IMPORT_BYTES + 64 * 1024;

#[derive(Template)]
#[template(path = "admin/import_form.html")]
struct FormPage {
    chrome: Chrome,
}

/// GET /admin/contacts/import
pub async fn form(user: StaffUser) -> Response {
    render(FormPage {
        chrome: Chrome::new(&user, None),
    })
}

/// POST /admin/contacts/import
pub async fn upload(
    State(state): State<AppState>,
    upload: StaffUpload<MAX_UPLOAD_BYTES>,
) -> Response {
    let field = |name: &str| upload.fields.iter().any(|(n, v)| n == name && v == "ja");
    let choice = ImportChoice {
        latin1: field("latin1"),
        update: field("update"),
    };
    match state.admin.imports.start(
        &upload.user.session.username,
        &upload.file_name,
        upload.bytes,
        choice,
    ) {
        Ok(token) => Redirect::to(&format!("/admin/contacts/import/{token}")).into_response(),
        Err(UploadError::TooLarge) => problem_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Filen er for stor",
            "En kontaktliste kan være høyst 32 MiB her. Ingenting er importert. Større lister kan importeres på kommandolinjen (nyhetsbrev contacts import).",
        ),
        Err(UploadError::Empty) => problem_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Filen er tom",
            "Velg en CSV-fil med kontakter og prøv igjen. Ingenting er importert.",
        ),
        Err(e) => super::page::failure(&e),
    }
}

struct ProblemRow {
    line: u64,
    email: String,
    what: String,
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct JobPage {
    chrome: Chrome,
    token: String,
    file_name: String,
    /// "checking", "checked", "importing", "imported" or "failed".
    stage: &'static str,
    percent: u64,
    failure: String,
    rows: String,
    inserted: String,
    /// «Importer 1 kontakt» on the button.
    inserted_contacts: String,
    updated: String,
    unchanged: String,
    already: String,
    repeated: String,
    rejected: String,
    problems: Vec<ProblemRow>,
    more_problems: String,
    ignored: String,
    update: bool,
}

fn page(user: &StaffUser, token: &str, job: ImportJob) -> Response {
    let percent = |bytes: u64| (bytes * 100).checked_div(job.size).unwrap_or(0).min(100);
    let mut view = JobPage {
        chrome: Chrome::new(user, None),
        token: token.to_owned(),
        file_name: shown(&job.file_name),
        stage: "checking",
        percent: 0,
        failure: String::new(),
        rows: String::new(),
        inserted: String::new(),
        inserted_contacts: String::new(),
        updated: String::new(),
        unchanged: String::new(),
        already: String::new(),
        repeated: String::new(),
        rejected: String::new(),
        problems: Vec::new(),
        more_problems: String::new(),
        ignored: String::new(),
        update: job.choice.update,
    };
    let report = match job.state {
        JobState::Checking { bytes } => {
            view.percent = percent(bytes);
            None
        }
        JobState::Importing { bytes } => {
            view.stage = "importing";
            view.percent = percent(bytes);
            None
        }
        JobState::Checked(report) => {
            view.stage = "checked";
            Some(report)
        }
        JobState::Imported(report) => {
            view.stage = "imported";
            Some(report)
        }
        JobState::Failed(words) => {
            view.stage = "failed";
            view.failure = words;
            None
        }
    };
    if let Some(report) = report {
        view.show_report(&report);
    }
    render(view)
}

impl JobPage {
    /// The check's or the import's counts and the lines it refused or skipped.
    fn show_report(&mut self, report: &ImportReport) {
        let s = &report.summary;
        self.rows = grouped(s.rows as i64);
        self.inserted = grouped(s.inserted as i64);
        self.inserted_contacts = count(s.inserted as i64, "kontakt", "kontakter");
        self.updated = grouped(s.updated as i64);
        self.unchanged = grouped(s.unchanged as i64);
        self.already = grouped(s.already_on_list as i64);
        self.repeated = grouped(s.duplicates_in_file as i64);
        self.rejected = grouped(s.rejected as i64);
        self.problems = report.problems.iter().filter_map(problem_row).collect();
        // The report keeps the first problems only; say how many more there were.
        let all = s.rejected + s.duplicates_in_file + s.erased_before;
        let shown_problems = self.problems.len() as u64;
        if all > shown_problems {
            self.more_problems = count((all - shown_problems) as i64, "rad", "rader");
        }
        self.ignored = shown(&report.ignored_columns.join(", "));
    }
}

/// A refused or skipped line in staff's words; other notes are not listed.
fn problem_row(p: &Problem) -> Option<ProblemRow> {
    let what = match &p.kind {
        ProblemKind::Rejected { norwegian, .. } => format!("Ikke importert: {norwegian}"),
        ProblemKind::DuplicateInFile { first_line } => {
            format!("Hoppet over: adressen står også på linje {first_line}")
        }
        ProblemKind::ErasedBefore => "Hoppet over: personen har tidligere bedt om å \
            bli slettet. Legg adressen til for hånd bare hvis personen selv har bedt \
            om å stå på listen igjen."
            .to_owned(),
        _ => return None,
    };
    Some(ProblemRow {
        line: p.line,
        email: shown(p.email.as_deref().unwrap_or_default()),
        what,
    })
}

/// GET /admin/contacts/import/{token}: progress, the check's report, or the result.
pub async fn show(
    State(state): State<AppState>,
    user: StaffUser,
    ImportTokenPath(token): ImportTokenPath,
) -> Response {
    match state
        .admin
        .imports
        .get(&user.session.username, token.as_str())
    {
        Some(job) => page(&user, token.as_str(), job),
        None => Missing::Import.into_response(),
    }
}

/// POST /admin/contacts/import/{token}/confirm
pub async fn confirm(
    State(state): State<AppState>,
    ImportTokenPath(token): ImportTokenPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    let token = token.as_str();
    if state
        .admin
        .imports
        .get(&user.session.username, token)
        .is_none()
    {
        return Missing::Import.into_response();
    }
    // A second click finds the import running or done: the page shows which.
    state.admin.imports.confirm(&user.session.username, token);
    Redirect::to(&format!("/admin/contacts/import/{token}")).into_response()
}

/// POST /admin/contacts/import/{token}/cancel
pub async fn cancel(
    State(state): State<AppState>,
    ImportTokenPath(token): ImportTokenPath,
    StaffForm { user, .. }: StaffForm<Empty>,
) -> Response {
    let token = token.as_str();
    if state
        .admin
        .imports
        .get(&user.session.username, token)
        .is_none()
    {
        return Missing::Import.into_response();
    }
    state.admin.imports.cancel(&user.session.username, token);
    Redirect::to(&format!("/admin/contacts/import/{token}")).into_response()
}
