//! CSV export of contacts, row by row from the database to the writer.

use std::io::Write;

use futures_util::StreamExt;

use super::spreadsheet_safe;
use crate::domain::Contact;
use crate::store::{ContactFilter, Store, StoreError};

/// The columns of an export. `contacts import` reads every one of them back.
pub const EXPORT_HEADER: [&str; 9] = [
    "email",
    "name",
    "organisation",
    "status",
    "consent_source",
    "consent_date",
    "consent_note",
    "created_at",
    "bounce_count",
];

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not write the export: {0}")]
    Write(csv::Error),
    #[error("could not write the export: {0}")]
    Io(std::io::Error),
}

/// One contact as a row of an export; text from outside cannot start a spreadsheet
/// formula.
pub fn export_record(contact: &Contact) -> [String; 9] {
    let text = |value: Option<&str>| spreadsheet_safe(value.unwrap_or_default()).into_owned();
    [
        text(Some(contact.email.as_str())),
        text(contact.name.as_ref().map(|n| n.as_str())),
        text(contact.organisation.as_ref().map(|o| o.as_str())),
        contact.status.to_string(),
        contact.consent.source.to_string(),
        contact.consent.at.to_rfc3339(),
        text(contact.consent.note.as_ref().map(|n| n.as_str())),
        contact.created_at.to_rfc3339(),
        contact.bounce_count.to_string(),
    ]
}

/// Writes every contact matching `filter` as CSV; `on_row` is called with the running
/// count (for a progress display). Returns the number of contacts written.
pub async fn export_csv<W: Write>(
    store: &Store,
    filter: &ContactFilter,
    out: W,
    mut on_row: impl FnMut(u64),
) -> Result<u64, ExportError> {
    let mut writer = csv::WriterBuilder::new().from_writer(out);
    writer.write_record(EXPORT_HEADER)?;
    let mut contacts = store.contacts_stream(filter);
    let mut written = 0;
    while let Some(contact) = contacts.next().await {
        writer.write_record(export_record(&contact?))?;
        written += 1;
        on_row(written);
    }
    writer.flush()?;
    Ok(written)
}

// The cause is part of the message, not a `source`: an error chain printed with
// `{:#}` names it once.
crate::from_cause!(csv::Error => ExportError::Write);
crate::from_cause!(std::io::Error => ExportError::Io);
