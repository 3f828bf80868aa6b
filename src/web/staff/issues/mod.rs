//! Writing an issue: the list (here), the form (fields for the front matter, Markdown
//! for the body), uploading an issue file, and the preview.

mod form;
mod preview;
mod upload;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

pub use form::{IssueFields, create, edit_form, new_form, save};
pub use preview::{preview, preview_mail, preview_web};
pub use upload::{MAX_ISSUE_UPLOAD_BYTES, upload};

use super::dashboard::{IssueRow, NoticeQuery};
use super::error::PageError;
use super::guard::StaffUser;
use super::page::Chrome;
use crate::ops::IssueLine;
use crate::web::AppState;

/// What a redirect's `melding` says, in words (never text from the request itself).
pub fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "opprettet" => "Utkastet er opprettet.",
        "lagret" => "Utkastet er lagret.",
        "lastet-opp" => "Filen er lest og lagret som utkast.",
        "word" => {
            "Word-dokumentet er lest og lagret som utkast. Teksten under er utgaven slik den ble lest: les den gjennom, og rett den her om noe ble feil."
        }
        "test" => "Testkopien er sendt. Sjekk innboksen.",
        "startet" => "Utsendingen er startet.",
        "pause" => "Utsendingen er satt på pause. Ingen nye e-poster går ut før du fortsetter.",
        "fortsetter" => "Utsendingen fortsetter.",
        "ny-runde" => "De som ikke fikk utgaven på grunn av en midlertidig feil, står i kø igjen.",
        "ingen-ny-runde" => "Ingen mottakere hadde en midlertidig feil å sende på nytt til.",
        "planlagt" => "Utsendingen er planlagt. Den starter av seg selv til oppgitt tid.",
        "venter-godkjenning" => "Utsendingen venter nå på godkjenning fra en annen i staben.",
        "godkjent" => "Utsendingen er godkjent og starter til oppgitt tid.",
        "plan-avbrutt" => "Planen er avbrutt. Utkastet kan endres igjen.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "admin/issues.html")]
struct IssuesPage {
    chrome: Chrome,
    issues: Vec<IssueRow>,
}

/// GET /admin/issues
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let rows = state
        .admin
        .issues
        .list()
        .await?
        .into_iter()
        .map(|issue| {
            IssueRow::new(&IssueLine {
                issue,
                counts: Default::default(),
            })
        })
        .collect();
    let page = IssuesPage {
        chrome: Chrome::new(&user, notice(&query.melding)),
        issues: rows,
    };
    Ok(axum::response::Html(page.render()?).into_response())
}
