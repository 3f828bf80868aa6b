//! The Markdown body: pulldown-cmark's events folded into a tree, then built into sections,
//! items and blocks, with every problem at its line.

use std::collections::HashSet;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{NoteKind, Problem, Problems, SourceNote};
use crate::domain::{Block, Inline, Item, Section};

/// A Markdown element with its children, and where it starts in the file.
#[derive(Debug)]
pub(super) struct Node {
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
pub(super) fn tree(body: &str, base: usize) -> Vec<Node> {
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

pub(super) struct Builder<'a> {
    pub(super) line_of: &'a dyn Fn(usize) -> usize,
    pub(super) problems: &'a mut Problems,
    pub(super) notes: &'a mut Vec<SourceNote>,
    /// An announcement's text before any section; `None` for a newsletter, whose text
    /// must start with a section.
    pub(super) intro: Option<Vec<Block>>,
}

impl Builder<'_> {
    /// Records a problem at byte `at`; the caller goes on with the next element.
    fn problem(&mut self, at: usize, kind: Problem) {
        let line = (self.line_of)(at);
        self.problems.add(line, kind);
    }

    pub(super) fn sections(&mut self, nodes: Vec<Node>) -> Vec<Section> {
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
