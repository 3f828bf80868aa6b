//! The document's paragraphs as an issue source: the front matter from the front page
//! (what comes before the first Heading 1) and the options, then Markdown that the
//! issue parser reads back into exactly the text, formatting and links of the document.

use super::body::{Document, Para, Piece, collapse_spaces};
use super::styles::Role;
use super::{BadLink, Converted, DocxError, DocxOptions};

mod front_page;
mod inline;

use front_page::FrontPage;
use inline::{escape, heading_text, indent_lines, inlines};

pub(super) fn source(document: Document, options: &DocxOptions) -> Result<Converted, DocxError> {
    let Document {
        paras,
        links,
        mut omissions,
        title: properties_title,
    } = document;
    let first_section = paras
        .iter()
        .position(|p| p.role == Role::Heading(1))
        .ok_or(DocxError::NoHeadings)?;
    let (front, body) = paras.split_at(first_section);

    let bad: Vec<BadLink> = used_links(body)
        .into_iter()
        .filter_map(|(id, text)| {
            let link = &links[id];
            (!allowed_link(&link.target)).then(|| BadLink {
                text,
                target: link.target.clone(),
                place: link.place.clone(),
            })
        })
        .collect();
    if !bad.is_empty() {
        return Err(DocxError::Links(bad));
    }

    let mut front_page = FrontPage::read(front, &mut omissions);
    if front_page.title.is_none() {
        front_page.title = properties_title.map(|t| collapse_spaces(&t));
    }
    let body_text = Writer::new(&links).body(body);
    let parts = front_page.fields(options, body, &mut omissions, body_text);
    // What was left out, in document order: the front page, then section by section.
    omissions.sort_by_key(|o| o.place.section.as_ref().map_or(0, |(n, _)| *n));
    Ok(Converted {
        source: parts.to_source(),
        report: omissions,
    })
}

fn allowed_link(target: &str) -> bool {
    !target.chars().any(char::is_control)
        && url::Url::parse(target).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "mailto"))
}

/// Every link used in these paragraphs, once, with its text.
fn used_links(paras: &[Para]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for para in paras {
        for piece in &para.pieces {
            if let Piece::Text {
                text,
                link: Some(id),
                ..
            } = piece
            {
                match out.iter_mut().find(|(i, _)| i == id) {
                    Some((_, t)) => t.push_str(text),
                    None => out.push((*id, text.clone())),
                }
            }
        }
    }
    for (_, text) in &mut out {
        *text = collapse_spaces(text);
    }
    out
}

/// Markdown for the body, block by block.
struct Writer<'a> {
    links: &'a [super::body::Link],
    out: String,
    /// The open list levels, outermost first.
    lists: Vec<ListState>,
    /// The Word list the last item belonged to; `None` after any other block.
    last_list: Option<String>,
    /// `true`: the next list is marked `*` and `1)`, to keep it apart from the one
    /// just before it (Markdown would join them otherwise).
    other_marker: bool,
}

struct ListState {
    word_level: u32,
    ordered: bool,
    /// The column of this level's markers.
    indent: usize,
    next: u64,
    /// The column of the last item's text: where a list nested in it starts.
    content_column: usize,
}

impl<'a> Writer<'a> {
    fn new(links: &'a [super::body::Link]) -> Self {
        Writer {
            links,
            out: String::new(),
            lists: Vec::new(),
            last_list: None,
            other_marker: false,
        }
    }

    fn block(&mut self, text: &str) {
        self.lists.clear();
        self.last_list = None;
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn body(mut self, paras: &[Para]) -> String {
        for para in paras {
            match para.role {
                Role::Heading(level @ (1 | 2)) => {
                    let hashes = if level == 1 { "##" } else { "###" };
                    let title = heading_text(&para.plain());
                    self.block(&format!("{hashes} {title}"));
                }
                Role::Heading(_) => {
                    // Reported where it was read; bold text here.
                    let text = para.plain();
                    if !text.is_empty() {
                        self.block(&format!("**{}**", escape(&text)));
                    }
                }
                _ => {
                    let text = inlines(&para.pieces, self.links);
                    if text.is_empty() {
                        continue;
                    }
                    match &para.list {
                        Some((level, numbering, list)) => {
                            self.item(*level, numbering.ordered, numbering.start, list, &text)
                        }
                        None => self.block(&indent_lines(&text, 0)),
                    }
                }
            }
        }
        self.out
    }

    fn item(&mut self, level: u32, ordered: bool, start: u64, list: &str, text: &str) {
        let after_list = self.last_list.is_some();
        if !after_list {
            self.lists.clear();
            self.other_marker = false;
            if !self.out.is_empty() {
                self.out.push('\n');
            }
        }
        while self.lists.last().is_some_and(|l| l.word_level > level) {
            self.lists.pop();
        }
        let same_list = self.last_list.as_deref() == Some(list);
        if let Some(top) = self.lists.last()
            && top.word_level == level
            && (top.ordered != ordered || (!same_list && self.lists.len() == 1))
        {
            // Another list right after this one.
            self.lists.clear();
            self.other_marker = !self.other_marker;
        }
        if self.lists.last().is_none_or(|l| l.word_level < level) {
            let indent = self.lists.last().map_or(0, |l| l.content_column);
            self.lists.push(ListState {
                word_level: level,
                ordered,
                indent,
                next: start.min(999_999_999),
                content_column: indent + 2,
            });
        }
        let other_marker = self.other_marker;
        let state = self.lists.last_mut().expect("a level is open");
        let marker = if state.ordered {
            let marker = format!("{}{}", state.next, if other_marker { ')' } else { '.' });
            state.next += 1;
            marker
        } else if other_marker {
            "*".to_owned()
        } else {
            "-".to_owned()
        };
        state.content_column = state.indent + marker.len() + 1;
        let (indent, column) = (state.indent, state.content_column);
        self.out.push_str(&" ".repeat(indent));
        self.out.push_str(&marker);
        self.out.push(' ');
        self.out.push_str(&indent_lines(text, column));
        self.out.push('\n');
        self.last_list = Some(list.to_owned());
    }
}
