//! Issue source: a TOML front matter between `+++` lines, then Markdown.
//!
//! `##` headings are sections, `###` headings are items. Every error names the file, the
//! line and what to change. Raw HTML is never passed through: it is shown as text, and
//! a note says where.

use std::collections::HashSet;
use std::fmt;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;

use crate::domain::{Block, Inline, Issue, IssueMeta, Item, Section, Slug};

/// Why a source file cannot become an issue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SourceError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Something staff should know about that did not stop the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceNote {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SourceNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
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
    date: Option<toml::value::Datetime>,
}

pub fn parse_issue(file: &str, source: &str) -> Result<Parsed, SourceError> {
    let error = |line: usize, message: String| SourceError {
        file: file.to_owned(),
        line,
        message,
    };
    if source.len() > MAX_SOURCE_BYTES {
        return Err(error(
            1,
            format!("the file is larger than {} KiB", MAX_SOURCE_BYTES / 1024),
        ));
    }
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);

    // Front matter: "+++" on the first line, up to the next line that is "+++".
    let mut lines = source.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("+++") {
        return Err(error(1, "the file must start with a front matter between +++ lines (slug, subject, period, preheader)".into()));
    }
    let front_start = source.find('\n').map_or(source.len(), |i| i + 1);
    let mut offset = front_start;
    let mut front_end = None;
    for line in lines {
        if line.trim_end() == "+++" {
            front_end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((front_end, body_start)) = front_end else {
        return Err(error(
            1,
            "the front matter is not closed: add a line with +++ after it".into(),
        ));
    };
    let front_text = &source[front_start..front_end];
    let line_of = |byte: usize| source[..byte.min(source.len())].matches('\n').count() + 1;

    let front: FrontMatter = toml::from_str(front_text).map_err(|e| {
        let line = e.span().map_or(2, |span| line_of(front_start + span.start));
        error(line, format!("front matter: {}", e.message().trim_end()))
    })?;
    let key_line = |key: &str| {
        front_text
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .map_or(2, |i| i + 2)
    };
    let one_line = |key: &str, value: String, max: usize| -> Result<String, SourceError> {
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(error(
                key_line(key),
                format!("front matter: {key} is empty"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(error(
                key_line(key),
                format!("front matter: {key} must be one line without control characters"),
            ));
        }
        if value.chars().count() > max {
            return Err(error(
                key_line(key),
                format!("front matter: {key} is longer than {max} characters"),
            ));
        }
        Ok(value)
    };
    let meta = IssueMeta {
        slug: Slug::parse(&front.slug)
            .map_err(|m| error(key_line("slug"), format!("front matter: {m}")))?,
        subject: one_line("subject", front.subject, 200)?,
        period: one_line("period", front.period, 100)?,
        preheader: one_line("preheader", front.preheader, 200)?,
        audience: front
            .audience
            .map(|a| one_line("audience", a, 200))
            .transpose()?,
        date: front
            .date
            .map(|d| match (d.date, d.time) {
                (Some(date), None) => time::Date::from_calendar_date(
                    i32::from(date.year),
                    time::Month::try_from(date.month).map_err(|_| ())?,
                    date.day,
                )
                .map_err(|_| ()),
                _ => Err(()),
            })
            .transpose()
            .map_err(|()| {
                error(
                    key_line("date"),
                    "front matter: date must be a day such as 2024-04-15".into(),
                )
            })?,
    };

    let body = &source[body_start..];
    let mut notes = Vec::new();
    let nodes = tree(body, body_start);
    let mut builder = Builder {
        line_of: &line_of,
        error: &error,
        notes: &mut notes,
    };
    let sections = builder.sections(nodes)?;
    if sections.is_empty() {
        return Err(error(
            line_of(body_start),
            "the issue has no sections: start one with a ## heading".into(),
        ));
    }
    Ok(Parsed {
        issue: Issue { meta, sections },
        notes,
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
    error: &'a dyn Fn(usize, String) -> SourceError,
    notes: &'a mut Vec<SourceNote>,
}

impl Builder<'_> {
    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, SourceError> {
        Err((self.error)((self.line_of)(at), message.into()))
    }

    fn sections(&mut self, nodes: Vec<Node>) -> Result<Vec<Section>, SourceError> {
        let mut sections: Vec<(usize, Section)> = Vec::new();
        let mut anchors = HashSet::new();
        for node in nodes {
            match node.kind {
                Kind::Heading(HeadingLevel::H1) => {
                    return self.fail(node.at, "# headings are not used: the subject is the title; use ## for sections and ### for items");
                }
                Kind::Heading(HeadingLevel::H2) => {
                    let title = Inline::plain(&self.inlines(node.children)?)
                        .trim()
                        .to_owned();
                    if title.is_empty() {
                        return self.fail(node.at, "a ## section heading is empty");
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
                    let title = self.inlines(node.children)?;
                    if Inline::plain(&title).trim().is_empty() {
                        return self.fail(at, "a ### item heading is empty");
                    }
                    let Some((_, section)) = sections.last_mut() else {
                        return self.fail(at, "a ### item comes before the first ## section");
                    };
                    section.items.push(Item {
                        title,
                        blocks: Vec::new(),
                    });
                }
                Kind::Heading(_) => {
                    return self.fail(node.at, "only ## (sections) and ### (items) headings are used; make this bold text or a ### item");
                }
                _ => {
                    let at = node.at;
                    let Some(block) = self.block(node)? else {
                        continue;
                    };
                    let Some((_, section)) = sections.last_mut() else {
                        return self.fail(
                            at,
                            "text before the first ## section: start the issue with a ## heading",
                        );
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
                return self.fail(
                    *at,
                    format!(
                        "section \"{}\" is empty: add ### items or remove it",
                        section.title
                    ),
                );
            }
        }
        Ok(sections.into_iter().map(|(_, s)| s).collect())
    }

    fn blocks(&mut self, nodes: Vec<Node>) -> Result<Vec<Block>, SourceError> {
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
                blocks.push(Block::Paragraph(self.inlines(std::mem::take(&mut loose))?));
            }
            if let Some(block) = self.block(node)? {
                blocks.push(block);
            }
        }
        if !loose.is_empty() {
            blocks.push(Block::Paragraph(self.inlines(loose)?));
        }
        Ok(blocks)
    }

    fn block(&mut self, node: Node) -> Result<Option<Block>, SourceError> {
        Ok(Some(match node.kind {
            Kind::Paragraph => Block::Paragraph(self.inlines(node.children)?),
            Kind::List(start) => {
                let mut items = Vec::new();
                for item in node.children {
                    items.push(self.blocks(item.children)?);
                }
                Block::List {
                    ordered: start.is_some(),
                    start: start.unwrap_or(1),
                    items,
                }
            }
            Kind::Quote => Block::Quote(self.blocks(node.children)?),
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
                                head.push(self.inlines(cell.children)?);
                            }
                        }
                        Kind::TableRow => {
                            let mut row = Vec::new();
                            for cell in part.children {
                                row.push(self.inlines(cell.children)?);
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
            Kind::Other => return Ok(None),
            _ => return Ok(None),
        }))
    }

    fn note_html(&mut self, at: usize) {
        let line = (self.line_of)(at);
        if !self.notes.iter().any(|n| n.line == line) {
            self.notes.push(SourceNote {
                line,
                message: "raw HTML is shown as text, not passed through".into(),
            });
        }
    }

    fn inlines(&mut self, nodes: Vec<Node>) -> Result<Vec<Inline>, SourceError> {
        let mut out = Vec::new();
        for node in nodes {
            let inline = match node.kind {
                Kind::Text(t) => Inline::Text(t),
                Kind::Code(t) => Inline::Code(t),
                Kind::SoftBreak => Inline::Text(" ".into()),
                Kind::HardBreak => Inline::LineBreak,
                Kind::Strong => Inline::Strong(self.inlines(node.children)?),
                Kind::Emphasis => Inline::Emphasis(self.inlines(node.children)?),
                Kind::Strikethrough => Inline::Strikethrough(self.inlines(node.children)?),
                Kind::Link(url) => {
                    let children = self.inlines(node.children)?;
                    self.check_link(node.at, &url, &children)?;
                    Inline::Link { url, children }
                }
                Kind::Image => {
                    return self.fail(
                        node.at,
                        "images are not supported in issues: link to the picture instead",
                    );
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
        Ok(out)
    }

    fn check_link(&self, at: usize, url: &str, children: &[Inline]) -> Result<(), SourceError> {
        let text = Inline::plain(children);
        match url::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https" | "mailto") => {
                if text.trim().is_empty() {
                    return self.fail(at, format!("the link to {url} has no text"));
                }
                Ok(())
            }
            Ok(parsed) => self.fail(
                at,
                format!("the link \"{text}\" uses {}: only http, https and mailto links are allowed", parsed.scheme()),
            ),
            Err(_) => self.fail(
                at,
                format!("the link \"{text}\" points to {url:?}: write a full address starting with https://"),
            ),
        }
    }
}

/// "Aktuelle norske tiltak" → "aktuelle-norske-tiltak", unique within the issue.
fn unique_anchor(title: &str, taken: &mut HashSet<String>) -> String {
    let mut base = String::new();
    for c in title.to_lowercase().chars() {
        match c {
            'æ' => base.push_str("ae"),
            'ø' => base.push('o'),
            'å' => base.push('a'),
            c if c.is_ascii_alphanumeric() => base.push(c),
            _ if !base.ends_with('-') && !base.is_empty() => base.push('-'),
            _ => {}
        }
    }
    let base = base.trim_end_matches('-').to_owned();
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
