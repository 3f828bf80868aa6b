//! CSV import of contacts.
//!
//! The file is read on a blocking thread that hands bounded batches to the database
//! side over a small channel, so memory stays flat however long the file is, and
//! parsing overlaps the inserts. Every row that is not imported is reported with its
//! line number and the reason. The whole file is one transaction (see
//! `store::ImportSession`): it is imported completely or not at all.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use serde::Serialize;
use tokio::sync::mpsc;

mod read;

use super::strip_spreadsheet_guard;
use crate::domain::{
    Consent, ConsentNote, ConsentSource, ContactName, ContactStatus, EmailAddress, NewContact,
    Organisation, PublicationChoice, PublicationSlug, Timestamp,
};
use crate::store::{Actor, IMPORT_BATCH_ROWS, ImportRow, RowResult, Store, StoreError};
use read::*;

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

/// A row that was not imported as a new contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Line of the file where the row starts (line 1 is the header).
    pub line: u64,
    /// The address as written in the row, if the row had one.
    pub email: Option<String>,
    #[serde(flatten)]
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProblemKind {
    /// The row is broken; the reason says how (`norwegian` for staff in the web admin).
    Rejected {
        reason: String,
        #[serde(skip)]
        norwegian: String,
    },
    /// The address came earlier in the file.
    DuplicateInFile { first_line: u64 },
    /// The address was on the list already and was left as it was.
    AlreadyOnList,
    /// Already on the list; name or organisation updated (`--update`).
    Updated,
    /// The address was erased at the person's request before: skipped.
    ErasedBefore,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        let email = self.email.as_deref().unwrap_or("");
        match &self.kind {
            ProblemKind::Rejected { reason, .. } => write!(f, "rejected: {reason}"),
            ProblemKind::DuplicateInFile { first_line } => {
                write!(f, "skipped: {email} already appears on line {first_line}")
            }
            ProblemKind::AlreadyOnList => write!(
                f,
                "skipped: {email} is already on the list (use --update to update name and organisation)"
            ),
            ProblemKind::Updated => write!(f, "updated: {email} (name/organisation)"),
            ProblemKind::ErasedBefore => write!(
                f,
                "skipped: {email} was erased at the person's request; add it by hand only if they asked to be added again"
            ),
        }
    }
}

/// What the caller is told while an import runs.
#[derive(Debug)]
pub enum ImportEvent<'a> {
    /// The header was understood.
    Started {
        delimiter: u8,
        ignored_columns: &'a [String],
    },
    Problem(&'a Problem),
    /// Bytes of the file read so far.
    Progress {
        bytes: u64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub already_on_list: u64,
    pub duplicates_in_file: u64,
    pub rejected: u64,
    /// Rows skipped because the person had asked to be erased.
    pub erased_before: u64,
    pub blank_rows: u64,
    pub dry_run: bool,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        write!(
            f,
            "{} rows read: {verb} {}, updated {}, unchanged {}, already on the list {}, \
             repeated in the file {}, rejected {}",
            self.rows,
            self.inserted,
            self.updated,
            self.unchanged,
            self.already_on_list,
            self.duplicates_in_file,
            self.rejected
        )?;
        if self.erased_before > 0 {
            write!(
                f,
                ", skipped {} the people had asked to be erased",
                self.erased_before
            )?;
        }
        if self.dry_run {
            write!(f, " (dry run: nothing was written)")?;
        }
        Ok(())
    }
}

/// Why a whole file was refused. Nothing is written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty: expected a header line such as email,name,organisation")]
    Empty,
    #[error(
        "the file has no e-mail column (the header reads {header:?}); name one column \"email\" \
         (or \"e-post\"), and if the columns are not separated by {delimiter}, pass --delimiter"
    )]
    NoEmailColumn {
        header: String,
        delimiter: DelimiterName,
    },
    #[error("the header names the {0} column twice")]
    DuplicateColumn(&'static str),
    #[error(
        "the header line is not valid UTF-8: save the file as UTF-8, or pass --encoding latin1"
    )]
    HeaderEncoding,
    #[error("could not read the file: {0}")]
    Read(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// What is wrong with the whole file, in bokmål for staff; `None` for a failure
    /// that is not the file's (the database).
    pub fn norwegian(&self) -> Option<String> {
        Some(match self {
            ImportError::Empty => {
                "Filen er tom. Den første linjen må være overskrifter, for eksempel email,name,organisation.".into()
            }
            ImportError::NoEmailColumn { .. } => {
                "Filen har ingen kolonne med e-postadresser. Gi én kolonne overskriften «email» eller «e-post». Er filen et regneark, lagre den som CSV først.".into()
            }
            ImportError::DuplicateColumn(column) => {
                format!("Overskriftsraden har kolonnen {column} to ganger.")
            }
            ImportError::HeaderEncoding => {
                "Overskriftsraden er ikke UTF-8-tekst. Lagre filen som «CSV UTF-8» i Excel, eller velg tegnsettet fra eldre Excel.".into()
            }
            ImportError::Read(_) => "Filen kunne ikke leses til ende.".into(),
            ImportError::Store(_) => return None,
        })
    }
}

/// A delimiter as a person would name it.
#[derive(Debug, Clone, Copy)]
pub struct DelimiterName(pub u8);

impl fmt::Display for DelimiterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            b'\t' => f.write_str("tabs"),
            b => write!(f, "'{}'", b as char),
        }
    }
}

/// The fields a header may name, with the spellings staff are likely to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Email,
    Name,
    Organisation,
    Status,
    ConsentDate,
    ConsentSource,
    ConsentNote,
    Publications,
}

impl Field {
    fn from_header(cell: &str) -> Option<Field> {
        let name = cell.trim().to_lowercase().replace([' ', '-'], "_");
        Some(match name.as_str() {
            "email" | "e_mail" | "e_post" | "epost" | "e_postadresse" | "epostadresse" | "mail" => {
                Field::Email
            }
            "name" | "navn" | "fullt_navn" => Field::Name,
            "organisation" | "organization" | "organisasjon" | "org" | "virksomhet" => {
                Field::Organisation
            }
            "status" => Field::Status,
            "consent_date" | "consent_at" | "samtykkedato" | "samtykke_dato" => Field::ConsentDate,
            "consent_source" | "samtykkekilde" => Field::ConsentSource,
            "consent_note" | "samtykke" | "samtykkenotat" => Field::ConsentNote,
            "publications" | "publikasjoner" => Field::Publications,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Name => "name",
            Field::Organisation => "organisation",
            Field::Status => "status",
            Field::ConsentDate => "consent_date",
            Field::ConsentSource => "consent_source",
            Field::ConsentNote => "consent_note",
            Field::Publications => "publications",
        }
    }
}

/// Which column holds each field.
#[derive(Debug, Default)]
struct Columns {
    count: usize,
    email: usize,
    name: Option<usize>,
    organisation: Option<usize>,
    status: Option<usize>,
    consent_date: Option<usize>,
    consent_source: Option<usize>,
    consent_note: Option<usize>,
    publications: Option<usize>,
    ignored: Vec<String>,
}

/// Sent from the reading thread to the database side.
enum Parsed {
    Header {
        delimiter: u8,
        ignored_columns: Vec<String>,
    },
    Batch(Batch),
    Failed(ImportError),
}

struct Batch {
    rows: Vec<ImportRow>,
    /// Rows rejected while reading.
    problems: Vec<Problem>,
    rows_read: u64,
    blank_rows: u64,
    bytes: u64,
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
        let detail = format!(
            "file={file_label} rows={} inserted={} updated={} rejected={}",
            summary.rows, summary.inserted, summary.updated, summary.rejected
        );
        session.commit(actor, detail).await?;
    }
    Ok(summary)
}

/// Runs on a blocking thread: reads the file and sends the header, then batches.
fn read_file<R: Read>(
    source: R,
    options: &ImportOptions,
    known: &[PublicationSlug],
    tx: &mpsc::Sender<Parsed>,
) {
    if let Err(error) = read_file_inner(source, options, known, tx) {
        let _ = tx.blocking_send(Parsed::Failed(error));
    }
}

fn read_file_inner<R: Read>(
    source: R,
    options: &ImportOptions,
    known: &[PublicationSlug],
    tx: &mpsc::Sender<Parsed>,
) -> Result<(), ImportError> {
    let mut input = BufReader::with_capacity(64 * 1024, source);
    let mut first = Vec::new();
    let mut skipped_lines = 0_u64;
    input
        .read_until(b'\n', &mut first)
        .map_err(|e| ImportError::Read(e.to_string()))?;
    if let Some(rest) = first.strip_prefix(b"\xEF\xBB\xBF") {
        first = rest.to_vec();
    }
    // Excel writes "sep=;" as a first line to name the delimiter.
    let mut delimiter = options.delimiter;
    if let Some(sep) = first
        .strip_prefix(b"sep=")
        .and_then(|rest| rest.first().copied())
    {
        delimiter = delimiter.or(Some(sep));
        first.clear();
        skipped_lines = 1;
        input
            .read_until(b'\n', &mut first)
            .map_err(|e| ImportError::Read(e.to_string()))?;
    }
    if first.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(&first));
    let header_len = first.len() as u64;
    let index = Rc::new(RefCell::new(NewlineIndex {
        passed: 0,
        ahead: VecDeque::new(),
        offset: 0,
    }));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(Indexed {
            inner: Cursor::new(first).chain(input),
            index: Rc::clone(&index),
        });

    let mut record = csv::ByteRecord::new();
    let read = |reader: &mut csv::Reader<_>, record: &mut csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .map_err(|e| ImportError::Read(e.to_string()))
    };
    if !read(&mut reader, &mut record)? {
        return Err(ImportError::Empty);
    }
    let columns = parse_header(&record, delimiter, options.encoding)?;
    if tx
        .blocking_send(Parsed::Header {
            delimiter,
            ignored_columns: columns.ignored.clone(),
        })
        .is_err()
    {
        return Ok(());
    }

    let now = Timestamp::now();
    let mut batch = Batch::new();
    loop {
        let more = read(&mut reader, &mut record)?;
        if more {
            let line = start_line(reader.position().byte(), &mut index.borrow_mut(), &record)
                + skipped_lines;
            if record
                .iter()
                .all(|field| field.iter().all(u8::is_ascii_whitespace))
            {
                batch.blank_rows += 1;
            } else {
                batch.rows_read += 1;
                match parse_row(&record, &columns, line, delimiter, options, known, now) {
                    Ok(row) => batch.rows.push(row),
                    Err(problem) => batch.problems.push(problem),
                }
            }
        }
        if batch.rows.len() == IMPORT_BATCH_ROWS || (!more && !batch.is_empty()) {
            batch.bytes = reader.position().byte() + if skipped_lines > 0 { header_len } else { 0 };
            let full = std::mem::replace(&mut batch, Batch::new());
            if tx.blocking_send(Parsed::Batch(full)).is_err() {
                return Ok(()); // the database side gave up and says why
            }
        }
        if !more {
            return Ok(());
        }
    }
}

impl Batch {
    fn new() -> Self {
        Batch {
            rows: Vec::with_capacity(IMPORT_BATCH_ROWS),
            problems: Vec::new(),
            rows_read: 0,
            blank_rows: 0,
            bytes: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.problems.is_empty() && self.blank_rows == 0
    }
}

fn parse_row(
    record: &csv::ByteRecord,
    columns: &Columns,
    line: u64,
    delimiter: u8,
    options: &ImportOptions,
    known: &[PublicationSlug],
    now: Timestamp,
) -> Result<ImportRow, Problem> {
    let raw_email = record
        .get(columns.email)
        .map(|b| String::from_utf8_lossy(b).trim().to_owned());
    let reject = |reason: String, norwegian: String| Problem {
        line,
        email: raw_email.clone().filter(|e| !e.is_empty()),
        kind: ProblemKind::Rejected { reason, norwegian },
    };

    let line_breaks = line_breaks(record);
    // Extra empty cells at the end are what spreadsheets leave behind; harmless.
    let meaningful = record.len() - record.iter().rev().take_while(|f| f.is_empty()).count();
    if meaningful > columns.count || record.len() < columns.count {
        if line_breaks > 0 {
            // A line feed swallowed at the very end of the file ends no line of its own.
            let last = line + line_breaks - u64::from(ends_with_line_feed(record));
            return Err(reject(
                format!(
                    "a double quote (\") is not closed: lines {line}–{last} were read as one row; close the quote and import again"
                ),
                format!(
                    "et anførselstegn (\") er ikke lukket: linje {line}–{last} ble lest som én rad; lukk anførselstegnet og importer igjen"
                ),
            ));
        }
        return Err(reject(
            format!(
                "the row has {} fields but the header has {}: a value containing {} must be in double quotes",
                record.len(),
                columns.count,
                DelimiterName(delimiter)
            ),
            format!(
                "raden har {} felt, men overskriftsraden har {}: en verdi som inneholder {} må stå i anførselstegn",
                record.len(),
                columns.count,
                DelimiterName(delimiter)
            ),
        ));
    }

    let cell = |index: Option<usize>| -> Result<String, Problem> {
        let Some(bytes) = index.and_then(|i| record.get(i)) else {
            return Ok(String::new());
        };
        let text = decode(bytes, options.encoding).map_err(|_| {
            reject(
                "the row is not UTF-8 text: save the file as UTF-8, or pass --encoding latin1"
                    .into(),
                "raden er ikke UTF-8-tekst: lagre filen som UTF-8 (CSV UTF-8 i Excel), eller velg tegnsettet fra eldre Excel".into(),
            )
        })?;
        Ok(strip_spreadsheet_guard(text.trim()).to_owned())
    };

    let email_text = cell(Some(columns.email))?;
    let email = EmailAddress::parse(&email_text)
        .map_err(|e| reject(format!("{e}: {email_text:?}"), e.norwegian()))?;
    let text_problem = |e: crate::domain::TextError| reject(e.to_string(), e.norwegian());
    let name = ContactName::parse(&cell(columns.name)?).map_err(text_problem)?;
    let organisation = Organisation::parse(&cell(columns.organisation)?).map_err(text_problem)?;
    let status = match cell(columns.status)? {
        s if s.is_empty() => options.status,
        s => s.parse().map_err(|e: crate::domain::UnknownStatus| {
            reject(
                e.to_string(),
                "ukjent status: bruk pending, confirmed, unsubscribed eller bounced".into(),
            )
        })?,
    };
    let at = match cell(columns.consent_date)? {
        s if s.is_empty() => now,
        s => Timestamp::parse_date(&s).map_err(|e| {
            reject(
                format!("consent date: {e}"),
                "samtykkedatoen kan ikke leses: skriv for eksempel 12.03.2025 eller 2025-03-12"
                    .into(),
            )
        })?,
    };
    let source = match cell(columns.consent_source)? {
        s if s.is_empty() => options.source,
        s => s
            .parse()
            .map_err(|e: crate::domain::UnknownConsentSource| {
                reject(
                    e.to_string(),
                    "ukjent samtykkekilde: bruk web, email-request, import eller staff".into(),
                )
            })?,
    };
    let note = match cell(columns.consent_note)? {
        s if s.is_empty() => options.note.clone(),
        s => ConsentNote::parse(&s).map_err(text_problem)?,
    };
    // "nyhetsbrev, rettsavgjorelser": the ones named; an empty cell, all of them.
    let publications_cell = cell(columns.publications)?;
    let publications = PublicationChoice::parse_list(&publications_cell)
        .ok()
        .filter(|choice| match choice {
            PublicationChoice::All => true,
            PublicationChoice::Only(slugs) => {
                slugs.iter().all(|s| known.contains(s))
            }
        })
        .ok_or_else(|| {
            let known = known
                .iter()
                .map(PublicationSlug::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            reject(
                format!(
                    "publications {publications_cell:?}: name publications from {known}, separated by commas (empty is all)"
                ),
                format!(
                    "publikasjonene «{publications_cell}» finnes ikke: bruk {known}, skilt med komma (tom celle betyr alle)"
                ),
            )
        })?;
    let consent = Consent { source, at, note };
    // An old list carries its sources over; its dates keep the rule every consent keeps.
    if let Some(problem) = consent.date_problem(now) {
        return Err(reject(
            format!("consent_date: {problem}"),
            format!("samtykkedato: {}", problem.norwegian()),
        ));
    }
    Ok(ImportRow {
        line,
        contact: NewContact {
            email,
            name,
            organisation,
            status,
            consent,
            publications,
        },
    })
}

#[cfg(test)]
mod tests;
