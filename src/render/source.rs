//! Issue source: a TOML front matter between `+++` lines, then Markdown.
//!
//! `##` headings are sections, `###` headings are items. Every problem names the file,
//! the line and what to change, and the parser goes on past a problem so that staff see
//! all of them at once. Raw HTML is never passed through: it is shown as text, and a
//! note says where.

use std::collections::HashSet;
use std::fmt;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use crate::domain::{
    Block, CallToAction, Inline, Issue, IssueMeta, Item, PublicationKind, PublicationSlug, Section,
    Slug,
};

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
                "Filen må begynne med en forside mellom to linjer med +++ (slug, subject, period, preheader).".into()
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

#[derive(Debug)]
pub struct Parsed {
    pub issue: Issue,
    pub notes: Vec<SourceNote>,
}

/// The largest source accepted: a quarterly issue is tens of kilobytes.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    slug: String,
    subject: String,
    period: String,
    preheader: String,
    audience: Option<String>,
    date: Option<DateValue>,
    /// The publication's slug; the newsletter when absent.
    publication: Option<String>,
    /// An announcement's prominent link, and its text.
    link: Option<String>,
    link_text: Option<String>,
}

/// A date as TOML writes one, or text that should have been one (refused with its line,
/// not as a syntax error, so the other fields are still checked).
#[derive(Deserialize)]
#[serde(untagged)]
enum DateValue {
    Date(toml::value::Datetime),
    Text(String),
}

/// The front matter as text fields and the Markdown body after it: what a form shows
/// when a stored issue is edited. `None` when the source has no readable front matter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceParts {
    pub slug: String,
    pub subject: String,
    pub period: String,
    pub preheader: String,
    pub audience: String,
    /// The publication's slug; empty is the newsletter.
    pub publication: String,
    /// An announcement's prominent link and its text; empty for a newsletter.
    pub link: String,
    pub link_text: String,
    /// `YYYY-MM-DD`, or empty.
    pub date: String,
    pub body: String,
}

impl SourceParts {
    /// Reads a source back into its fields.
    pub fn split(source: &str) -> Option<SourceParts> {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let (front_text, body_start) = front_matter_span(source).ok()?;
        let front: FrontMatter = toml::from_str(&source[front_text.0..front_text.1]).ok()?;
        Some(SourceParts {
            slug: front.slug,
            subject: front.subject,
            period: front.period,
            preheader: front.preheader,
            audience: front.audience.unwrap_or_default(),
            publication: front.publication.unwrap_or_default(),
            link: front.link.unwrap_or_default(),
            link_text: front.link_text.unwrap_or_default(),
            date: match front.date {
                Some(DateValue::Date(d)) => d.to_string(),
                Some(DateValue::Text(t)) => t,
                None => String::new(),
            },
            body: source[body_start..].to_owned(),
        })
    }

    /// The source these fields make: a front matter staff never type, then the body.
    /// Values are written as TOML basic strings, so any text survives unchanged to be
    /// checked by [`parse_issue`]; a date that is not `YYYY-MM-DD` is written as a
    /// string, which the parser refuses with its line.
    pub fn to_source(&self) -> String {
        let mut out = self.front_matter();
        out.push_str(&self.body);
        out
    }

    /// How many lines come before the body in [`SourceParts::to_source`]: a problem on
    /// source line `n` is on line `n - offset` of the body.
    pub fn body_line_offset(&self) -> usize {
        self.front_matter().matches('\n').count()
    }

    fn front_matter(&self) -> String {
        let mut out = String::from("+++\n");
        for (key, value) in [
            ("slug", &self.slug),
            ("subject", &self.subject),
            ("period", &self.period),
            ("preheader", &self.preheader),
        ] {
            out.push_str(&format!("{key} = {}\n", toml_string(value)));
        }
        if !self.audience.trim().is_empty() {
            out.push_str(&format!("audience = {}\n", toml_string(&self.audience)));
        }
        // The newsletter is the default: its sources stay as they always were.
        let publication = self.publication.trim();
        if !publication.is_empty() && publication != crate::domain::DEFAULT_PUBLICATION {
            out.push_str(&format!("publication = {}\n", toml_string(publication)));
        }
        for (key, value) in [("link", &self.link), ("link_text", &self.link_text)] {
            if !value.trim().is_empty() {
                out.push_str(&format!("{key} = {}\n", toml_string(value)));
            }
        }
        let date = self.date.trim();
        if !date.is_empty() {
            let is_day = date.len() == 10
                && date.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                });
            if is_day {
                out.push_str(&format!("date = {date}\n"));
            } else {
                out.push_str(&format!("date = {}\n", toml_string(date)));
            }
        }
        out.push_str("+++\n");
        out
    }
}

pub use crate::domain::is_bidi_control;

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The front matter's text (start, end) and where the body starts, or the problem.
fn front_matter_span(source: &str) -> Result<((usize, usize), usize), Problem> {
    let mut lines = source.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("+++") {
        return Err(Problem::NoFrontMatter);
    }
    let front_start = source.find('\n').map_or(source.len(), |i| i + 1);
    let mut offset = front_start;
    for line in lines {
        if line.trim_end() == "+++" {
            return Ok(((front_start, offset), offset + line.len()));
        }
        offset += line.len();
    }
    Err(Problem::FrontMatterNotClosed)
}

/// Problems found so far, and the file they are in.
struct Problems {
    file: String,
    found: Vec<SourceProblem>,
}

impl Problems {
    fn add(&mut self, line: usize, kind: Problem) {
        self.found.push(SourceProblem { line, kind });
    }

    fn into_error(mut self) -> SourceError {
        self.found.sort_by_key(|p| p.line);
        SourceError {
            file: self.file,
            problems: self.found,
        }
    }
}

/// Parses a newsletter's source (the default publication's kind).
pub fn parse_issue(file: &str, source: &str) -> Result<Parsed, SourceError> {
    parse_issue_as(file, source, PublicationKind::Newsletter)
}

/// Parses a source for a publication of `kind`: a newsletter is sections with items;
/// an announcement is paragraphs (sections allowed) and one prominent link.
pub fn parse_issue_as(
    file: &str,
    source: &str,
    kind: PublicationKind,
) -> Result<Parsed, SourceError> {
    let announcement = kind == PublicationKind::Announcement;
    let mut problems = Problems {
        file: file.to_owned(),
        found: Vec::new(),
    };
    if source.len() > MAX_SOURCE_BYTES {
        problems.add(1, Problem::TooLarge);
        return Err(problems.into_error());
    }
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);

    // Front matter: "+++" on the first line, up to the next line that is "+++".
    let ((front_start, front_end), body_start) = match front_matter_span(source) {
        Ok(span) => span,
        Err(problem) => {
            problems.add(1, problem);
            return Err(problems.into_error());
        }
    };
    let front_text = &source[front_start..front_end];
    let line_of = |byte: usize| source[..byte.min(source.len())].matches('\n').count() + 1;
    let meta = front_matter(front_text, front_start, &line_of, &mut problems, kind);

    // The body is read even when the front matter has problems: all are shown at once.
    let body = &source[body_start..];
    let first_body_line = line_of(body_start);
    for (i, line) in body.lines().enumerate() {
        if line.chars().any(is_bidi_control) {
            problems.add(first_body_line + i, Problem::BodyBidi);
        }
    }
    let mut notes = Vec::new();
    let nodes = tree(body, body_start);
    let mut builder = Builder {
        line_of: &line_of,
        problems: &mut problems,
        notes: &mut notes,
        intro: announcement.then(Vec::new),
    };
    let sections = builder.sections(nodes);
    let intro = builder.intro.take().unwrap_or_default();
    if sections.is_empty() && intro.is_empty() && problems.found.is_empty() {
        let problem = if announcement {
            Problem::EmptyAnnouncement
        } else {
            Problem::NoSections
        };
        problems.add(line_of(body_start), problem);
    }
    match meta {
        Some(meta) if problems.found.is_empty() => Ok(Parsed {
            issue: Issue {
                meta,
                intro,
                sections,
            },
            notes,
        }),
        _ => Err(problems.into_error()),
    }
}

/// The front matter's fields, each checked; `None` when any has a problem (recorded).
fn front_matter(
    front_text: &str,
    front_start: usize,
    line_of: &dyn Fn(usize) -> usize,
    problems: &mut Problems,
    kind: PublicationKind,
) -> Option<IssueMeta> {
    let front: FrontMatter = match toml::from_str(front_text) {
        Ok(front) => front,
        Err(e) => {
            let line = e.span().map_or(2, |span| line_of(front_start + span.start));
            problems.add(
                line,
                Problem::FrontMatterSyntax(e.message().trim_end().to_owned()),
            );
            return None;
        }
    };
    let key_line = |key: &str| {
        front_text
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(2, |i| i + 2)
    };
    let before = problems.found.len();
    let mut one_line = |key: &'static str, value: String, max: usize| -> String {
        let value = value.trim().to_owned();
        let problem = if value.is_empty() {
            Some(Problem::FieldEmpty(key))
        } else if value.chars().any(char::is_control) {
            Some(Problem::FieldNotOneLine(key))
        } else if value.chars().any(is_bidi_control) {
            Some(Problem::FieldBidi(key))
        } else if value.chars().count() > max {
            Some(Problem::FieldTooLong(key, max))
        } else {
            None
        };
        if let Some(problem) = problem {
            problems.add(key_line(key), problem);
        }
        value
    };
    let subject = one_line("subject", front.subject, 200);
    let period = one_line("period", front.period, 100);
    let preheader = one_line("preheader", front.preheader, 200);
    let audience = front.audience.map(|a| one_line("audience", a, 200));
    let link_text = front
        .link_text
        .map(|t| one_line("link_text", t, 100))
        .filter(|t| !t.is_empty());
    let slug = Slug::parse(&front.slug)
        .map_err(|m| problems.add(key_line("slug"), Problem::BadSlug(m)))
        .ok();
    let link = match (kind, front.link) {
        (PublicationKind::Newsletter, None) => {
            if link_text.is_some() {
                problems.add(key_line("link_text"), Problem::LinkInNewsletter);
            }
            None
        }
        (PublicationKind::Newsletter, Some(_)) => {
            problems.add(key_line("link"), Problem::LinkInNewsletter);
            None
        }
        (PublicationKind::Announcement, None) => {
            problems.add(1, Problem::NoAnnouncementLink);
            None
        }
        (PublicationKind::Announcement, Some(url)) => {
            let url = url.trim().to_owned();
            let absolute = url::Url::parse(&url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if absolute && !url.chars().any(char::is_control) {
                Some(CallToAction {
                    text: link_text.unwrap_or_else(|| "Les mer".to_owned()),
                    url,
                })
            } else {
                problems.add(key_line("link"), Problem::BadAnnouncementLink(url));
                None
            }
        }
    };
    let publication = match front.publication {
        None => Some(PublicationSlug::default_publication()),
        Some(p) => PublicationSlug::parse(&p)
            .map_err(|_| problems.add(key_line("publication"), Problem::BadPublication(p)))
            .ok(),
    };
    let date = front
        .date
        .map(|d| match d {
            DateValue::Date(toml::value::Datetime {
                date: Some(date),
                time: None,
                ..
            }) => time::Date::from_calendar_date(
                i32::from(date.year),
                time::Month::try_from(date.month).map_err(|_| ())?,
                date.day,
            )
            .map_err(|_| ()),
            _ => Err(()),
        })
        .transpose()
        .map_err(|()| problems.add(key_line("date"), Problem::BadDate))
        .ok()
        .flatten();
    if problems.found.len() > before {
        return None;
    }
    Some(IssueMeta {
        slug: slug?,
        publication: publication?,
        subject,
        period,
        preheader,
        audience,
        date,
        link,
    })
}
/// A Markdown element with its children, and where it starts in the file.
#[derive(Debug)]
struct Node {
    kind: Kind,
    at: usize,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Kind {
    Heading(HeadingLevel),
    Paragraph,
    List(Option<u64>),
    ListItem,
    Quote,
    CodeBlock,
    HtmlBlock,
    Table,
    TableHead,
    TableRow,
    TableCell,
    Emphasis,
    Strong,
    Strikethrough,
    Link(String),
    Image,
    Text(String),
    Code(String),
    Html(String),
    SoftBreak,
    HardBreak,
    /// Footnotes, rules and other elements an issue does not use.
    Other,
}

/// Folds pulldown-cmark's event stream into a tree, which is easier to walk.
fn tree(body: &str, base: usize) -> Vec<Node> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut stack: Vec<Node> = vec![Node {
        kind: Kind::Other,
        at: base,
        children: Vec::new(),
    }];
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        let at = base + range.start;
        let leaf = |kind| Node {
            kind,
            at,
            children: Vec::new(),
        };
        match event {
            Event::Start(tag) => {
                let kind = match tag {
                    Tag::Heading { level, .. } => Kind::Heading(level),
                    Tag::Paragraph => Kind::Paragraph,
                    Tag::List(start) => Kind::List(start),
                    Tag::Item => Kind::ListItem,
                    Tag::BlockQuote(_) => Kind::Quote,
                    Tag::CodeBlock(_) => Kind::CodeBlock,
                    Tag::HtmlBlock => Kind::HtmlBlock,
                    Tag::Table(_) => Kind::Table,
                    Tag::TableHead => Kind::TableHead,
                    Tag::TableRow => Kind::TableRow,
                    Tag::TableCell => Kind::TableCell,
                    Tag::Emphasis => Kind::Emphasis,
                    Tag::Strong => Kind::Strong,
                    Tag::Strikethrough => Kind::Strikethrough,
                    Tag::Link { dest_url, .. } => Kind::Link(dest_url.into_string()),
                    Tag::Image { .. } => Kind::Image,
                    _ => Kind::Other,
                };
                stack.push(leaf(kind));
            }
            Event::End(_) => {
                let node = stack.pop().expect("balanced events");
                stack.last_mut().expect("root").children.push(node);
            }
            Event::Text(t) => stack
                .last_mut()
                .expect("root")
                .children
                .push(leaf(Kind::Text(t.into_string()))),
            Event::Code(t) => stack
                .last_mut()
                .expect("root")
                .children
                .push(leaf(Kind::Code(t.into_string()))),
            Event::Html(t) | Event::InlineHtml(t) => {
                stack
                    .last_mut()
                    .expect("root")
                    .children
                    .push(leaf(Kind::Html(t.into_string())));
            }
            Event::SoftBreak => stack
                .last_mut()
                .expect("root")
                .children
                .push(leaf(Kind::SoftBreak)),
            Event::HardBreak => stack
                .last_mut()
                .expect("root")
                .children
                .push(leaf(Kind::HardBreak)),
            _ => stack
                .last_mut()
                .expect("root")
                .children
                .push(leaf(Kind::Other)),
        }
    }
    let _ = TagEnd::Paragraph; // the end tags carry nothing we need
    stack.pop().map(|root| root.children).unwrap_or_default()
}

struct Builder<'a> {
    line_of: &'a dyn Fn(usize) -> usize,
    problems: &'a mut Problems,
    notes: &'a mut Vec<SourceNote>,
    /// An announcement's text before any section; `None` for a newsletter, whose text
    /// must start with a section.
    intro: Option<Vec<Block>>,
}

impl Builder<'_> {
    /// Records a problem at byte `at`; the caller goes on with the next element.
    fn problem(&mut self, at: usize, kind: Problem) {
        let line = (self.line_of)(at);
        self.problems.add(line, kind);
    }

    fn sections(&mut self, nodes: Vec<Node>) -> Vec<Section> {
        let mut sections: Vec<(usize, Section)> = Vec::new();
        let mut anchors = HashSet::new();
        for node in nodes {
            match node.kind {
                Kind::Heading(HeadingLevel::H1) => self.problem(node.at, Problem::TitleHeading),
                Kind::Heading(HeadingLevel::H2) => {
                    let mut title = Inline::plain(&self.inlines(node.children))
                        .trim()
                        .to_owned();
                    if title.is_empty() {
                        self.problem(node.at, Problem::EmptySectionHeading);
                        // Kept, so its items are not also reported as misplaced.
                        title = "seksjon".into();
                    }
                    let anchor = unique_anchor(&title, &mut anchors);
                    sections.push((
                        node.at,
                        Section {
                            title,
                            anchor,
                            intro: Vec::new(),
                            items: Vec::new(),
                        },
                    ));
                }
                Kind::Heading(HeadingLevel::H3) => {
                    let at = node.at;
                    let title = self.inlines(node.children);
                    if Inline::plain(&title).trim().is_empty() {
                        self.problem(at, Problem::EmptyItemHeading);
                    }
                    let Some((_, section)) = sections.last_mut() else {
                        self.problem(at, Problem::ItemBeforeSection);
                        continue;
                    };
                    section.items.push(Item {
                        title,
                        blocks: Vec::new(),
                    });
                }
                Kind::Heading(_) => self.problem(node.at, Problem::OtherHeading),
                _ => {
                    let at = node.at;
                    let Some(block) = self.block(node) else {
                        continue;
                    };
                    let Some((_, section)) = sections.last_mut() else {
                        if let Some(intro) = &mut self.intro {
                            intro.push(block);
                            continue;
                        }
                        // Once is enough: the rest of the text before it is the same mistake.
                        if !self
                            .problems
                            .found
                            .iter()
                            .any(|p| p.kind == Problem::TextBeforeSection)
                        {
                            self.problem(at, Problem::TextBeforeSection);
                        }
                        continue;
                    };
                    match section.items.last_mut() {
                        Some(item) => item.blocks.push(block),
                        None => section.intro.push(block),
                    }
                }
            }
        }
        for (at, section) in &sections {
            if section.items.is_empty() && section.intro.is_empty() {
                self.problem(*at, Problem::EmptySection(section.title.clone()));
            }
        }
        sections.into_iter().map(|(_, s)| s).collect()
    }

    fn blocks(&mut self, nodes: Vec<Node>) -> Vec<Block> {
        let mut blocks = Vec::new();
        let mut loose = Vec::new();
        for node in nodes {
            // Tight list items hold inline content directly; gather it as a paragraph.
            if matches!(
                node.kind,
                Kind::Text(_)
                    | Kind::Code(_)
                    | Kind::Emphasis
                    | Kind::Strong
                    | Kind::Strikethrough
                    | Kind::Link(_)
                    | Kind::SoftBreak
                    | Kind::HardBreak
                    | Kind::Image
            ) || matches!(&node.kind, Kind::Html(h) if !h.ends_with('\n'))
            {
                loose.push(node);
                continue;
            }
            if !loose.is_empty() {
                blocks.push(Block::Paragraph(self.inlines(std::mem::take(&mut loose))));
            }
            if let Some(block) = self.block(node) {
                blocks.push(block);
            }
        }
        if !loose.is_empty() {
            blocks.push(Block::Paragraph(self.inlines(loose)));
        }
        blocks
    }

    fn block(&mut self, node: Node) -> Option<Block> {
        Some(match node.kind {
            Kind::Paragraph => Block::Paragraph(self.inlines(node.children)),
            Kind::List(start) => {
                let mut items = Vec::new();
                for item in node.children {
                    items.push(self.blocks(item.children));
                }
                Block::List {
                    ordered: start.is_some(),
                    start: start.unwrap_or(1),
                    items,
                }
            }
            Kind::Quote => Block::Quote(self.blocks(node.children)),
            Kind::CodeBlock => Block::Preformatted(
                node.children
                    .into_iter()
                    .filter_map(|n| {
                        if let Kind::Text(t) = n.kind {
                            Some(t)
                        } else {
                            None
                        }
                    })
                    .collect(),
            ),
            Kind::Table => {
                let mut head = Vec::new();
                let mut rows = Vec::new();
                for part in node.children {
                    match part.kind {
                        Kind::TableHead => {
                            for cell in part.children {
                                head.push(self.inlines(cell.children));
                            }
                        }
                        Kind::TableRow => {
                            let mut row = Vec::new();
                            for cell in part.children {
                                row.push(self.inlines(cell.children));
                            }
                            rows.push(row);
                        }
                        _ => {}
                    }
                }
                Block::Table { head, rows }
            }
            Kind::Html(html) => {
                self.note_html(node.at);
                Block::Paragraph(vec![Inline::Text(html.trim_end().to_owned())])
            }
            Kind::HtmlBlock => {
                self.note_html(node.at);
                let html: String = node
                    .children
                    .into_iter()
                    .filter_map(|n| {
                        if let Kind::Html(h) = n.kind {
                            Some(h)
                        } else {
                            None
                        }
                    })
                    .collect();
                Block::Paragraph(vec![Inline::Text(html.trim_end().to_owned())])
            }
            // Horizontal rules and other decoration: nothing to carry over.
            Kind::Other => return None,
            _ => return None,
        })
    }

    fn note_html(&mut self, at: usize) {
        let line = (self.line_of)(at);
        if !self.notes.iter().any(|n| n.line == line) {
            self.notes.push(SourceNote {
                line,
                kind: NoteKind::RawHtml,
            });
        }
    }

    fn inlines(&mut self, nodes: Vec<Node>) -> Vec<Inline> {
        let mut out = Vec::new();
        for node in nodes {
            let inline = match node.kind {
                Kind::Text(t) => Inline::Text(t),
                Kind::Code(t) => Inline::Code(t),
                Kind::SoftBreak => Inline::Text(" ".into()),
                Kind::HardBreak => Inline::LineBreak,
                Kind::Strong => Inline::Strong(self.inlines(node.children)),
                Kind::Emphasis => Inline::Emphasis(self.inlines(node.children)),
                Kind::Strikethrough => Inline::Strikethrough(self.inlines(node.children)),
                Kind::Link(url) => {
                    let children = self.inlines(node.children);
                    self.check_link(node.at, &url, &children);
                    Inline::Link { url, children }
                }
                Kind::Image => {
                    self.problem(node.at, Problem::Image);
                    continue;
                }
                Kind::Html(html) => {
                    self.note_html(node.at);
                    Inline::Text(html)
                }
                _ => continue,
            };
            // Neighbouring text (pulldown-cmark splits at entities) becomes one run.
            if let (Inline::Text(new), Some(Inline::Text(last))) = (&inline, out.last_mut()) {
                last.push_str(new);
                continue;
            }
            out.push(inline);
        }
        out
    }

    fn check_link(&mut self, at: usize, url: &str, children: &[Inline]) {
        let text = Inline::plain(children);
        let problem = match url::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https" | "mailto") => {
                if !text.trim().is_empty() {
                    return;
                }
                Problem::LinkWithoutText(url.to_owned())
            }
            Ok(parsed) => Problem::LinkScheme {
                text,
                scheme: parsed.scheme().to_owned(),
            },
            Err(_) => Problem::LinkNotAddress {
                text,
                url: url.to_owned(),
            },
        };
        self.problem(at, problem);
    }
}

/// "Aktuelle norske tiltak" → "aktuelle-norske-tiltak", unique within the issue.
fn unique_anchor(title: &str, taken: &mut HashSet<String>) -> String {
    let base = crate::domain::dashed_words(title);
    let base = if base.is_empty() {
        "seksjon".to_owned()
    } else {
        base
    };
    let mut anchor = base.clone();
    let mut n = 2;
    while !taken.insert(anchor.clone()) {
        anchor = format!("{base}-{n}");
        n += 1;
    }
    anchor
}
