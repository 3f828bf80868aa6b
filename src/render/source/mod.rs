//! Issue source: a TOML front matter between `+++` lines, then Markdown.
//!
//! `##` headings are sections, `###` headings are items. Every problem names the file,
//! the line and what to change, and the parser goes on past a problem so that staff see
//! all of them at once. Raw HTML is never passed through: it is shown as text, and a
//! note says where.

mod body;
mod parts;
mod problem;

pub use parts::SourceParts;
pub use problem::{NoteKind, Problem, SourceError, SourceNote, SourceProblem};

use body::{Builder, tree};
use serde::Deserialize;

use crate::domain::{CallToAction, Issue, IssueMeta, PublicationKind, PublicationSlug, Slug};

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

pub use crate::domain::is_bidi_control;

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
