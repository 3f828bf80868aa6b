//! Reading the file: line numbers that survive csv's buffering, the delimiter, the
//! header, and Windows-1252 text.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

use super::{DelimiterName, Encoding, ImportError};

/// The fields a header may name, with the spellings staff are likely to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
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
    pub(super) fn from_header(cell: &str) -> Option<Field> {
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
pub(super) struct Columns {
    pub(super) count: usize,
    pub(super) email: usize,
    pub(super) name: Option<usize>,
    pub(super) organisation: Option<usize>,
    pub(super) status: Option<usize>,
    pub(super) consent_date: Option<usize>,
    pub(super) consent_source: Option<usize>,
    pub(super) consent_note: Option<usize>,
    pub(super) publications: Option<usize>,
    pub(super) ignored: Vec<String>,
}

/// Where the newlines of the input are, so a record's line number can be told exactly.
///
/// csv's own record positions count blank lines skipped before a record, and count a
/// CRLF's line feed only when the next record is read. Instead, this adapter notes the
/// offset of every `\n` as bytes pass through; offsets the reader has moved past are
/// dropped and only counted, so memory stays flat.
pub(super) struct NewlineIndex {
    pub(super) passed: u64,
    pub(super) ahead: VecDeque<u64>,
    pub(super) offset: u64,
}

impl NewlineIndex {
    /// Newlines before byte `position` (which never decreases between calls).
    fn newlines_before(&mut self, position: u64) -> u64 {
        while self.ahead.front().is_some_and(|&at| at < position) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed
    }

    fn is_newline_at(&mut self, position: u64) -> bool {
        self.newlines_before(position);
        self.ahead.front() == Some(&position)
    }
}

pub(super) struct Indexed<R> {
    pub(super) inner: R,
    pub(super) index: Rc<RefCell<NewlineIndex>>,
}

impl<R: Read> Read for Indexed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut index = self.index.borrow_mut();
        let start = index.offset;
        index.ahead.extend(
            buf[..n]
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| start + i as u64),
        );
        index.offset += n as u64;
        Ok(n)
    }
}

/// The line where `record`, just read, starts: the line where it ended, less the line
/// breaks inside its quoted fields.
pub(super) fn start_line(end_byte: u64, index: &mut NewlineIndex, record: &csv::ByteRecord) -> u64 {
    let ended_by_line_feed = end_byte > 0 && index.is_newline_at(end_byte - 1);
    let content_end = if ended_by_line_feed {
        end_byte - 1
    } else {
        end_byte
    };
    let end_line = 1 + index.newlines_before(content_end);
    let mut breaks = line_breaks(record);
    // An unclosed quote at the end of the file swallows the final line feed into the
    // field; it is then counted as the terminator above already.
    if ended_by_line_feed && ends_with_line_feed(record) {
        breaks = breaks.saturating_sub(1);
    }
    end_line.saturating_sub(breaks)
}

/// True when the record's last field ends in a line feed (an unclosed quote at EOF).
pub(super) fn ends_with_line_feed(record: &csv::ByteRecord) -> bool {
    record
        .iter()
        .next_back()
        .is_some_and(|field| field.ends_with(b"\n"))
}

pub(super) fn line_breaks(record: &csv::ByteRecord) -> u64 {
    record.iter().flatten().filter(|&&b| b == b'\n').count() as u64
}

/// The most frequent of `,` `;` and tab in the header line; `,` when none appears.
/// Norwegian Excel writes `;`, most other tools `,`.
pub(super) fn detect_delimiter(header: &[u8]) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .map(|d| (header.iter().filter(|&&b| b == d).count(), d))
        .filter(|&(count, _)| count > 0)
        .max_by_key(|&(count, d)| (count, d == b','))
        .map_or(b',', |(_, d)| d)
}

pub(super) fn parse_header(
    record: &csv::ByteRecord,
    delimiter: u8,
    encoding: Encoding,
) -> Result<Columns, ImportError> {
    let mut columns = Columns {
        count: record.len(),
        ..Default::default()
    };
    let mut email = None;
    for (i, raw) in record.iter().enumerate() {
        let cell = decode(raw, encoding).map_err(|_| ImportError::HeaderEncoding)?;
        let Some(field) = Field::from_header(&cell) else {
            if !cell.trim().is_empty() {
                columns.ignored.push(cell.trim().to_owned());
            }
            continue;
        };
        let slot = match field {
            Field::Email => &mut email,
            Field::Name => &mut columns.name,
            Field::Organisation => &mut columns.organisation,
            Field::Status => &mut columns.status,
            Field::ConsentDate => &mut columns.consent_date,
            Field::ConsentSource => &mut columns.consent_source,
            Field::ConsentNote => &mut columns.consent_note,
            Field::Publications => &mut columns.publications,
        };
        if slot.replace(i).is_some() {
            return Err(ImportError::DuplicateColumn(field.label()));
        }
    }
    columns.email = email.ok_or_else(|| ImportError::NoEmailColumn {
        header: record
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(&(delimiter as char).to_string()),
        delimiter: DelimiterName(delimiter),
    })?;
    Ok(columns)
}

pub(super) fn decode(
    bytes: &[u8],
    encoding: Encoding,
) -> Result<std::borrow::Cow<'_, str>, std::str::Utf8Error> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(Into::into),
        Encoding::Latin1 => Ok(bytes
            .iter()
            .map(|&b| windows_1252(b))
            .collect::<String>()
            .into()),
    }
}

/// Windows-1252, the "Latin-1" that Windows programs write: ISO-8859-1 except for
/// 0x80–0x9F, which hold typographic characters instead of C1 controls.
pub(super) fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}
