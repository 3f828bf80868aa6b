//! The ledger: every delivery of a send as CSV, streamed a page at a time, taken only by
//! a POST that the audit log records first.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::domain::DeliveryStatus;
use crate::web::AppState;
use crate::web::staff::error::PageError;
use crate::web::staff::guard::{Empty, StaffForm, StaffUser};
use crate::web::staff::path::IssueSlugPath;

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
) -> Result<Response, PageError> {
    use futures_util::StreamExt;
    let pages = state.admin.issues.ledger(&slug, &user.actor()).await?;
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
    Ok(response)
}

/// Lines of CSV written by `write`, as one chunk of the body.
fn csv_lines(
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
