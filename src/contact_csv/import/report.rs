//! What an import tells its caller: the rows not imported as new, the summary, and why
//! a whole file was refused.

use std::fmt;

use serde::Serialize;

use crate::store::StoreError;

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
