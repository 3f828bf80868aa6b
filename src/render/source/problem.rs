//! What a source can be refused for, and what staff are told about it.

use std::fmt;

use super::MAX_SOURCE_BYTES;
use crate::domain::Slug;

/// Why a source file cannot become an issue: every problem found, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: String,
    /// Never empty.
    pub problems: Vec<SourceProblem>,
}

impl std::error::Error for SourceError {}

impl fmt::Display for SourceError {
    /// One problem per line: `file:line: what to change`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{}: {}", self.file, problem.line, problem.kind)?;
        }
        Ok(())
    }
}

/// One problem, and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    pub line: usize,
    pub kind: Problem,
}

/// What is wrong. `Display` is the command line's English; [`Problem::norwegian`] is
/// what staff read in the web admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    TooLarge,
    NoFrontMatter,
    FrontMatterNotClosed,
    /// The TOML parser's own message.
    FrontMatterSyntax(String),
    FieldEmpty(&'static str),
    FieldNotOneLine(&'static str),
    FieldTooLong(&'static str, usize),
    /// Bidirectional override or isolate characters, which can make text read as
    /// something else than it is (in a subject, or a link's text).
    FieldBidi(&'static str),
    BodyBidi,
    BadSlug(String),
    BadPublication(String),
    BadDate,
    NoSections,
    /// An announcement with neither paragraphs nor sections.
    EmptyAnnouncement,
    /// An announcement without its prominent link.
    NoAnnouncementLink,
    /// `link` in a newsletter, which has none.
    LinkInNewsletter,
    /// The announcement's link is not an absolute http(s) address.
    BadAnnouncementLink(String),
    TitleHeading,
    EmptySectionHeading,
    EmptyItemHeading,
    ItemBeforeSection,
    OtherHeading,
    TextBeforeSection,
    EmptySection(String),
    Image,
    LinkWithoutText(String),
    LinkScheme {
        text: String,
        scheme: String,
    },
    LinkNotAddress {
        text: String,
        url: String,
    },
}

impl Problem {
    /// The front-matter key the problem is about, if it is about one: a form shows it
    /// next to that field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Problem::FieldEmpty(key) | Problem::FieldNotOneLine(key) | Problem::FieldBidi(key) => {
                Some(key)
            }
            Problem::FieldTooLong(key, _) => Some(key),
            Problem::BadSlug(_) => Some("slug"),
            Problem::BadPublication(_) => Some("publication"),
            Problem::NoAnnouncementLink
            | Problem::LinkInNewsletter
            | Problem::BadAnnouncementLink(_) => Some("link"),
            Problem::BadDate => Some("date"),
            _ => None,
        }
    }

    /// The problem in bokmål, for staff.
    pub fn norwegian(&self) -> String {
        let field = |key: &str| match key {
            "slug" => "Kortnavnet",
            "subject" => "Emnet",
            "period" => "Perioden",
            "preheader" => "Ingressen",
            "audience" => "Målgruppen",
            "link" => "Lenken",
            "link_text" => "Lenketeksten",
            _ => "Feltet",
        };
        match self {
            Problem::TooLarge => format!(
                "Teksten er for lang: en utgave kan være høyst {} KiB.",
                MAX_SOURCE_BYTES / 1024
            ),
            Problem::NoFrontMatter => {
                "Filen må begynne med en forside mellom to linjer med +++, med feltene slug (kortnavnet), subject (emnet), period (perioden) og preheader (ingressen).".into()
            }
            Problem::FrontMatterNotClosed => {
                "Forsiden er ikke avsluttet: legg til en linje med +++ etter den.".into()
            }
            Problem::FrontMatterSyntax(message) => format!("Feil i forsiden: {message}"),
            Problem::FieldEmpty(key) => format!("{} må fylles ut.", field(key)),
            Problem::FieldNotOneLine(key) => format!(
                "{} må være én linje uten kontrolltegn.",
                field(key)
            ),
            Problem::FieldTooLong(key, max) => {
                format!("{} kan være høyst {max} tegn.", field(key))
            }
            Problem::FieldBidi(key) => format!(
                "{} inneholder usynlige tegn som snur skriveretningen og kan skjule hva som står. Skriv teksten inn på nytt uten dem.",
                field(key)
            ),
            Problem::BodyBidi => "Linjen inneholder usynlige tegn som snur skriveretningen og kan skjule hva som står. Skriv linjen inn på nytt uten dem.".into(),
            Problem::BadSlug(_) => format!(
                "Kortnavnet kan bare ha små bokstaver a–z, tall og bindestrek (1–{} tegn), for eksempel «2025-q1».",
                Slug::MAX_LEN
            ),
            Problem::BadPublication(slug) => format!(
                "Publikasjonen «{slug}» finnes ikke: velg en av publikasjonene, for eksempel «{}».",
                crate::domain::DEFAULT_PUBLICATION
            ),
            Problem::BadDate => "Datoen må være en dag, for eksempel 2025-04-10.".into(),
            Problem::NoSections => {
                "Utgaven har ingen seksjoner: begynn en med en overskrift på formen «## Tittel».".into()
            }
            Problem::EmptyAnnouncement => {
                "Kunngjøringen har ingen tekst: skriv noen avsnitt om det du sender ut.".into()
            }
            Problem::NoAnnouncementLink => {
                "En kunngjøring har én tydelig lenke, for eksempel til rapporten som PDF: fyll inn lenken.".into()
            }
            Problem::LinkInNewsletter => {
                "Nyhetsbrev har ingen egen hovedlenke (den er for kunngjøringer): legg lenken i teksten.".into()
            }
            Problem::BadAnnouncementLink(url) => format!(
                "Lenken «{url}» er ikke en hel nettadresse: skriv den med https:// foran."
            ),
            Problem::TitleHeading => {
                "Overskrifter med én # brukes ikke (emnet er tittelen): bruk ## for seksjoner og ### for saker.".into()
            }
            Problem::EmptySectionHeading => "En ##-overskrift (seksjon) er tom.".into(),
            Problem::EmptyItemHeading => "En ###-overskrift (sak) er tom.".into(),
            Problem::ItemBeforeSection => {
                "En ###-sak kommer før den første ##-seksjonen.".into()
            }
            Problem::OtherHeading => {
                "Bare ## (seksjoner) og ### (saker) brukes som overskrifter: gjør dette til fet tekst eller en ###-sak.".into()
            }
            Problem::TextBeforeSection => {
                "Tekst før den første seksjonen: begynn utgaven med en ##-overskrift.".into()
            }
            Problem::EmptySection(title) => {
                format!("Seksjonen «{title}» er tom: legg til ###-saker eller fjern den.")
            }
            Problem::Image => {
                "Bilder kan ikke brukes i utgaver: lenk til bildet i stedet.".into()
            }
            Problem::LinkWithoutText(url) => format!("Lenken til {url} har ingen tekst."),
            Problem::LinkScheme { text, scheme } => format!(
                "Lenken «{text}» bruker {scheme}: bare http-, https- og mailto-lenker er tillatt."
            ),
            Problem::LinkNotAddress { text, url } => format!(
                "Lenken «{text}» peker til «{url}»: skriv en hel adresse som begynner med https://."
            ),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooLarge => write!(f, "the file is larger than {} KiB", MAX_SOURCE_BYTES / 1024),
            Problem::NoFrontMatter => f.write_str("the file must start with a front matter between +++ lines (slug, subject, period, preheader)"),
            Problem::FrontMatterNotClosed => f.write_str("the front matter is not closed: add a line with +++ after it"),
            Problem::FrontMatterSyntax(message) => write!(f, "front matter: {message}"),
            Problem::FieldEmpty(key) => write!(f, "front matter: {key} is empty"),
            Problem::FieldNotOneLine(key) => write!(f, "front matter: {key} must be one line without control characters"),
            Problem::FieldTooLong(key, max) => write!(f, "front matter: {key} is longer than {max} characters"),
            Problem::FieldBidi(key) => write!(f, "front matter: {key} holds bidirectional override characters, which can disguise text: remove them"),
            Problem::BodyBidi => f.write_str("the line holds bidirectional override characters, which can disguise text: remove them"),
            Problem::BadSlug(message) => write!(f, "front matter: {message}"),
            Problem::BadPublication(slug) => write!(f, "front matter: publication {slug:?} must be a publication's slug, such as \"{}\" (`nyhetsbrev publications list` shows them)", crate::domain::DEFAULT_PUBLICATION),
            Problem::BadDate => f.write_str("front matter: date must be a day such as 2024-04-15"),
            Problem::NoSections => f.write_str("the issue has no sections: start one with a ## heading"),
            Problem::EmptyAnnouncement => f.write_str("the announcement has no text: write a few paragraphs about what it announces"),
            Problem::NoAnnouncementLink => f.write_str("front matter: an announcement needs its link (link = \"https://…\", and link_text), such as the report's PDF"),
            Problem::LinkInNewsletter => f.write_str("front matter: link and link_text are for announcements; a newsletter's links go in its text"),
            Problem::BadAnnouncementLink(url) => write!(f, "front matter: link {url:?} must be a full http or https address"),
            Problem::TitleHeading => f.write_str("# headings are not used: the subject is the title; use ## for sections and ### for items"),
            Problem::EmptySectionHeading => f.write_str("a ## section heading is empty"),
            Problem::EmptyItemHeading => f.write_str("a ### item heading is empty"),
            Problem::ItemBeforeSection => f.write_str("a ### item comes before the first ## section"),
            Problem::OtherHeading => f.write_str("only ## (sections) and ### (items) headings are used; make this bold text or a ### item"),
            Problem::TextBeforeSection => f.write_str("text before the first ## section: start the issue with a ## heading"),
            Problem::EmptySection(title) => write!(f, "section \"{title}\" is empty: add ### items or remove it"),
            Problem::Image => f.write_str("images are not supported in issues: link to the picture instead"),
            Problem::LinkWithoutText(url) => write!(f, "the link to {url} has no text"),
            Problem::LinkScheme { text, scheme } => write!(f, "the link \"{text}\" uses {scheme}: only http, https and mailto links are allowed"),
            Problem::LinkNotAddress { text, url } => write!(f, "the link \"{text}\" points to {url:?}: write a full address starting with https://"),
        }
    }
}

/// Something staff should know about that did not stop the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNote {
    pub line: usize,
    pub kind: NoteKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    RawHtml,
}

impl NoteKind {
    pub fn norwegian(self) -> &'static str {
        match self {
            NoteKind::RawHtml => "HTML vises som tekst, ikke som HTML.",
        }
    }
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoteKind::RawHtml => f.write_str("raw HTML is shown as text, not passed through"),
        }
    }
}

impl fmt::Display for SourceNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}
