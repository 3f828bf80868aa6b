//! The reading thread: the file into batches of parsed rows, each row checked as it is
//! read, handed to the database side over a bounded channel.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use tokio::sync::mpsc;

use super::read::*;
use super::strip_spreadsheet_guard;
use super::{DelimiterName, ImportError, ImportOptions, Problem, ProblemKind};
use crate::domain::{
    Consent, ConsentNote, ContactName, EmailAddress, NewContact, Organisation, PublicationChoice,
    PublicationSlug, Timestamp,
};
use crate::store::{IMPORT_BATCH_ROWS, ImportRow};

/// Sent from the reading thread to the database side.
pub(super) enum Parsed {
    Header {
        delimiter: u8,
        ignored_columns: Vec<String>,
    },
    Batch(Batch),
    Failed(ImportError),
}

pub(super) struct Batch {
    pub(super) rows: Vec<ImportRow>,
    /// Rows rejected while reading.
    pub(super) problems: Vec<Problem>,
    pub(super) rows_read: u64,
    pub(super) blank_rows: u64,
    pub(super) bytes: u64,
}

/// Runs on a blocking thread: reads the file and sends the header, then batches.
pub(super) fn read_file<R: Read>(
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
