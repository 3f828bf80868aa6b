//! Word documents (.docx) as issues. The document is read into the same Markdown source
//! a staff member would write (so the issue model, the mail, the text twin and the web
//! version come from one parser, and staff can edit the result like any issue), and
//! everything that could not be carried over is listed by kind and place.
//!
//! - `package.rs`: the zip, with limits on size, entries and decompressed bytes.
//! - `xml.rs`: XML without DOCTYPE or entities, with a depth limit.
//! - `styles.rs`: headings by style name or outline level, lists, relationships.
//! - `body/`: the document's paragraphs, runs, links and fields, and what is left out (`fields.rs`: complex fields; `parts.rs`: title, notes, headers).
//! - `markdown/`: paragraphs → Markdown (`inline.rs`), and the front matter from KOM's front page (`front_page.rs`).

mod body;
mod markdown;
mod package;
mod styles;
mod xml;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use package::{MAX_DOCX_BYTES, MAX_ENTRIES, MAX_PART_BYTES, MAX_TOTAL_BYTES};
pub use xml::MAX_DEPTH;

/// What the staff member says beside the document; empty fields are read from it.
#[derive(Debug, Clone, Default)]
pub struct DocxOptions {
    pub slug: Option<String>,
    pub subject: Option<String>,
    pub period: Option<String>,
    pub preheader: Option<String>,
    pub audience: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    /// The publication's slug; the newsletter when not given.
    pub publication: Option<String>,
    /// Read tracked changes as accepted; otherwise the text before them is read and
    /// each change is reported.
    pub accept_changes: bool,
    /// The file's name, for a slug when the document gives no period.
    pub file_name: String,
}

/// The document as an issue source, and what was not carried over.
#[derive(Debug, Clone)]
pub struct Converted {
    /// Markdown with its front matter, as `issue import` reads it.
    pub source: String,
    pub report: Vec<Omission>,
}

/// Something in the document that the issue does not carry (or carries differently),
/// and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omission {
    pub kind: OmissionKind,
    pub place: Place,
    /// A little of its text, or a picture's description, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OmissionKind {
    Image,
    Chart,
    Shape,
    TextBox,
    EmbeddedObject,
    Equation,
    Table,
    Footnote,
    Endnote,
    Comment,
    PageHeader,
    PageFooter,
    TableOfContents,
    EmbeddedDocument,
    Symbol,
    HiddenText,
    TrackedInsertion,
    TrackedDeletion,
    InternalLink,
    LinkWithoutTarget,
    LinkInHeading,
    DeepHeading,
    FrontPageText,
    PreheaderFromTitles,
}

/// Where in the issue: on the front page (before the first Heading 1), or in a section
/// (numbered from 1) and perhaps an item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<(usize, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

impl OmissionKind {
    fn english(self) -> (&'static str, &'static str) {
        use OmissionKind::*;
        let left_out = "not carried over";
        match self {
            Image => ("image", left_out),
            Chart => ("chart", left_out),
            Shape => ("drawing", left_out),
            TextBox => ("text box", left_out),
            EmbeddedObject => ("embedded object", left_out),
            Equation => ("equation", left_out),
            Table => ("table", left_out),
            Footnote => ("footnote", left_out),
            Endnote => ("endnote", left_out),
            Comment => ("comment", left_out),
            PageHeader => ("page header", left_out),
            PageFooter => ("page footer", left_out),
            TableOfContents => (
                "table of contents",
                "not carried over (the mail makes its own)",
            ),
            EmbeddedDocument => ("embedded document", left_out),
            Symbol => ("symbol character", left_out),
            HiddenText => ("hidden text", left_out),
            TrackedInsertion => (
                "tracked insertion",
                "not carried over: the change is not accepted (accept it in Word, or import with --accept-changes)",
            ),
            TrackedDeletion => (
                "tracked deletion",
                "the deleted text is kept: the change is not accepted (accept it in Word, or import with --accept-changes)",
            ),
            InternalLink => (
                "link within the document",
                "its text is kept, without the link",
            ),
            LinkWithoutTarget => (
                "link without a target",
                "its text is kept, without the link",
            ),
            LinkInHeading => ("link in a heading", "its text is kept, without the link"),
            DeepHeading => (
                "heading below level 2",
                "made bold text (Heading 1 is a section, Heading 2 an item)",
            ),
            FrontPageText => (
                "text before the first Heading 1",
                "not carried over (only the title, period, audience, date and a preheader are read there)",
            ),
            PreheaderFromTitles => ("preheader", "made from the first item titles"),
        }
    }

    fn norwegian(self) -> (&'static str, &'static str) {
        use OmissionKind::*;
        let left_out = "ikke overført";
        let changes = "endringen er ikke godtatt (godta den i Word, eller last opp med «Godta sporede endringer»)";
        match self {
            Image => ("Bilde", left_out),
            Chart => ("Diagram", left_out),
            Shape => ("Tegning eller figur", left_out),
            TextBox => ("Tekstboks", left_out),
            EmbeddedObject => ("Innebygd objekt", left_out),
            Equation => ("Formel", left_out),
            Table => ("Tabell", left_out),
            Footnote => ("Fotnote", left_out),
            Endnote => ("Sluttnote", left_out),
            Comment => ("Kommentar", left_out),
            PageHeader => ("Topptekst", left_out),
            PageFooter => ("Bunntekst", left_out),
            TableOfContents => (
                "Innholdsfortegnelse",
                "ikke overført (e-posten lager sin egen)",
            ),
            EmbeddedDocument => ("Innebygd dokument", left_out),
            Symbol => ("Symboltegn", left_out),
            HiddenText => ("Skjult tekst", left_out),
            TrackedInsertion => ("Sporet innsetting", changes),
            TrackedDeletion => ("Sporet sletting", changes),
            InternalLink => (
                "Lenke til et sted i dokumentet",
                "teksten er med, uten lenken",
            ),
            LinkWithoutTarget => ("Lenke uten adresse", "teksten er med, uten lenken"),
            LinkInHeading => ("Lenke i en overskrift", "teksten er med, uten lenken"),
            DeepHeading => (
                "Overskrift under nivå 2",
                "gjort om til fet tekst (Overskrift 1 er en seksjon, Overskrift 2 en sak)",
            ),
            FrontPageText => (
                "Tekst før første Overskrift 1",
                "ikke overført (der leses bare tittel, periode, målgruppe, dato og ingress)",
            ),
            PreheaderFromTitles => ("Ingressen", "laget av de første sakstitlene"),
        }
    }
}

impl Place {
    fn english(&self) -> String {
        match (&self.section, &self.item) {
            (None, _) => "on the front page".into(),
            (Some((n, title)), None) => format!("in section {n} ({title:?})"),
            (Some((n, title)), Some(item)) => format!("in section {n} ({title:?}), item {item:?}"),
        }
    }

    fn norwegian(&self) -> String {
        match (&self.section, &self.item) {
            (None, _) => "på forsiden".into(),
            (Some((n, title)), None) => format!("i seksjon {n} «{title}»"),
            (Some((n, title)), Some(item)) => format!("i seksjon {n} «{title}», sak «{item}»"),
        }
    }
}

impl Omission {
    /// The line staff read in the web admin.
    pub fn norwegian(&self) -> String {
        if self.kind == OmissionKind::PreheaderFromTitles {
            return "Dokumentet har ingen ingress: den er laget av de første sakstitlene. Endre den gjerne.".into();
        }
        let (what, outcome) = self.kind.norwegian();
        let excerpt = self
            .excerpt
            .as_ref()
            .map(|e| format!(" «{e}»"))
            .unwrap_or_default();
        format!("{what}{excerpt} {}: {outcome}.", self.place.norwegian())
    }
}

impl fmt::Display for Omission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == OmissionKind::PreheaderFromTitles {
            return f.write_str(
                "the document has no preheader: it was made from the first item titles (change it, or give --preheader)",
            );
        }
        let (what, outcome) = self.kind.english();
        write!(f, "{what}")?;
        if let Some(excerpt) = &self.excerpt {
            write!(f, " {excerpt:?}")?;
        }
        write!(f, " {}: {outcome}", self.place.english())
    }
}

/// A link the issue cannot carry: only http, https and mailto are allowed, as in
/// Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLink {
    pub text: String,
    pub target: String,
    pub place: Place,
}

/// Why a file cannot be imported. Nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocxError {
    #[error("the file is {} MB: a Word document is at most {} MB (save pictures smaller, or leave them out)", .size / 1_000_000, MAX_DOCX_BYTES / 1_000_000)]
    TooLarge { size: usize },
    #[error(
        "the file is not a Word document (.docx): save it from Word as «Word Document (.docx)»"
    )]
    NotZip,
    #[error(
        "the document is protected by a password: remove the password in Word (File → Info → Protect Document) and save it again"
    )]
    PasswordProtected,
    #[error("the file is an old Word document (.doc): save it as «Word Document (.docx)»")]
    OldWordFormat,
    #[error("the file is an OpenDocument text (.odt): save it as «Word Document (.docx)»")]
    OpenDocument,
    #[error("the file is a zip archive but not a Word document: save the issue from Word as .docx")]
    NotWord,
    #[error(
        "the file has {entries} parts, more than the {} a document may have",
        MAX_ENTRIES
    )]
    TooManyEntries { entries: usize },
    #[error("the part {0} of the document is larger than {max} MB unpacked", max = MAX_PART_BYTES / 1_000_000)]
    PartTooLarge(String),
    #[error("the document's text is larger than {} MB unpacked", MAX_TOTAL_BYTES / 1_000_000)]
    TotalTooLarge,
    #[error("the part {0} of the document is damaged: open it in Word and save it again")]
    Damaged(String),
    #[error("the part {0} of the document is not UTF-8: open it in Word and save it again")]
    NotUtf8(String),
    #[error(
        "the part {0} of the document is not well-formed XML: open it in Word and save it again"
    )]
    Xml(String),
    #[error("the part {0} declares a DOCTYPE, which Word never writes: the file is refused")]
    Doctype(String),
    #[error("the part {0} uses an entity or character XML does not allow: the file is refused")]
    Entity(String),
    #[error("the part {0} nests elements more than {max} deep: the file is refused", max = MAX_DEPTH)]
    TooDeep(String),
    #[error(
        "the document has no headings: give each section's title the style Heading 1 («Overskrift 1») and each item's title Heading 2 («Overskrift 2»)"
    )]
    NoHeadings,
    #[error("{}", bad_links_english(.0))]
    Links(Vec<BadLink>),
}

fn bad_links_english(links: &[BadLink]) -> String {
    links
        .iter()
        .map(|l| {
            format!(
                "the link {:?} {} points to {:?}: only http, https and mailto links are allowed",
                l.text,
                l.place.english(),
                l.target
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl DocxError {
    /// The error in bokmål, for staff.
    pub fn norwegian(&self) -> String {
        match self {
            DocxError::TooLarge { size } => format!(
                "Filen er {} MB. Et Word-dokument kan være høyst {} MB: gjør bildene mindre eller ta dem ut.",
                size / 1_000_000,
                MAX_DOCX_BYTES / 1_000_000
            ),
            DocxError::NotZip => "Filen er ikke et Word-dokument (.docx). Lagre den fra Word som «Word-dokument (.docx)».".into(),
            DocxError::PasswordProtected => "Dokumentet er beskyttet med passord. Fjern passordet i Word (Fil → Info → Beskytt dokument) og lagre det på nytt.".into(),
            DocxError::OldWordFormat => "Filen er et gammelt Word-dokument (.doc). Lagre den som «Word-dokument (.docx)».".into(),
            DocxError::OpenDocument => "Filen er et OpenDocument-dokument (.odt). Lagre den som «Word-dokument (.docx)».".into(),
            DocxError::NotWord => "Filen er et zip-arkiv, men ikke et Word-dokument. Lagre utgaven fra Word som .docx.".into(),
            DocxError::TooManyEntries { .. } => "Filen har for mange deler til å være et Word-dokument.".into(),
            DocxError::PartTooLarge(_) | DocxError::TotalTooLarge => format!(
                "Dokumentets tekst er over {} MB utpakket. Det er for stort for en utgave.",
                MAX_TOTAL_BYTES / 1_000_000
            ),
            DocxError::Damaged(_) | DocxError::NotUtf8(_) | DocxError::Xml(_) => {
                "Dokumentet er skadet. Åpne det i Word og lagre det på nytt.".into()
            }
            DocxError::Doctype(_) | DocxError::Entity(_) | DocxError::TooDeep(_) => {
                "Dokumentet inneholder noe Word aldri skriver, og blir avvist. Åpne det i Word og lagre det på nytt.".into()
            }
            DocxError::NoHeadings => "Dokumentet har ingen overskrifter. Gi hver seksjons tittel stilen «Overskrift 1» og hver saks tittel stilen «Overskrift 2».".into(),
            DocxError::Links(links) => links
                .iter()
                .map(|l| {
                    format!(
                        "Lenken «{}» {} peker til «{}»: bare http-, https- og mailto-lenker er tillatt.",
                        l.text,
                        l.place.norwegian(),
                        l.target
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// Whether an uploaded or named file is meant as a Word document: by its name, or by its
/// first bytes (a zip, or the compound file of an encrypted or old document).
pub fn is_word_document(file_name: &str, head: &[u8]) -> bool {
    let lower = file_name.to_lowercase();
    [".docx", ".docm", ".dotx", ".doc"]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || head.starts_with(b"PK\x03\x04")
        || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// Reads a .docx into an issue source and the report of what was not carried over.
pub fn convert(bytes: &[u8], options: &DocxOptions) -> Result<Converted, DocxError> {
    let mut package = package::Package::open(bytes)?;
    let document = body::read(&mut package, options.accept_changes)?;
    markdown::source(document, options)
}
