//! CSV import of contacts.
//!
//! The file is read on a blocking thread that hands bounded batches to the database
//! side over a small channel, so memory stays flat however long the file is, and
//! parsing overlaps the inserts. Every row that is not imported is reported with its
//! line number and the reason. The whole file is one transaction (see
//! `store::ImportSession`): it is imported completely or not at all.
//!
//! `report.rs` is what the caller is told, `rows.rs` the reading thread, `read.rs` the
//! bytes, header and line numbers under it.

use std::io::Read;

use tokio::sync::mpsc;

mod read;
mod report;
mod rows;

use super::strip_spreadsheet_guard;
use crate::domain::{ConsentNote, ConsentSource, ContactStatus, PublicationSlug};
use crate::store::{Actor, RowResult, Store};
pub use report::{DelimiterName, ImportError, ImportEvent, ImportSummary, Problem, ProblemKind};
use rows::{Parsed, read_file};

/// How to read the bytes of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Utf8,
    /// ISO-8859-1 as Windows writes it (Windows-1252): older Excel versions save CSV so.
    Latin1,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Column separator; detected from the header line (`,` `;` or tab) when `None`.
    pub delimiter: Option<u8>,
    pub encoding: Encoding,
    /// Update name and organisation of contacts already on the list.
    pub update: bool,
    /// Do everything, report, then roll back.
    pub dry_run: bool,
    /// Status of rows without a status cell.
    pub status: ContactStatus,
    /// Consent source of rows without a consent_source cell.
    pub source: ConsentSource,
    /// Consent note of rows without a consent_note cell.
    pub note: Option<ConsentNote>,
    /// `token_key`, to recognise addresses erased at the person's request (kept only as
    /// its keyed hash): such rows are skipped and reported, never added back in bulk.
    pub erased_key: Option<crate::domain::TokenKey>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            delimiter: None,
            encoding: Encoding::Utf8,
            update: false,
            dry_run: false,
            status: ContactStatus::Confirmed,
            source: ConsentSource::Import,
            note: None,
            erased_key: None,
        }
    }
}

/// Imports contacts from CSV. `on_event` hears of the header, every row not imported
/// as new, and progress, as they happen.
pub async fn import_csv<R: Read + Send + 'static>(
    store: &Store,
    source: R,
    file_label: &str,
    options: &ImportOptions,
    actor: &Actor,
    mut on_event: impl FnMut(ImportEvent<'_>),
) -> Result<ImportSummary, ImportError> {
    let (tx, mut rx) = mpsc::channel::<Parsed>(4);
    let mut parse_options = options.clone();
    // Every imported row's consent is documented: a row without a note gets the file's
    // name (or, when the name cannot be a note, the words alone).
    if parse_options.note.is_none() {
        parse_options.note = ConsentNote::parse(&format!("importert fra {file_label}"))
            .ok()
            .flatten()
            .or_else(|| ConsentNote::parse("importert fra fil").ok().flatten());
    }
    // The publications a `publications` cell may name.
    let known: Vec<PublicationSlug> = store
        .publications()
        .await?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    let reader =
        tokio::task::spawn_blocking(move || read_file(source, &parse_options, &known, &tx));

    let mut summary = ImportSummary {
        dry_run: options.dry_run,
        ..Default::default()
    };
    // Erasures are rare: all their hashes fit in memory, and each row costs one HMAC.
    let erased = match &options.erased_key {
        Some(key) => Some((key, store.erased_hashes().await?)),
        None => None,
    };
    let mut session = None;
    let mut failure = None;
    while let Some(message) = rx.recv().await {
        match message {
            Parsed::Header {
                delimiter,
                ignored_columns,
            } => {
                on_event(ImportEvent::Started {
                    delimiter,
                    ignored_columns: &ignored_columns,
                });
                session = Some(store.begin_import(actor, file_label).await?);
            }
            Parsed::Failed(error) => {
                failure = Some(error);
                break;
            }
            Parsed::Batch(batch) => {
                let Some(session) = session.as_mut() else {
                    continue;
                };
                let mut problems = batch.problems;
                let mut rows = batch.rows;
                if let Some((key, hashes)) = &erased
                    && !hashes.is_empty()
                {
                    rows.retain(|row| {
                        let erased_before = key
                            .erased_address_hashes(&row.contact.email)
                            .iter()
                            .any(|hash| hashes.contains(hash));
                        if !erased_before {
                            return true;
                        }
                        summary.erased_before += 1;
                        problems.push(Problem {
                            line: row.line,
                            email: Some(row.contact.email.to_string()),
                            kind: ProblemKind::ErasedBefore,
                        });
                        false
                    });
                }
                let results = session.insert_batch(&rows, options.update).await?;
                for (row, result) in rows.iter().zip(results) {
                    let kind = match result {
                        RowResult::Inserted => {
                            summary.inserted += 1;
                            continue;
                        }
                        RowResult::Unchanged => {
                            summary.unchanged += 1;
                            continue;
                        }
                        RowResult::Updated => {
                            summary.updated += 1;
                            ProblemKind::Updated
                        }
                        RowResult::AlreadyOnList => {
                            summary.already_on_list += 1;
                            ProblemKind::AlreadyOnList
                        }
                        RowResult::DuplicateInFile { first_line } => {
                            summary.duplicates_in_file += 1;
                            ProblemKind::DuplicateInFile { first_line }
                        }
                    };
                    problems.push(Problem {
                        line: row.line,
                        email: Some(row.contact.email.to_string()),
                        kind,
                    });
                }
                problems.sort_by_key(|p| p.line);
                for problem in &problems {
                    if matches!(problem.kind, ProblemKind::Rejected { .. }) {
                        summary.rejected += 1;
                    }
                    on_event(ImportEvent::Problem(problem));
                }
                summary.rows += batch.rows_read;
                summary.blank_rows += batch.blank_rows;
                on_event(ImportEvent::Progress { bytes: batch.bytes });
            }
        }
    }
    // The reader has finished or stopped; a panic there is a bug worth surfacing.
    drop(rx);
    if let Err(e) = reader.await {
        failure.get_or_insert(ImportError::Read(format!("the reader stopped: {e}")));
    }
    if let Some(error) = failure {
        if let Some(session) = session {
            session.rollback().await?;
        }
        return Err(error);
    }
    let Some(session) = session else {
        return Err(ImportError::Empty);
    };
    if options.dry_run {
        session.rollback().await?;
    } else {
        let detail = crate::domain::AuditDetail::Imported {
            file: file_label.to_string(),
            rows: summary.rows as i64,
            inserted: summary.inserted as i64,
            updated: summary.updated as i64,
            refused: summary.rejected as i64,
        }
        .to_string();
        session.commit(actor, detail).await?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests;
